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
/// <summary>Rekeying the IKE SA (RFC 7296 §2.18), its collisions (§2.8.2), reauthentication and the hand-over to a successor (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    // ------------------------------------------------------------------------------------------------
    // Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18): a CREATE_CHILD_SA with an IKE proposal makes a successor
    // with new SPIs and keys from SK_d; the CHILD SAs move over; the rekey's initiator deletes the old SA.
    // ------------------------------------------------------------------------------------------------

    private sealed class IkeRekeyExchange : IDisposable
    {
        public required ulong Spi { get; init; }

        public required byte[] Nonce { get; init; }

        public required Crypto.KeyExchange.KeyExchange Ke { get; set; }

        public bool RetriedKe { get; set; }

        public void Dispose() => Ke.Dispose();
    }

    private IkeRekeyExchange? _ikeRekey;

    /// <summary>When this side rekeys the IKE SA (swanctl rekey_time minus up to 10% at random); MaxValue: never.</summary>
    public DateTimeOffset IkeRekeyAt
    {
        get => _ikeRekeyAt;
        internal set
        {
            _ikeRekeyAt = value;
            Touch();
        }
    }

    private DateTimeOffset _ikeRekeyAt = DateTimeOffset.MaxValue;

    /// <summary>This SA was replaced by a rekey: its CHILD SAs live in the successor; it only waits to be deleted.</summary>
    private DateTimeOffset? _rekeyedAway;

    /// <summary>When this side reauthenticates (reauth_time minus up to rand_time); MaxValue: never.</summary>
    public DateTimeOffset ReauthAt { get; private set; } = DateTimeOffset.MaxValue;

    /// <summary>The hard lifetime (rekey/reauth time + over_time): the IKE SA is deleted then if it was not renewed.</summary>
    public DateTimeOffset ExpireAt { get; private set; } = DateTimeOffset.MaxValue;

    private DateTimeOffset _reauthExpireAt = DateTimeOffset.MaxValue;

    /// <summary>The IKE SA this one reauthenticates (make-before-break): deleted once this one carries its CHILD SAs.</summary>
    private IkeSa? _reauthOf;

    /// <summary>A reauthentication of this SA is under way (its replacement is negotiating).</summary>
    private bool _reauthStarted;

    /// <summary>
    /// IKE SA lifetimes as swanctl sets them: rekey at rekey_time and reauthenticate at reauth_time, each minus a random
    /// part of rand_time (default over_time); the SA expires over_time after the earlier of the two. A rekey renews
    /// the keys (a new rekey schedule) but not the authentication, so the reauthentication time carries over.
    /// </summary>
    private void ScheduleIkeRekey(DateTimeOffset now, IkeSa? predecessor = null)
    {
        var range = Config.RandTime ?? Config.EffectiveOverTime;
        DateTimeOffset Due(TimeSpan interval)
        {
            var jitter = range * RandomFraction();
            return now + interval - (jitter < interval ? jitter : TimeSpan.Zero);
        }

        IkeRekeyAt = Config.RekeyTime > TimeSpan.Zero ? Due(Config.RekeyTime) : DateTimeOffset.MaxValue;
        var rekeyExpiry = Config.RekeyTime > TimeSpan.Zero ? now + Config.RekeyTime + Config.EffectiveOverTime : DateTimeOffset.MaxValue;
        if (predecessor is not null)
        {
            ReauthAt = predecessor.ReauthAt;
            _reauthExpireAt = predecessor._reauthExpireAt;
        }
        else
        {
            ReauthAt = Config.ReauthTime > TimeSpan.Zero ? Due(Config.ReauthTime) : DateTimeOffset.MaxValue;
            _reauthExpireAt = Config.ReauthTime > TimeSpan.Zero ? now + Config.ReauthTime + Config.EffectiveOverTime : DateTimeOffset.MaxValue;
        }

        ExpireAt = rekeyExpiry < _reauthExpireAt ? rekeyExpiry : _reauthExpireAt;
    }

    private bool ReauthDue(DateTimeOffset now) => State == IkeSaState.Established && _rekeyedAway is null && !_reauthStarted && now >= ReauthAt;

    /// <summary>The replacement from a reauthentication failed before it was up: try again in a while (until the hard lifetime).</summary>
    internal void ReauthFailed(DateTimeOffset now)
    {
        Touch();
        _reauthStarted = false;
        ReauthAt = now + TimeSpan.FromSeconds(30 + (30 * RandomFraction()));
        _endpoint.EmitAlert(now, Id, "reauthentication failed: retrying");
    }

    /// <summary>Makes this (new) IKE SA the replacement of <paramref name="old"/>: no INITIAL_CONTACT; the old SA goes once the CHILD SAs are here.</summary>
    internal void ReauthenticateFor(IkeSa old)
    {
        Touch();
        _reauthOf = old;
    }

    internal IkeSa? ReauthOf => _reauthOf;

    internal bool IsRekeyedAway => _rekeyedAway is not null;

    private bool IkeRekeyDue(DateTimeOffset now) => State == IkeSaState.Established && _rekeyedAway is null && _ikeRekey is null && now >= IkeRekeyAt;

    private void StartIkeRekey(DateTimeOffset now, KeId? forcedGroup = null, IkeRekeyExchange? retry = null)
    {
        var group = forcedGroup ?? _ikeSelected!.OfType(TransformType.KeyExchange).Select(t => (KeId)t.Id).First();
        var ke = KeyExchangeMethods.Create(group, _endpoint.Entropy);
        var exchange = retry ?? new IkeRekeyExchange { Spi = _endpoint.NewIkeSpi(), Nonce = _endpoint.NewNonce(), Ke = ke };
        if (retry is not null)
        {
            retry.Ke.Dispose(); // a retry after INVALID_KE_PAYLOAD keeps SPI and nonce, with a key of the wanted group
            retry.Ke = ke;
        }

        _ikeRekey = exchange;
        var spi = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(spi, exchange.Spi);
        SendProtectedRequest(now, ExchangeType.CreateChildSa,
        [
            ProposalNegotiation.ToPayload(Config.Proposals, spi, group),
            new NoncePayload(exchange.Nonce),
            new KeyExchangePayload(group, exchange.Ke.GetPublicKey()),
        ]);
    }

    private void ProcessIkeRekeyResponse(DateTimeOffset now, List<IkePayload> payloads)
    {
        _pending = null;
        var exchange = _ikeRekey!;
        _ikeRekey = null;
        var keep = false;
        try
        {
            if (!exchange.RetriedKe && RequestedGroup(payloads, Config.Proposals) is { } wanted)
            {
                exchange.RetriedKe = true;
                keep = true;
                StartIkeRekey(now, wanted, exchange);
                return;
            }

            var error = payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());
            var sa = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
            var nonce = payloads.OfType<NoncePayload>().FirstOrDefault();
            var ke = payloads.OfType<KeyExchangePayload>().FirstOrDefault();
            var selected = sa is null ? null : ProposalNegotiation.ValidateResponse(Config.Proposals, sa, ProtocolId.Ike);
            if (error is not null || selected is null || nonce is null || ke is null || sa!.Proposals[0].Spi.Length != 8
                || selected.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault() != ke.Group || ke.Group != exchange.Ke.Method)
            {
                if (_peerIkeRekey is { } only)
                {
                    // Ours failed but the peer's rekey of this SA succeeded: its SA is the successor.
                    _peerIkeRekey = null;
                    HandOver(now, only);
                    return;
                }

                // §2.25: TEMPORARY_FAILURE (e.g. a collision) means "retry shortly"; anything else, later.
                var retry = error?.NotifyType == NotifyType.TemporaryFailure ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(60);
                IkeRekeyAt = now + retry + TimeSpan.FromSeconds(5 * RandomFraction());
                if (error?.NotifyType != NotifyType.TemporaryFailure)
                {
                    _endpoint.EmitAlert(now, Id, $"rekeying the IKE SA failed ({error?.NotifyType.ToString() ?? "unacceptable response"}): retrying");
                }

                return;
            }

            exchange.Ke.SetPeerPublicKey(ke.Data.Span);
            var shared = exchange.Ke.GetSharedSecret();
            var peerSpi = BinaryPrimitives.ReadUInt64BigEndian(sa.Proposals[0].Spi.Span);
            var ours = NewSuccessor(now, initiator: true, exchange.Spi, peerSpi, selected, exchange.Nonce, nonce.Nonce.ToArray(), shared);
            if (_peerIkeRekey is { } theirs)
            {
                // §2.8.2: both ends rekeyed at once. The new SA made with the lowest of the four nonces is redundant;
                // its creator deletes it. The creator of the other one deletes the old SA.
                _peerIkeRekey = null;
                var lost = Lowest(exchange.Nonce, ours._nonceR).AsSpan().SequenceCompareTo(Lowest(theirs._nonceI, theirs._nonceR)) < 0;
                _endpoint.EmitAlert(now, Id, lost ? "IKE SA rekey collision lost: deleting our redundant IKE SA" : "IKE SA rekey collision won: deleting the old IKE SA");
                if (lost)
                {
                    HandOver(now, theirs);
                    ours._redundant = true;
                    ours.Terminate(now); // (touches ours)
                    return; // the peer deletes this (old) SA
                }

                theirs.MarkRedundant(now); // the peer deletes it
            }

            HandOver(now, ours);
            // The initiator of the rekey deletes the old IKE SA (§2.18), with the old keys.
            State = IkeSaState.Deleting;
            SendInformational(now, [DeletePayload.ForIke()]);
        }
        finally
        {
            if (!keep)
            {
                exchange.Dispose();
            }
        }
    }

    /// <summary>The peer rekeys the IKE SA: answer with our SPI, nonce and KE, and hand everything to the successor.</summary>
    private List<IkePayload> RespondIkeRekey(DateTimeOffset now, List<IkePayload> request, SecurityAssociationPayload sa)
    {
        if (_rekeyedAway is not null || _peerIkeRekey is not null || _predecessor is not null || State != IkeSaState.Established
            || _childExchange is not null || _deletingChild is not null)
        {
            // §2.25.1: a CHILD SA of ours is being created, rekeyed or closed, or this SA is already replaced or
            // being closed: the peer retries shortly.
            return [new NotifyPayload(NotifyType.TemporaryFailure)];
        }

        if (_childExchange is not null || _deletingChild is not null)
        {
            // Our CHILD rekey/create or CHILD delete is in flight on this SA: its response would land on an SA whose
            // CHILD SAs had moved to the successor, and the two sides would disagree about them (RFC 7296 §2.25;
            // strongSwan refuses an IKE rekey while a CHILD SA is half-open, too). The peer retries shortly.
            return [new NotifyPayload(NotifyType.TemporaryFailure)];
        }

        var nonce = request.OfType<NoncePayload>().FirstOrDefault();
        var ke = request.OfType<KeyExchangePayload>().FirstOrDefault();
        if (nonce is null || ke is null)
        {
            throw IkeProtocolException.InvalidSyntax("IKE SA rekey without nonce or KE");
        }

        if (ProposalNegotiation.Select(Config.Proposals, sa.Proposals, ProtocolId.Ike) is not { } selection || selection.PeerProposal.Spi.Length != 8)
        {
            _endpoint.EmitAlert(now, Id, "peer's IKE SA rekey proposals are not acceptable");
            return [new NotifyPayload(NotifyType.NoProposalChosen)];
        }

        var group = selection.Selected.OfType(TransformType.KeyExchange).Select(t => (KeId)t.Id).First();
        if (ke.Group != group)
        {
            return [InvalidKe(group)];
        }

        using var ours = KeyExchangeMethods.Create(group, _endpoint.Entropy);
        ours.SetPeerPublicKey(ke.Data.Span);
        var shared = ours.GetSharedSecret();
        var nonceR = _endpoint.NewNonce();
        var spiR = _endpoint.NewIkeSpi();
        var peerSpi = BinaryPrimitives.ReadUInt64BigEndian(selection.PeerProposal.Spi.Span);
        var next = NewSuccessor(now, initiator: false, peerSpi, spiR, selection.Selected, nonce.Nonce.ToArray(), nonceR, shared);
        if (_ikeRekey is not null)
        {
            _peerIkeRekey = next; // §2.8.2: ours is in flight too; decided by the nonces when its response comes
            _endpoint.EmitAlert(now, Id, "IKE SA rekey collision: the peer rekeys it too; the nonces decide (RFC 7296 §2.8.2)");
        }
        else
        {
            HandOver(now, next); // the peer deletes this one
        }

        var spi = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(spi, spiR);
        return [ProposalNegotiation.Accepted(selection.Selected, selection.PeerProposal.Number, spi), new NoncePayload(nonceR), new KeyExchangePayload(group, ours.GetPublicKey())];
    }

    /// <summary>
    /// Builds a rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), SK_* = prf+(SKEYSEED, Ni | Nr |
    /// SPIi | SPIr) with the new SPIs (§2.18); message IDs restart at 0. It is registered (messages reach it) but
    /// holds no CHILD SAs until <see cref="HandOver"/> makes it the successor. It keeps this SA's unique ID, so that
    /// the host sees one IKE SA whose SPIs changed.
    /// </summary>
    private IkeSa NewSuccessor(DateTimeOffset now, bool initiator, ulong spiI, ulong spiR, AlgorithmProposal selected, byte[] nonceI, byte[] nonceR, byte[] shared)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        var skeyseed = Ikev2KeySchedule.DeriveRekeySkeyseed(_keys!.Suite.Prf!, _keys.Keys.SK_d, shared, nonceI, nonceR);
        var keys = Ikev2KeySchedule.DeriveKeys(suite.Prf!, skeyseed, nonceI, nonceR, spiI, spiR, suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0);
        CryptographicOperations.ZeroMemory(skeyseed);
        CryptographicOperations.ZeroMemory(shared);
        var next = new IkeSa(_endpoint, Id, Config, initiator, spiI, spiR, Local, Remote, now)
        {
            _keys = new IkeSaKeys(suite, keys),
            _ikeSelected = selected,
            State = IkeSaState.Established,
            EstablishedAt = now,
            RemoteIdentity = RemoteIdentity,
            NatDetected = NatDetected,
            LocalBehindNat = LocalBehindNat,
            RemoteBehindNat = RemoteBehindNat,
            MobikeNegotiated = MobikeNegotiated,
            PeerAdditionalAddresses = PeerAdditionalAddresses,
            _pathSource = _pathSource,
            _observedMapping = _observedMapping,
            _lastInbound = now,
            _lastSent = now,
            _nonceI = nonceI,
            _nonceR = nonceR,
            _fragmentation = _fragmentation,
            _predecessor = this,

            // The rekey's initiator has the peer's response: the peer holds the new SA. Its responder waits for proof.
            _peerKnowsSa = initiator,
        };
        _endpoint.Register(next);
        _endpoint.Keylog?.Invoke(next, keys);
        return next;
    }

    /// <summary>A rekey collision made this SA redundant (§2.8.2): its creator, the peer, deletes it.</summary>
    private void MarkRedundant(DateTimeOffset now)
    {
        _redundant = true;
        _redundantSince = now;
        Touch();
    }

    /// <summary>Makes <paramref name="next"/> the successor: the CHILD SAs and queued work move over; this SA waits to be deleted.</summary>
    private void HandOver(DateTimeOffset now, IkeSa next)
    {
        next.Touch();
        next._predecessor = null;
        next._children.AddRange(_children);
        foreach (var c in _children)
        {
            _endpoint.SetChildOwner(c.InboundSpi, next);
            c.Owner = next;

            // Message IDs restart with the new SA. The rekey could only complete with no CHILD exchange of the peer's
            // pending (it would have answered TEMPORARY_FAILURE), so the peer has every answer we sent.
            c.UnconfirmedSinceRequest = null;
        }

        _children.Clear();
        while (_childQueue.TryDequeue(out var queued))
        {
            next._childQueue.Enqueue(queued);
        }

        while (_rekeyQueue.TryDequeue(out var rekey))
        {
            next._rekeyQueue.Enqueue(rekey);
        }

        while (_deleteQueue.TryDequeue(out var delete))
        {
            next._deleteQueue.Enqueue(delete);
        }

        next.ScheduleIkeRekey(now, this);
        next._reauthStarted = _reauthStarted;
        _successor = next;
        _rekeyedAway = now;
        State = IkeSaState.Deleting;
        _endpoint.Emit(new IkeSaRekeyed(now, Id, Config.Name, SpiI, SpiR, next.SpiI, next.SpiR));
        // A terminate that waited for the rekey applies to the SA that lives on. It goes out from the successor's
        // next timeout, after the rekey's response (a rekey responder's delete must not overtake it).
        next._deleteQueued = _deleteQueued;
        _deleteQueued = false;
    }

    /// <summary>The peer's rekey of this SA that crossed ours (§2.8.2), until the nonces decide.</summary>
    private IkeSa? _peerIkeRekey;

    /// <summary>The SA this one replaced, while a rekey collision is undecided (this SA holds no CHILD SAs yet).</summary>
    private IkeSa? _predecessor;

    /// <summary>The SA that replaced this one (CHILD SA deletes that cross the rekey are applied there).</summary>
    private IkeSa? _successor;

    /// <summary>A rekey collision made this SA redundant (§2.8.2): it goes away without an IkeSaDown.</summary>
    private bool _redundant;

    private DateTimeOffset? _redundantSince;
}
