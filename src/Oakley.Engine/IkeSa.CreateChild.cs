using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Engine.Authentication;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;
/// <summary>CREATE_CHILD_SA: additional CHILD SAs and their rekeys, with PFS and the collision rules of §2.8.1 (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    // ------------------------------------------------------------------------------------------------
    // CREATE_CHILD_SA: additional CHILD SAs (RFC 7296 §1.3.1), with optional PFS
    // ------------------------------------------------------------------------------------------------

    private readonly Queue<ChildConfig> _childQueue = new();
    private ChildExchange? _childExchange;

    private sealed class ChildExchange
    {
        public required ChildConfig Config { get; init; }

        public required uint Spi { get; init; }

        public required byte[] Nonce { get; init; }

        public Crypto.KeyExchange.KeyExchange? Ke { get; set; }

        public bool RetriedKe { get; set; }

        /// <summary>The CHILD SA this exchange rekeys (REKEY_SA, RFC 7296 §1.3.3); null for a new one.</summary>
        public ChildSa? Rekey { get; init; }

        /// <summary>When the rekey was sent, the peer had not yet shown it holds the SA (see <see cref="ChildSa.UnconfirmedSinceRequest"/>).</summary>
        public bool RekeyOfUnconfirmed { get; init; }
    }

    private readonly Queue<ChildSa> _rekeyQueue = new();
    private readonly Queue<ChildSa> _deleteQueue = new();

    /// <summary>Creates another CHILD SA on this established IKE SA (queued while another exchange is pending).</summary>
    public void CreateChild(DateTimeOffset now, ChildConfig child)
    {
        Touch();
        ArgumentNullException.ThrowIfNull(child);
        _childQueue.Enqueue(child);
        StartNextChild(now);
    }

    /// <summary>Starts the next queued CHILD SA if the window is free (RFC 7296 §2.3: one request at a time).</summary>
    private void StartNextChild(DateTimeOffset now)
    {
        if (State != IkeSaState.Established || _pending is not null)
        {
            return;
        }

        if (_deleteQueued)
        {
            _deleteQueued = false;
            Terminate(now);
            return;
        }

        if (_updateWanted && _rekeyedAway is null)
        {
            _updateWanted = false;
            SendUpdateSaAddresses(now);
            return;
        }

        if (IkeRekeyDue(now))
        {
            StartIkeRekey(now);
            return;
        }

        if (_deleteQueue.TryDequeue(out var gone))
        {
            // §1.4.1: we list our inbound SPI; the CHILD SA leaves when the peer answers with its half.
            _deletingChild = gone;
            SendInformational(now, [DeletePayload.ForChildSas(ProtocolId.Esp, [gone.InboundSpi])]);
            return;
        }

        while (_rekeyQueue.TryDequeue(out var old))
        {
            if (_children.Contains(old) && !old.Replaced)
            {
                old.Replaced = true;
                SendCreateChild(now, new ChildExchange { Config = old.Config, Spi = _endpoint.NewChildSpi(), Nonce = _endpoint.NewNonce(), Rekey = old, RekeyOfUnconfirmed = old.UnconfirmedSinceRequest is not null }, null);
                return;
            }
        }

        if (_childQueue.TryDequeue(out var child))
        {
            SendCreateChild(now, new ChildExchange { Config = child, Spi = _endpoint.NewChildSpi(), Nonce = _endpoint.NewNonce() }, null);
            return;
        }

        if (_reauthOf is { } replaced)
        {
            // Make-before-break: this SA carries the CHILD SAs now; the one it reauthenticated goes.
            _reauthOf = null;
            _endpoint.EmitAlert(now, Id, $"reauthenticated IKE SA #{replaced.Id}: deleting it");
            replaced.Terminate(now);
        }
    }

    private ChildSa? _deletingChild;

    /// <summary>Terminate was asked for while an exchange was pending: the delete follows when the window frees.</summary>
    private bool _deleteQueued;

    /// <summary>An authenticated message of the peer showed that it holds this SA (not yet true of a fresh rekey successor).</summary>
    private bool _peerKnowsSa;

    /// <summary>Sends (or, after INVALID_KE_PAYLOAD, resends with <paramref name="forcedGroup"/>) a CREATE_CHILD_SA request.</summary>
    private void SendCreateChild(DateTimeOffset now, ChildExchange exchange, KeId? forcedGroup)
    {
        var child = exchange.Config;
        var pfsGroup = forcedGroup ?? child.EspProposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Select(t => (KeId?)t.Id).FirstOrDefault();
        exchange.Ke?.Dispose();
        exchange.Ke = pfsGroup is { } g ? KeyExchangeMethods.Create(g, _endpoint.Entropy) : null;
        _childExchange = exchange;

        var payloads = new List<IkePayload>();
        if (exchange.Rekey is { } old)
        {
            // §1.3.3: the notify names the SA being rekeyed by the SPI the peer sends to us.
            payloads.Add(new NotifyPayload(ProtocolId.Esp, SpiBytes(old.InboundSpi), NotifyType.RekeySa, default));
        }

        if (child.TransportMode)
        {
            payloads.Add(new NotifyPayload(NotifyType.UseTransportMode));
        }

        payloads.Add(ProposalNegotiation.ToPayload(child.EspProposals, SpiBytes(exchange.Spi), pfsGroup));
        payloads.Add(new NoncePayload(exchange.Nonce));
        if (exchange.Ke is { } ke)
        {
            payloads.Add(new KeyExchangePayload(ke.Method, ke.GetPublicKey()));
        }

        // A rekey proposes the selectors the old SA ended up with (§2.8), a new SA those of its configuration.
        var tsi = exchange.Rekey?.LocalTs ?? child.EffectiveLocalTs(Local.Address);
        var tsr = exchange.Rekey?.RemoteTs ?? child.EffectiveRemoteTs(Remote.Address);
        payloads.Add(new TrafficSelectorPayload(true, tsi.Select(t => t.ToPayload()).ToList()));
        payloads.Add(new TrafficSelectorPayload(false, tsr.Select(t => t.ToPayload()).ToList()));
        SendProtectedRequest(now, ExchangeType.CreateChildSa, payloads);
    }

    private void ProcessCreateChildResponse(DateTimeOffset now, List<IkePayload> payloads)
    {
        _pending = null;
        var exchange = _childExchange!;
        _childExchange = null;
        var child = exchange.Config;
        try
        {
            if (!exchange.RetriedKe && RequestedGroup(payloads, child.EspProposals) is { } wanted)
            {
                exchange.RetriedKe = true;
                SendCreateChild(now, exchange, wanted);
                return;
            }

            var error = payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());
            var sa = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
            var nonce = payloads.OfType<NoncePayload>().FirstOrDefault();
            var tsi = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
            var tsr = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
            if (error is not null || sa is null || nonce is null || tsi is null || tsr is null)
            {
                if (exchange.Rekey is { } failed)
                {
                    RekeyFailed(now, failed, error?.NotifyType, exchange.RekeyOfUnconfirmed);
                    return;
                }

                ChildFailed(now, child, $"CHILD SA '{child.Name}' was not created: {error?.NotifyType.ToString() ?? "incomplete response"}");
                return;
            }

            var selected = ProposalNegotiation.ValidateResponse(child.EspProposals, sa, ProtocolId.Esp);
            var ke = payloads.OfType<KeyExchangePayload>().FirstOrDefault();
            var selectedGroup = selected?.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault();
            if (selected is null || sa.Proposals[0].Spi.Length != 4 || selectedGroup != exchange.Ke?.Method || (exchange.Ke is not null && ke?.Group != exchange.Ke.Method))
            {
                if (exchange.Rekey is { } failed)
                {
                    _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Name}': responder chose a proposal we did not offer");
                    RekeyFailed(now, failed, NotifyType.NoProposalChosen, exchange.RekeyOfUnconfirmed);
                }
                else
                {
                    ChildFailed(now, child, $"CHILD SA '{child.Name}': responder chose a proposal we did not offer");
                }

                return;
            }

            byte[]? shared = null;
            if (exchange.Ke is { } ourKe)
            {
                ourKe.SetPeerPublicKey(ke!.Data.Span);
                shared = ourKe.GetSharedSecret();
            }

            var transport = payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
            var nonceR = nonce.Nonce.ToArray();
            var installed = InstallChild(now, child, exchange.Spi, BinaryPrimitives.ReadUInt32BigEndian(sa.Proposals[0].Spi.Span), selected,
                tsi.Selectors.Where(t => t.IsIp).Select(TrafficSelectorRange.FromPayload).ToList(),
                tsr.Selectors.Where(t => t.IsIp).Select(TrafficSelectorRange.FromPayload).ToList(),
                transport, exchange.Nonce, nonceR, shared, weInitiatedExchange: true);
            if (exchange.Rekey is { } old)
            {
                FinishRekey(now, old, installed, exchange.Nonce, nonceR);
            }
        }
        finally
        {
            if (_childExchange is null)
            {
                exchange.Ke?.Dispose();
                StartNextChild(now);
            }
        }
    }

    /// <summary>
    /// Our rekey of <paramref name="old"/> produced <paramref name="successor"/>. Without a collision the old SA is
    /// deleted now (its inbound half stays installed until the peer confirms). If the peer rekeyed the same SA at the
    /// same time (§2.8.1), the new SA created with the lowest of the four nonces is redundant and its creator deletes
    /// it; the creator of the surviving one deletes the old SA.
    /// </summary>
    private void FinishRekey(DateTimeOffset now, ChildSa old, ChildSa successor, byte[] nonceI, byte[] nonceR)
    {
        if (old.PeerRekey is { } theirs && Lowest(nonceI, nonceR).AsSpan().SequenceCompareTo(Lowest(theirs.NonceI, theirs.NonceR)) < 0)
        {
            // Ours is redundant, even if the peer (the winner) has already deleted the old SA or its own new one.
            _endpoint.EmitAlert(now, Id, $"CHILD SA '{old.Config.Name}' rekey collision lost: deleting our redundant {successor.InboundSpi:x8}_i");
            successor.Replaced = true;
            _deleteQueue.Enqueue(successor);
            return;
        }

        if (old.PeerRekey is not null)
        {
            _endpoint.EmitAlert(now, Id, $"CHILD SA '{old.Config.Name}' rekey collision won: deleting the old {old.InboundSpi:x8}_i");
        }

        if (_children.Contains(old) && _deletingChild != old && !_deleteQueue.Contains(old))
        {
            _deleteQueue.Enqueue(old); // else it expired or the peer deleted it meanwhile: nothing left to delete
        }
    }

    private static byte[] Lowest(byte[] a, byte[] b) => a.AsSpan().SequenceCompareTo(b) <= 0 ? a : b;

    /// <summary>A rekey the peer refused: try again later (TEMPORARY_FAILURE, errors) or start over (CHILD_SA_NOT_FOUND).</summary>
    private void RekeyFailed(DateTimeOffset now, ChildSa old, NotifyType? error, bool peerMayNotHaveIt)
    {
        if (!_children.Contains(old))
        {
            if (error != NotifyType.ChildSaNotFound)
            {
                // The CHILD SA moved to the successor of a rekeyed IKE SA meanwhile: it still needs its rekey there.
                old.Replaced = false;
                old.RekeyAt = now + TimeSpan.FromSeconds(5 + (5 * RandomFraction()));
            }

            return;
        }

        if (error == NotifyType.ChildSaNotFound && old.UnconfirmedSinceRequest is null && !peerMayNotHaveIt)
        {
            // §2.25: the peer has no such SA; ours is useless. Replace it with a fresh one. (Not for an SA we created
            // answering the peer and that the peer may not have installed yet: our answer may still be on its way,
            // and dropping our half now would orphan the peer's once it arrives. That one is retried below.)
            _endpoint.EmitAlert(now, Id, $"CHILD SA '{old.Config.Name}' unknown to the peer: creating a new one");
            RemoveChild(now, old);
            _childQueue.Enqueue(old.Config);
            return;
        }

        if (old.PeerRekey is not null)
        {
            return; // the peer's rekey of it succeeded: its new SA replaces it and the peer deletes this one
        }

        // §2.25: TEMPORARY_FAILURE (a collision, or an exchange in progress) means "retry in a few seconds".
        old.Replaced = false;
        var soon = error is NotifyType.TemporaryFailure or NotifyType.ChildSaNotFound;
        var retry = soon ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30);
        old.RekeyAt = now + retry + TimeSpan.FromSeconds(5 * RandomFraction());
        if (!soon)
        {
            _endpoint.EmitAlert(now, Id, $"rekeying CHILD SA '{old.Config.Name}' failed ({error?.ToString() ?? "incomplete response"}): retrying");
        }
    }

    /// <summary>A uniform fraction in [0, 1] from the injected entropy (jitter for rekey and retry times).</summary>
    private double RandomFraction()
    {
        Span<byte> r = stackalloc byte[4];
        _endpoint.Entropy.Fill(r);
        return BinaryPrimitives.ReadUInt32BigEndian(r) / (double)uint.MaxValue;
    }

    /// <summary>RFC 7296 §1.3 / §1.2: INVALID_KE_PAYLOAD naming the group we selected.</summary>
    private static NotifyPayload InvalidKe(KeId group)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)group);
        return new NotifyPayload(NotifyType.InvalidKePayload, data);
    }

    /// <summary>The group an INVALID_KE_PAYLOAD in a response asks for, if it is one we offered (else null: a failure).</summary>
    private static KeId? RequestedGroup(List<IkePayload> payloads, IEnumerable<AlgorithmProposal> offered)
    {
        if (payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.InvalidKePayload) is not { Data.Length: 2 } invalidKe)
        {
            return null;
        }

        var wanted = (KeId)BinaryPrimitives.ReadUInt16BigEndian(invalidKe.Data.Span);
        return offered.Any(p => p.OfType(TransformType.KeyExchange).Any(t => t.Id == (ushort)wanted)) ? wanted : null;
    }

    private List<IkePayload> RespondCreateChild(DateTimeOffset now, List<IkePayload> request)
    {
        if (request.OfType<SecurityAssociationPayload>().FirstOrDefault() is { } ikeSa && ikeSa.Proposals.Any(p => p.Protocol == ProtocolId.Ike))
        {
            return RespondIkeRekey(now, request, ikeSa);
        }

        var nonce = request.OfType<NoncePayload>().FirstOrDefault();
        if (nonce is null)
        {
            throw IkeProtocolException.InvalidSyntax("CREATE_CHILD_SA request without a nonce");
        }

        if (_ikeRekey is not null || _rekeyedAway is not null || _peerIkeRekey is not null || _predecessor is not null)
        {
            // RFC 7296 §2.25.2: a request to create or rekey a CHILD SA while we rekey the IKE SA (or after it was
            // rekeyed away, or while this SA's own rekey collision is undecided) gets TEMPORARY_FAILURE; the SA would
            // otherwise be made on keys about to go.
            return [new NotifyPayload(NotifyType.TemporaryFailure)];
        }

        ChildSa? old = null;
        if (request.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.RekeySa) is { } rekey)
        {
            if (rekey.Protocol is not (ProtocolId.Esp or ProtocolId.Ah) || rekey.Spi.Length != 4)
            {
                throw IkeProtocolException.InvalidSyntax("REKEY_SA without an ESP/AH SPI");
            }

            // The SPI is the one the peer receives on: our outbound SPI of that SA.
            var spi = BinaryPrimitives.ReadUInt32BigEndian(rekey.Spi.Span);
            old = _children.FirstOrDefault(c => c.OutboundSpi == spi);
            if (old is null)
            {
                return [new NotifyPayload(rekey.Protocol, rekey.Spi, NotifyType.ChildSaNotFound, default)];
            }

            if (old.Replaced && _childExchange?.Rekey != old)
            {
                // We already replaced it (our delete is on its way) or are deleting it: §2.25, try later.
                return [new NotifyPayload(NotifyType.TemporaryFailure)];
            }
        }

        var nonceI = nonce.Nonce.ToArray();
        var nonceR = _endpoint.NewNonce();
        var ke = request.OfType<KeyExchangePayload>().FirstOrDefault();
        var before = _children.Count;
        var response = RespondChild(now, request, nonceI, nonceR, ke, createChild: true);
        if (old is not null && _children.Count > before)
        {
            var successor = _children[^1];
            if (old.Replaced)
            {
                old.PeerRekey = (nonceI, nonceR, successor); // we are rekeying it too: resolved when our response comes
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{old.Config.Name}' rekey collision: the peer rekeys it too; the nonces decide (RFC 7296 §2.8.1)");
            }
            else
            {
                old.Replaced = true; // the peer deletes it once it has the new one
            }
        }

        return response;
    }
}
