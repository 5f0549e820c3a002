using System.Buffers.Binary;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using static Oakley.Engine.Tasks.ExchangeHelpers;

namespace Oakley.Engine.Tasks;

/// <summary>
/// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18): a CREATE_CHILD_SA with an IKE proposal makes a successor with new SPIs
/// and keys from SK_d; the CHILD SAs move over; the rekey's initiator deletes the old SA. Simultaneous rekeys (§2.8.2)
/// make two successors; the one made with the lowest nonce is redundant and its creator deletes it.
/// </summary>
internal sealed class IkeRekeyTask(IkeSa sa) : IInitiatorTask, IResponderTask, IDisposable
{
    private ulong _spi;
    private byte[] _nonce = [];
    private KeyExchange? _ke;
    private KeId? _forcedGroup;
    private bool _retriedKe;
    private List<IkePayload>? _reply;

    public ExchangeType Exchange => ExchangeType.CreateChildSa;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        var group = _forcedGroup ?? sa.IkeSelected!.OfType(TransformType.KeyExchange).Select(t => (KeId)t.Id).First();
        var ke = KeyExchangeMethods.Create(group, sa.Services.Entropy);
        if (_spi == 0)
        {
            _spi = sa.Services.NewIkeSpi();
            _nonce = sa.Services.NewNonce();
        }

        _ke?.Dispose(); // a retry after INVALID_KE_PAYLOAD keeps SPI and nonce, with a key of the wanted group
        _ke = ke;
        request.Add(ProposalNegotiation.ToPayload(sa.Config.Proposals, SpiBytes(_spi), group));
        request.Add(new NoncePayload(_nonce));
        request.Add(new KeyExchangePayload(group, _ke.GetPublicKey()));
        return TaskOutcome.Done;
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        var payloads = response.Payloads;
        if (!_retriedKe && RequestedGroup(payloads, sa.Config.Proposals) is { } wanted)
        {
            _retriedKe = true;
            _forcedGroup = wanted;
            return TaskOutcome.NeedMore;
        }

        try
        {
            return Complete(now, payloads);
        }
        finally
        {
            Dispose();
        }
    }

    private TaskOutcome Complete(DateTimeOffset now, List<IkePayload> payloads)
    {
        var error = Error(payloads);
        var proposals = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
        var nonce = payloads.OfType<NoncePayload>().FirstOrDefault();
        var ke = payloads.OfType<KeyExchangePayload>().FirstOrDefault();
        var selected = proposals is null ? null : ProposalNegotiation.ValidateResponse(sa.Config.Proposals, proposals, ProtocolId.Ike);
        if (error is not null || selected is null || nonce is null || ke is null || proposals!.Proposals[0].Spi.Length != 8
            || selected.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault() != ke.Group || ke.Group != _ke!.Method)
        {
            Failed(now, error);
            return TaskOutcome.Done;
        }

        _ke.SetPeerPublicKey(ke.Data.Span);
        var shared = _ke.GetSharedSecret();
        var peerSpi = BinaryPrimitives.ReadUInt64BigEndian(proposals.Proposals[0].Spi.Span);
        var ours = sa.NewSuccessor(now, initiator: true, _spi, peerSpi, selected, _nonce, nonce.Nonce.ToArray(), shared);
        if (sa.TakePeerIkeRekey() is { } theirs)
        {
            // §2.8.2: both ends rekeyed at once. The new SA made with the lowest of the four nonces is redundant;
            // its creator deletes it. The creator of the other one deletes the old SA.
            var lost = Loses(_nonce, ours.NonceR, theirs.NonceI, theirs.NonceR);
            sa.Services.EmitAlert(now, sa.Id, lost ? "IKE SA rekey collision lost: deleting our redundant IKE SA" : "IKE SA rekey collision won: deleting the old IKE SA");
            if (lost)
            {
                sa.HandOver(now, theirs);
                ours.TerminateRedundant(now);
                return TaskOutcome.Done; // the peer deletes this (old) SA
            }

            theirs.MarkRedundant(now); // the peer deletes it
        }

        sa.HandOver(now, ours);
        // The initiator of the rekey deletes the old IKE SA (§2.18), with the old keys.
        sa.Tasks.Initiate(now, new IkeDeleteTask(sa));
        return TaskOutcome.Done;
    }

    /// <summary>Our rekey failed: the peer's crossing rekey (if it succeeded) is the successor, else we retry later.</summary>
    private void Failed(DateTimeOffset now, NotifyPayload? error)
    {
        if (sa.TakePeerIkeRekey() is { } only)
        {
            // Ours failed but the peer's rekey of this SA succeeded: its SA is the successor.
            sa.HandOver(now, only);
            return;
        }

        // §2.25: TEMPORARY_FAILURE (e.g. a collision) means "retry shortly"; anything else, later.
        var retry = error?.NotifyType == NotifyType.TemporaryFailure ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(60);
        sa.IkeRekeyAt = now + retry + TimeSpan.FromSeconds(5 * sa.RandomFraction());
        if (error?.NotifyType != NotifyType.TemporaryFailure)
        {
            sa.Services.EmitAlert(now, sa.Id, $"rekeying the IKE SA failed ({error?.NotifyType.ToString() ?? "unacceptable response"}): retrying");
        }
    }

    /// <summary>The peer rekeys the IKE SA: answer with our SPI, nonce and KE, and hand everything to the successor.</summary>
    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        var payloads = request.Payloads;
        if (CheckCreateChild(sa, payloads, ikeRekey: true, out var refusal) is not { } nonce)
        {
            _reply = [refusal!];
            return TaskOutcome.Done;
        }

        var ke = payloads.OfType<KeyExchangePayload>().FirstOrDefault() ?? throw IkeProtocolException.InvalidSyntax("IKE SA rekey without nonce or KE");
        var proposals = payloads.OfType<SecurityAssociationPayload>().First();
        if (ProposalNegotiation.Select(sa.Config.Proposals, proposals.Proposals, ProtocolId.Ike) is not { } selection || selection.PeerProposal.Spi.Length != 8)
        {
            sa.Services.EmitAlert(now, sa.Id, "peer's IKE SA rekey proposals are not acceptable");
            _reply = [new NotifyPayload(NotifyType.NoProposalChosen)];
            return TaskOutcome.Done;
        }

        var group = selection.Selected.OfType(TransformType.KeyExchange).Select(t => (KeId)t.Id).First();
        if (ke.Group != group)
        {
            _reply = [InvalidKe(group)];
            return TaskOutcome.Done;
        }

        using var ours = KeyExchangeMethods.Create(group, sa.Services.Entropy);
        ours.SetPeerPublicKey(ke.Data.Span);
        var shared = ours.GetSharedSecret();
        var nonceR = sa.Services.NewNonce();
        var spiR = sa.Services.NewIkeSpi();
        var peerSpi = BinaryPrimitives.ReadUInt64BigEndian(selection.PeerProposal.Spi.Span);
        var next = sa.NewSuccessor(now, initiator: false, peerSpi, spiR, selection.Selected, nonce.Nonce.ToArray(), nonceR, shared);
        if (sa.Tasks.IkeRekeyActive)
        {
            sa.PeerRekeyCrossed(next); // §2.8.2: ours is in flight too; decided by the nonces when its response comes
            sa.Services.Counters.RekeyCollision(sa.Config.Name, ikeSa: true);
            sa.Services.EmitAlert(now, sa.Id, "IKE SA rekey collision: the peer rekeys it too; the nonces decide (RFC 7296 §2.8.2)");
        }
        else
        {
            sa.HandOver(now, next); // the peer deletes this one
        }

        _reply = [ProposalNegotiation.Accepted(selection.Selected, selection.PeerProposal.Number, SpiBytes(spiR)), new NoncePayload(nonceR), new KeyExchangePayload(group, ours.GetPublicKey())];
        return TaskOutcome.Done;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.AddRange(_reply ?? []);

    public void Dispose()
    {
        _ke?.Dispose();
        _ke = null;
    }
}
