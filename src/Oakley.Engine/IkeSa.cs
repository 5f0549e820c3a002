using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Engine.Authentication;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// One IKEv2 SA: its message-ID windows (window size 1, RFC 7296 §2.3), retransmission state, cached last
/// response, keys and CHILD SAs. It runs IKE_SA_INIT, IKE_AUTH with PSK (the first CHILD SA inside it) and
/// INFORMATIONAL (delete and liveness). Not thread-safe: the endpoint that owns it serialises access.
/// </summary>
public sealed class IkeSa : IDisposable
{
    private readonly Endpoint _endpoint;
    private readonly List<ChildSa> _children = [];
    private Crypto.KeyExchange.KeyExchange? _ke;
    private IkeSaKeys? _keys;
    private byte[] _nonceI = [];
    private byte[] _nonceR = [];
    private byte[] _initRequest = [];  // RealMessage1 (RFC 7296 §2.15)
    private byte[] _initResponse = []; // RealMessage2
    private byte[] _cookie = [];
    private KeId _keGroup;
    private int _invalidKeRetries;
    private ChildConfig? _pendingChild;
    private uint _pendingChildSpi;
    private AlgorithmProposal? _ikeSelected;

    // Message IDs (RFC 7296 §2.3): each side numbers its own requests from 0. _nextRequestId is the ID our
    // next request will carry; _expectedPeerRequestId the ID of the next request we accept.
    private uint _nextRequestId;
    private uint _expectedPeerRequestId;
    private PendingRequest? _pending;
    private (uint MessageId, List<byte[]> Datagrams)? _lastResponse;

    // RFC 7383: true once both sides announced IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (inherited by rekeys).
    private bool _fragmentation;
    private FragmentReassembly? _requestFragments;
    private FragmentReassembly? _responseFragments;
    private DateTimeOffset _halfOpenDeadline = DateTimeOffset.MaxValue;
    private IkeSaState _state = IkeSaState.Created;
    private IPAddress? _halfOpenFrom;

    /// <summary>The last time something authentic came from the peer (an IKE message, or ESP the host reported).</summary>
    private DateTimeOffset _lastInbound;

    /// <summary>
    /// The data plane's counters of one CHILD SA (the larger of its two directions). Volume limits (rekey_bytes,
    /// rekey_packets) bring its rekey forward to now; life_bytes/life_packets its hard expiry. Without ESN the
    /// 32-bit sequence number must never wrap (RFC 4303 §3.3.3): 2^32 − 2^24 packets force a rekey whatever the
    /// configuration says.
    /// </summary>
    internal void NoteChildCounters(DateTimeOffset now, ChildSa child, ulong bytes, ulong packets)
    {
        Touch();
        var c = child.Config;
        if ((c.LifeBytes > 0 && bytes >= c.LifeBytes) || (c.LifePackets > 0 && packets >= c.LifePackets))
        {
            child.ExpireAt = now < child.ExpireAt ? now : child.ExpireAt;
        }
        else if ((c.RekeyBytes > 0 && bytes >= c.RekeyBytes) || (c.RekeyPackets > 0 && packets >= c.RekeyPackets)
            || (!child.Suite.Esn && packets >= 0xFF00_0000UL))
        {
            child.RekeyAt = now < child.RekeyAt ? now : child.RekeyAt;
        }
    }

    /// <summary>The host saw ESP from the peer on one of this SA's CHILD SAs: the peer is alive (no DPD needed).</summary>
    internal void NoteInboundTraffic(DateTimeOffset now)
    {
        if (now > _lastInbound)
        {
            _lastInbound = now;
        }
    }

    private DateTimeOffset DpdDue => Config.DpdDelay > TimeSpan.Zero && _rekeyedAway is null && !_redundant && _predecessor is null ? _lastInbound + Config.DpdDelay : DateTimeOffset.MaxValue;

    internal IkeSa(Endpoint endpoint, long id, IkeConfig config, bool initiator, ulong spiI, ulong spiR, IPEndPoint local, IPEndPoint remote, DateTimeOffset now)
    {
        _endpoint = endpoint;
        Id = id;
        Config = config;
        IsOriginalInitiator = initiator;
        SpiI = spiI;
        SpiR = spiR;
        Local = local;
        Remote = remote;
        Created = now;
    }

    public long Id { get; }

    // TimerQueue's bookkeeping: the deadline of this SA's live queue entry, whether it is in the queue at all, and
    // whether its deadline must be recomputed before the queue is read.
    internal DateTimeOffset TimerAt { get; set; } = DateTimeOffset.MaxValue;

    internal bool TimerLive { get; set; }

    internal bool TimerDirty { get; set; }

    /// <summary>Marks this SA's deadline for recomputation: every entry point that changes state calls it.</summary>
    internal void Touch() => _endpoint.Touch(this);

    public IkeConfig Config { get; private set; }

    public bool IsOriginalInitiator { get; }

    public ulong SpiI { get; private set; }

    public ulong SpiR { get; private set; }

    public IPEndPoint Local { get; private set; }

    /// <summary>True once NAT detection (RFC 7296 §2.23) found a NAT (or <c>encap = yes</c> faked one).</summary>
    public bool NatDetected { get; private set; }

    /// <summary>NAT detection found a NAT in front of us (our NAT_DETECTION_DESTINATION_IP hash did not match): we send keepalives.</summary>
    public bool LocalBehindNat { get; private set; }

    /// <summary>NAT detection found a NAT in front of the peer (or the peer fakes one).</summary>
    public bool RemoteBehindNat { get; private set; }

    /// <summary>Both sides sent MOBIKE_SUPPORTED in IKE_AUTH (RFC 4555): addresses change only with UPDATE_SA_ADDRESSES.</summary>
    public bool MobikeNegotiated { get; private set; }

    /// <summary>The peer's additional addresses (RFC 4555: ADDITIONAL_IP4/6_ADDRESS; empty after NO_ADDITIONAL_ADDRESSES).</summary>
    public IReadOnlyList<IPAddress> PeerAdditionalAddresses { get; private set; } = [];

    /// <summary>ESP is UDP-encapsulated: a NAT was detected, or IKE floated to the NAT-T port without MOBIKE (a peer floats only for a NAT then).</summary>
    public bool UdpEncapsulation => NatDetected || (Local.Port == _endpoint.Settings.NattPort && !MobikeNegotiated);

    /// <summary>The last time we sent anything on this SA (IKE, a keepalive, or ESP the host reported): keepalives fill the gaps.</summary>
    private DateTimeOffset _lastSent;

    /// <summary>The local address the host last reported as the source towards the peer (MOBIKE path tracking).</summary>
    private IPAddress? _pathSource;

    private DateTimeOffset KeepAliveDue =>
        State == IkeSaState.Established && LocalBehindNat && _rekeyedAway is null && _endpoint.Settings.KeepAliveInterval > TimeSpan.Zero
            ? _lastSent + _endpoint.Settings.KeepAliveInterval
            : DateTimeOffset.MaxValue;

    /// <summary>The host sent ESP on one of this SA's CHILD SAs: it refreshes the NAT mapping as a keepalive would.</summary>
    internal void NoteOutboundTraffic(DateTimeOffset now)
    {
        if (now > _lastSent)
        {
            _lastSent = now;
        }
    }

    public IPEndPoint Remote { get; private set; }

    public IkeSaState State
    {
        get => _state;
        private set
        {
            _state = value;
            if (value != IkeSaState.Connecting)
            {
                EndHalfOpen(); // established, deleting or destroyed: no longer half-open
            }
        }
    }

    /// <summary>The key under which the endpoint finds this SA for a retransmitted IKE_SA_INIT (responders only).</summary>
    internal (IPEndPoint Remote, ulong SpiI)? InitRequestKey { get; set; }

    /// <summary>Counts this responder SA as half-open (against the source of its IKE_SA_INIT) until it leaves Connecting.</summary>
    internal void BeginHalfOpen()
    {
        Touch();
        _halfOpenFrom = Remote.Address;
        _endpoint.HalfOpenBegun(_halfOpenFrom);
    }

    private void EndHalfOpen()
    {
        if (_halfOpenFrom is { } source)
        {
            _halfOpenFrom = null;
            _endpoint.HalfOpenEnded(source);
        }
    }

    public DateTimeOffset Created { get; }

    public DateTimeOffset? EstablishedAt { get; private set; }

    public Identity? RemoteIdentity
    {
        get => _remoteIdentity;
        private set
        {
            _endpoint.RemoteIdentityChanged(this, _remoteIdentity, value);
            _remoteIdentity = value;
        }
    }

    private Identity? _remoteIdentity;

    public NegotiatedSuite? Suite => _keys?.Suite;

    public IReadOnlyList<ChildSa> Children => _children;

    public ulong LocalSpi => IsOriginalInitiator ? SpiI : SpiR;

    /// <summary>The SA's message protection (tests read, decrypt and forge protected messages with it; never logged).</summary>
    internal IkeSaKeys? Keys => _keys;

    /// <summary>The next time this SA needs <see cref="HandleTimeout"/>.</summary>
    public DateTimeOffset NextDeadline
    {
        get
        {
            var d = _pending?.Deadline ?? DateTimeOffset.MaxValue;
            d = d < _halfOpenDeadline ? d : _halfOpenDeadline;
            d = _requestFragments is { Deadline: var rq } && rq < d ? rq : d;
            d = _responseFragments is { Deadline: var rs } && rs < d ? rs : d;
            if (_rekeyedAway is { } since && _pending is null && since + TimeSpan.FromMinutes(1) < d)
            {
                d = since + TimeSpan.FromMinutes(1);
            }

            if (_redundantSince is { } r && _pending is null && r + TimeSpan.FromMinutes(1) < d)
            {
                d = r + TimeSpan.FromMinutes(1);
            }

            if (State == IkeSaState.Established)
            {
                if (_pending is null && DpdDue < d)
                {
                    d = DpdDue;
                }

                if (KeepAliveDue < d)
                {
                    d = KeepAliveDue;
                }

                if (_pending is null && _deleteQueued && Created < d)
                {
                    d = Created; // due at once
                }

                if (_pending is null && _ikeRekey is null && IkeRekeyAt < d)
                {
                    d = IkeRekeyAt;
                }

                if (!_reauthStarted && _rekeyedAway is null && ReauthAt < d)
                {
                    d = ReauthAt;
                }

                d = ExpireAt < d ? ExpireAt : d;

                foreach (var c in _children)
                {
                    // A rekey waits for the window; it is due again when the pending exchange ends.
                    var next = c.Replaced || (_pending is not null && c.RekeyAt <= d) ? c.ExpireAt : (c.RekeyAt < c.ExpireAt ? c.RekeyAt : c.ExpireAt);
                    d = next < d ? next : d;
                }
            }

            return d;
        }
    }

    private sealed class PendingRequest
    {
        public required uint MessageId { get; init; }

        /// <summary>The request as sent: one datagram, or all its fragments (a retransmission resends them all).</summary>
        public required List<byte[]> Datagrams { get; set; }

        public required ExchangeType Exchange { get; init; }

        public int Retransmits { get; set; }

        public DateTimeOffset Deadline { get; set; }

        /// <summary>This request deletes the IKE SA: its response (or the peer's INVALID_IKE_SPI) ends the SA.</summary>
        public bool DeletesIkeSa { get; set; }
    }

    // ------------------------------------------------------------------------------------------------
    // Initiator: IKE_SA_INIT
    // ------------------------------------------------------------------------------------------------

    internal void StartInitiator(DateTimeOffset now, ChildConfig? child)
    {
        Touch();
        _pendingChild = child;
        _keGroup = Config.Proposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Select(t => (KeId)t.Id).First();
        State = IkeSaState.Connecting;
        SendInitRequest(now);
    }

    private void SendInitRequest(DateTimeOffset now)
    {
        _ke?.Dispose();
        _ke = KeyExchangeMethods.Create(_keGroup, _endpoint.Entropy);
        if (_nonceI.Length == 0)
        {
            _nonceI = _endpoint.NewNonce();
        }

        var m = new IkeMessage { InitiatorSpi = SpiI, ResponderSpi = 0, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Initiator, MessageId = 0 };
        if (_cookie.Length > 0)
        {
            // RFC 7296 §2.6: the COOKIE notify is the first payload of the repeated request.
            m.Payloads.Add(new NotifyPayload(NotifyType.Cookie, _cookie));
        }

        m.Payloads.Add(ProposalNegotiation.ToPayload(Config.Proposals, default, _keGroup));
        m.Payloads.Add(new KeyExchangePayload(_keGroup, _ke.GetPublicKey()));
        m.Payloads.Add(new NoncePayload(_nonceI));
        AddNatDetection(m, SpiI, 0);
        if (Config.Fragmentation != Fragmentation.No)
        {
            m.Payloads.Add(new NotifyPayload(NotifyType.Ikev2FragmentationSupported)); // RFC 7383 §2.3
        }

        m.Payloads.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, new byte[] { 0, 2, 0, 3, 0, 4 })); // SHA2-256/384/512 (RFC 7427)
        _initRequest = m.Encode();
        _nextRequestId = 0;
        SendRequest(now, ExchangeType.IkeSaInit, [_initRequest]);
        _nextRequestId = 1;
    }

    private void AddNatDetection(IkeMessage m, ulong spiI, ulong spiR)
    {
        if (Config.ForceEncapsulation)
        {
            // encap = yes: a source hash that cannot match makes the peer see us behind a NAT (RFC 7296 §2.23).
            var fake = new byte[20];
            _endpoint.Entropy.Fill(fake);
            m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, fake));
            m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(spiI, spiR, Remote)));
            return;
        }

        m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(spiI, spiR, Local)));
        m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(spiI, spiR, Remote)));
    }

    /// <summary>RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port).</summary>
    internal static byte[] NatHash(ulong spiI, ulong spiR, IPEndPoint ep)
    {
        var addr = ep.Address.GetAddressBytes();
        var data = new byte[16 + addr.Length + 2];
        BinaryPrimitives.WriteUInt64BigEndian(data, spiI);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8), spiR);
        addr.CopyTo(data, 16);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(16 + addr.Length), (ushort)ep.Port);
        return SHA1.HashData(data);
    }

    private void ProcessInitResponse(DateTimeOffset now, IkeMessage m, byte[] datagram)
    {
        if (m.Notifies(NotifyType.Cookie).FirstOrDefault() is { } cookie)
        {
            // RFC 7296 §2.6: retry with the cookie, same SPI and nonce.
            _cookie = cookie.Data.ToArray();
            _pending = null;
            SendInitRequest(now);
            return;
        }

        if (m.Notifies(NotifyType.InvalidKePayload).FirstOrDefault() is { } invalidKe)
        {
            // RFC 7296 §1.2: retry with the group the responder asked for, if we proposed it.
            var wanted = invalidKe.Data.Length == 2 ? (KeId)BinaryPrimitives.ReadUInt16BigEndian(invalidKe.Data.Span) : KeId.None;
            var proposed = Config.Proposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Any(t => t.Id == (ushort)wanted);
            if (!proposed || wanted == _keGroup || ++_invalidKeRetries > 2)
            {
                Fail(now, $"peer requested unacceptable key exchange method {wanted}");
                return;
            }

            _endpoint.EmitAlert(now, Id, $"peer requested {wanted} instead of {_keGroup}; retrying");
            _keGroup = wanted;
            _pending = null;
            SendInitRequest(now);
            return;
        }

        if (m.Payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError()) is { } error)
        {
            Fail(now, $"IKE_SA_INIT failed: peer answered {error.NotifyType}");
            return;
        }

        var sa = m.Find<SecurityAssociationPayload>();
        var ke = m.Find<KeyExchangePayload>();
        var nonce = m.Find<NoncePayload>();
        if (sa is null || ke is null || nonce is null || m.ResponderSpi == 0)
        {
            throw IkeProtocolException.InvalidSyntax("IKE_SA_INIT response lacks SA, KE or Nonce");
        }

        var selected = ProposalNegotiation.ValidateResponse(Config.Proposals, sa, ProtocolId.Ike);
        if (selected is null || ke.Group != _keGroup || selected.OfType(TransformType.KeyExchange).Single().Id != (ushort)_keGroup)
        {
            Fail(now, "responder chose a proposal we did not offer");
            return;
        }

        _pending = null;
        SpiR = m.ResponderSpi;
        DetectNat(now, m, SpiI, SpiR);
        if ((NatDetected || Config.Mobike) && Remote.Port != _endpoint.Settings.NattPort)
        {
            // RFC 7296 §2.23: with a NAT in the path the initiator moves to port 4500 for IKE_AUTH onwards;
            // RFC 4555 §3.3: so does an initiator that offers MOBIKE, NAT or not (a later move may meet one).
            Local = new IPEndPoint(Local.Address, _endpoint.Settings.NattPort);
            Remote = new IPEndPoint(Remote.Address, _endpoint.Settings.NattPort);
        }

        _nonceR = nonce.Nonce.ToArray();
        _fragmentation = Config.Fragmentation != Fragmentation.No && m.Notifies(NotifyType.Ikev2FragmentationSupported).Any();
        _initResponse = datagram;
        _ke!.SetPeerPublicKey(ke.Data.Span);
        DeriveKeys(selected);
        SendAuthRequest(now);
    }

    /// <summary>
    /// Compares the peer's NAT_DETECTION_* notifies with hashes of the addresses we see (RFC 7296 §2.23).
    /// A peer that fakes them (strongSwan's encap = yes, or kernel-libipsec) is treated as being behind a NAT.
    /// </summary>
    private void DetectNat(DateTimeOffset now, IkeMessage m, ulong spiI, ulong spiR)
    {
        // encap = yes: we told the peer we are behind a NAT, so both sides treat the path as NATed.
        NatDetected |= Config.ForceEncapsulation;
        var source = m.Notifies(NotifyType.NatDetectionSourceIp).ToList();
        var destination = m.Notifies(NotifyType.NatDetectionDestinationIp).FirstOrDefault();
        if (source.Count == 0 || destination is null)
        {
            return;
        }

        var (peerBehindNat, weBehindNat) = CompareNatHashes(source, destination, spiI, spiR, Local, Remote, _pathSource);
        LocalBehindNat = weBehindNat;
        RemoteBehindNat = peerBehindNat;
        if (peerBehindNat || weBehindNat)
        {
            NatDetected = true;
            _endpoint.EmitAlert(now, Id, weBehindNat ? "local host is behind NAT, sending keep alives" : "remote host is behind NAT");
        }
    }

    /// <summary>
    /// RFC 7296 §2.23: the peer is behind a NAT if no NAT_DETECTION_SOURCE_IP matches the address it came from, we
    /// are if its NAT_DETECTION_DESTINATION_IP does not match ours. A wildcard local address (no source known) is
    /// never called NATed.
    /// </summary>
    private static (bool PeerBehindNat, bool WeBehindNat) CompareNatHashes(List<NotifyPayload> source, NotifyPayload destination,
        ulong spiI, ulong spiR, IPEndPoint local, IPEndPoint remote, IPAddress? knownSource)
    {
        var peerSeen = NatHash(spiI, spiR, remote);
        var peerBehindNat = !source.Any(n => n.Data.Span.SequenceEqual(peerSeen));
        var ourAddress = IsWildcard(local.Address) ? knownSource : local.Address;
        var weBehindNat = ourAddress is not null
            && !destination.Data.Span.SequenceEqual(NatHash(spiI, spiR, new IPEndPoint(ourAddress, local.Port)));
        return (peerBehindNat, weBehindNat);
    }

    private static bool IsWildcard(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    /// <summary>
    /// RFC 7296 §2.23: the latest authenticated message's addresses are the ones to use. Before the SA is
    /// established that is the float to the NAT-T port. Afterwards a changed peer address or port (a NAT that
    /// remapped) is followed only by a side that is not itself behind a NAT (a host behind one "SHOULD NOT": one
    /// forged packet would redirect it), and never with MOBIKE, whose UPDATE_SA_ADDRESSES replaces implicit
    /// updates (RFC 4555 §3.5). The caller only passes new messages (retransmitted requests are answered from the
    /// cache before this), so an old replayed message cannot move the SA back.
    /// </summary>
    private void FollowPeer(DateTimeOffset now, IPEndPoint local, IPEndPoint remote)
    {
        if (State != IkeSaState.Established)
        {
            Local = local;
            Remote = remote;
            return;
        }

        if (remote.Equals(Remote) || MobikeNegotiated || LocalBehindNat)
        {
            return;
        }

        var old = Remote;
        Local = local;
        Remote = remote;
        RemoteBehindNat = true;
        NatDetected |= Remote.Port == _endpoint.Settings.NattPort;
        _endpoint.Emit(new IkeSaAddressesChanged(now, Id, Config.Name, Local, Remote, UdpEncapsulation, $"remote address changed from {old} to {remote}"));
    }

    private void DeriveKeys(AlgorithmProposal selected)
    {
        _ikeSelected = selected;
        var suite = ProposalNegotiation.Resolve(selected);
        var shared = _ke!.GetSharedSecret();
        var prf = suite.Prf!;
        var skeyseed = Ikev2KeySchedule.DeriveSkeyseed(prf, _nonceI, _nonceR, shared);
        var keys = Ikev2KeySchedule.DeriveKeys(prf, skeyseed, _nonceI, _nonceR, SpiI, SpiR,
            suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0);
        CryptographicOperations.ZeroMemory(skeyseed);
        _keys = new IkeSaKeys(suite, keys);
        _endpoint.Keylog?.Invoke(this, keys);
        _ke.Dispose();
        _ke = null;
    }

    // ------------------------------------------------------------------------------------------------
    // Initiator: IKE_AUTH
    // ------------------------------------------------------------------------------------------------

    private void SendAuthRequest(DateTimeOffset now)
    {
        var idi = new IdentificationPayload(true, Config.LocalId.Type, Config.LocalId.Value);
        var payloads = new List<IkePayload> { idi };
        if (Config.RemoteId is { } rid)
        {
            payloads.Add(new IdentificationPayload(false, rid.Type, rid.Value));
        }

        // No IKE_AUTH without our credential: a missing or empty key fails the SA here, before anything is sent.
        var found = Authenticator(Config.RemoteId ?? RemoteIdentity);
        if (found.Authenticator is not { } authenticator)
        {
            Fail(now, found.Error!);
            return;
        }

        payloads.Add(authenticator.Build(AuthInputOf(true, _initRequest, _nonceR, idi)));
        if (Config.SendInitialContact && _reauthOf is null)
        {
            payloads.Add(new NotifyPayload(NotifyType.InitialContact));
        }

        if (Config.Mobike)
        {
            payloads.Add(new NotifyPayload(NotifyType.MobikeSupported));
        }

        if (_pendingChild is { } child)
        {
            _pendingChildSpi = _endpoint.NewChildSpi();
            if (child.TransportMode)
            {
                payloads.Add(new NotifyPayload(NotifyType.UseTransportMode));
            }

            payloads.Add(ProposalNegotiation.ToPayload(child.EspProposals.Select(StripKe).ToList(), SpiBytes(_pendingChildSpi)));
            payloads.Add(new TrafficSelectorPayload(true, child.EffectiveLocalTs(Local.Address).Select(t => t.ToPayload()).ToList()));
            payloads.Add(new TrafficSelectorPayload(false, child.EffectiveRemoteTs(Remote.Address).Select(t => t.ToPayload()).ToList()));
        }

        // The message ID comes from the window (1 after IKE_SA_INIT; an IKE_INTERMEDIATE would move it on).
        SendProtectedRequest(now, ExchangeType.IkeAuth, payloads);
    }

    /// <summary>In IKE_AUTH the first CHILD SA never carries a KE (RFC 7296 §1.2): drop PFS groups from ESP proposals.</summary>
    private static AlgorithmProposal StripKe(AlgorithmProposal p) =>
        new(p.Protocol, p.Transforms.Where(t => t.Type != TransformType.KeyExchange));

    private static byte[] SpiBytes(uint spi)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, spi);
        return b;
    }

    /// <summary>RFC 7296 §2.15: what one side's AUTH covers, RealMessage | peer's nonce | prf(SK_p, ID body).</summary>
    private AuthInput AuthInputOf(bool initiatorSide, byte[] realMessage, byte[] peerNonce, IdentificationPayload id)
    {
        var keys = _keys!;
        var prf = keys.Suite.Prf!;
        return new AuthInput(prf, Ikev2Auth.SignedOctets(prf, realMessage, peerNonce, initiatorSide ? keys.Keys.SK_pi : keys.Keys.SK_pr, id.GetBodyBytes()));
    }

    private string AuthMismatch(IIkeAuthenticator ours, AuthenticationPayload theirs) => theirs.Method == ours.Method
        ? $"AUTH of '{RemoteIdentity}' did not verify (wrong pre-shared key?)"
        : $"'{RemoteIdentity}' authenticates with AUTH method {theirs.Method}; this connection expects {ours.Method}";

    /// <summary>The authenticator for our identity and <paramref name="remote"/> (null: %any), or why there is none.</summary>
    private AuthenticatorResult Authenticator(Identity? remote) => PskAuthenticator.Create(_endpoint.Secrets, Config.LocalId, remote);

    private void ProcessAuthResponse(DateTimeOffset now, List<IkePayload> payloads)
    {
        _pending = null;
        if (payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.AuthenticationFailed) is not null)
        {
            Fail(now, "peer reported AUTHENTICATION_FAILED");
            return;
        }

        var idr = payloads.OfType<IdentificationPayload>().FirstOrDefault(i => !i.IsInitiator);
        var auth = payloads.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idr is null || auth is null)
        {
            Fail(now, "IKE_AUTH response lacks IDr or AUTH");
            return;
        }

        RemoteIdentity = new Identity(idr.IdType, idr.Data.ToArray());
        if (Config.RemoteId is { } expected && !expected.Matches(RemoteIdentity))
        {
            Fail(now, $"peer identity '{RemoteIdentity}' does not match the configured '{expected}'");
            return;
        }

        var verifier = Authenticator(RemoteIdentity);
        if (verifier.Authenticator is null)
        {
            Fail(now, verifier.Error!);
            return;
        }

        if (!verifier.Authenticator.Verify(AuthInputOf(false, _initResponse, _nonceI, idr), auth))
        {
            // RFC 7296 §2.21.2: the initiator deletes the IKE SA (an INFORMATIONAL with AUTHENTICATION_FAILED is optional).
            Fail(now, "AUTH payload of the responder did not verify");
            return;
        }

        if (!_endpoint.EnforceUniqueness(now, this, initialContact: false))
        {
            Fail(now, $"an IKE SA with '{RemoteIdentity}' exists (unique = keep): not keeping this one");
            return;
        }

        MobikeNegotiated = Config.Mobike && payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported);
        StoreAdditionalAddresses(payloads);
        Establish(now);
        if (_pendingChild is { } child)
        {
            var error = payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());
            var sa = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
            var tsi = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
            var tsr = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
            if (error is not null || sa is null || tsi is null || tsr is null)
            {
                ChildFailed(now, child, $"CHILD SA '{child.Name}' was not created: {error?.NotifyType.ToString() ?? "incomplete response"}");
                return;
            }

            var selected = ProposalNegotiation.ValidateResponse(child.EspProposals.Select(StripKe).ToList(), sa, ProtocolId.Esp);
            if (selected is null || sa.Proposals[0].Spi.Length != 4)
            {
                ChildFailed(now, child, $"CHILD SA '{child.Name}': responder chose a proposal we did not offer");
                return;
            }

            var transport = payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
            if (child.TransportMode != transport)
            {
                ChildFailed(now, child, $"CHILD SA '{child.Name}': mode mismatch (we asked {(child.TransportMode ? "transport" : "tunnel")})");
                return;
            }

            var localTs = tsi.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
            var remoteTs = tsr.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
            InstallChild(now, child, _pendingChildSpi, BinaryPrimitives.ReadUInt32BigEndian(sa.Proposals[0].Spi.Span), selected, localTs, remoteTs, transport);
        }
    }

    /// <summary>A CHILD SA we asked for was refused or answered wrongly: the operator and the host (initiate waits) learn why.</summary>
    private void ChildFailed(DateTimeOffset now, ChildConfig child, string reason)
    {
        _endpoint.EmitAlert(now, Id, reason);
        _endpoint.Emit(new ChildSaFailed(now, Id, Config.Name, child.Name, reason));
    }

    // ------------------------------------------------------------------------------------------------
    // Responder: IKE_SA_INIT (called by the endpoint after its stateless checks) and IKE_AUTH
    // ------------------------------------------------------------------------------------------------

    internal byte[] RespondInit(DateTimeOffset now, byte[] request, IkeMessage m, AlgorithmProposal selected, byte proposalNumber, KeyExchangePayload ke, NoncePayload nonce)
    {
        Touch();
        State = IkeSaState.Connecting;
        _halfOpenDeadline = now + _endpoint.Settings.HalfOpenTimeout;
        _initRequest = request;
        _nonceI = nonce.Nonce.ToArray();
        _nonceR = _endpoint.NewNonce();
        _keGroup = ke.Group;
        _ke = KeyExchangeMethods.Create(ke.Group, _endpoint.Entropy);
        _ke.SetPeerPublicKey(ke.Data.Span); // validates the peer's value (RFC 6989)
        DetectNat(now, m, SpiI, 0);
        var response = new IkeMessage { InitiatorSpi = SpiI, ResponderSpi = SpiR, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Response, MessageId = 0 };
        response.Payloads.Add(ProposalNegotiation.Accepted(selected, proposalNumber, default));
        response.Payloads.Add(new KeyExchangePayload(ke.Group, _ke.GetPublicKey()));
        response.Payloads.Add(new NoncePayload(_nonceR));
        AddNatDetection(response, SpiI, SpiR);
        // RFC 7383 §2.3: announce support only in answer to the initiator's announcement.
        _fragmentation = Config.Fragmentation != Fragmentation.No && m.Notifies(NotifyType.Ikev2FragmentationSupported).Any();
        if (_fragmentation)
        {
            response.Payloads.Add(new NotifyPayload(NotifyType.Ikev2FragmentationSupported));
        }

        if (m.Notifies(NotifyType.SignatureHashAlgorithms).Any())
        {
            response.Payloads.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, new byte[] { 0, 2, 0, 3, 0, 4 }));
        }

        _initResponse = response.Encode();
        DeriveKeys(selected);
        _expectedPeerRequestId = 1;
        _lastResponse = (0, [_initResponse]);
        return _initResponse;
    }

    private List<IkePayload> RespondAuth(DateTimeOffset now, List<IkePayload> request, out bool destroy)
    {
        destroy = false;
        var idi = request.OfType<IdentificationPayload>().FirstOrDefault(i => i.IsInitiator);
        var auth = request.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idi is null || auth is null)
        {
            // EAP (no AUTH from the initiator) is not implemented yet: answer as RFC 7296 §2.21.2 asks.
            destroy = true;
            _endpoint.EmitAlert(now, Id, "IKE_AUTH request without IDi/AUTH (EAP is not supported yet)");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        RemoteIdentity = new Identity(idi.IdType, idi.Data.ToArray());
        var config = _endpoint.FindConfigForIdentity(Config, RemoteIdentity, Remote);
        if (config is null)
        {
            destroy = true;
            _endpoint.EmitAlert(now, Id, $"no connection matches peer identity '{RemoteIdentity}'");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        Config = config;
        // One authenticator verifies the peer and builds our AUTH: without a key for the pair there is neither.
        var found = Authenticator(RemoteIdentity);
        var authenticator = found.Authenticator;
        var refusal = authenticator is null ? found.Error
            : authenticator.Verify(AuthInputOf(true, _initRequest, _nonceR, idi), auth) ? null : AuthMismatch(authenticator, auth);
        if (authenticator is null || refusal is not null)
        {
            destroy = true;
            _endpoint.EmitAlert(now, Id, refusal!);
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        var idr = new IdentificationPayload(false, Config.LocalId.Type, Config.LocalId.Value);
        var response = new List<IkePayload> { idr, authenticator.Build(AuthInputOf(false, _initResponse, _nonceI, idr)) };
        if (!_endpoint.EnforceUniqueness(now, this, request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.InitialContact)))
        {
            // unique = keep: an IKE SA with this peer exists; this one is refused.
            destroy = true;
            _endpoint.EmitAlert(now, Id, $"refusing a second IKE SA with '{RemoteIdentity}' (unique = keep)");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        // RFC 4555: MOBIKE is used when both sides say MOBIKE_SUPPORTED in IKE_AUTH.
        if (Config.Mobike && request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported))
        {
            MobikeNegotiated = true;
            response.Add(new NotifyPayload(NotifyType.MobikeSupported));
        }

        StoreAdditionalAddresses(request);
        Establish(now);

        response.AddRange(RespondChild(now, request));
        return response;
    }

    /// <summary>Creates the CHILD SA of an IKE_AUTH request: proposal selection and TS narrowing (RFC 7296 §2.9).</summary>
    private List<IkePayload> RespondChild(DateTimeOffset now, List<IkePayload> request, byte[]? nonceI = null, byte[]? nonceR = null,
        KeyExchangePayload? ke = null, bool createChild = false)
    {
        var sa = request.OfType<SecurityAssociationPayload>().FirstOrDefault();
        var tsi = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
        var tsr = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
        if (sa is null || tsi is null || tsr is null)
        {
            return []; // childless IKE_AUTH (RFC 6023)
        }

        var theirTsi = tsi.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var theirTsr = tsr.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var transport = request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
        // TSi is the initiator's side: narrow it with our remote_ts; TSr with our local_ts (§2.9).
        // strongSwan-like preference: a child whose own selectors are exactly the result is the most specific
        // match (a TCP-only child beats an any-protocol one for a TCP proposal); then one that needed no narrowing.
        var candidates = Config.Children
            .Select(c => (Child: c, Remote: Narrow(theirTsi, c.EffectiveRemoteTs(Remote.Address)), Local: Narrow(theirTsr, c.EffectiveLocalTs(Local.Address))))
            .Where(c => c.Remote.Count > 0 && c.Local.Count > 0)
            .OrderByDescending(c => c.Remote.SequenceEqual(c.Child.EffectiveRemoteTs(Remote.Address)) && c.Local.SequenceEqual(c.Child.EffectiveLocalTs(Local.Address)))
            .ThenByDescending(c => c.Remote.SequenceEqual(theirTsi) && c.Local.SequenceEqual(theirTsr))
            .ToList();
        foreach (var (child, remote, local) in candidates)
        {
            var ours = createChild ? child.EspProposals : child.EspProposals.Select(StripKe).ToList();
            var selection = ProposalNegotiation.Select(ours, sa.Proposals, ProtocolId.Esp);
            if (createChild && selection is null && ke is null)
            {
                // The peer offers no PFS: accept without it if our proposals allow that once the KE is removed.
                selection = ProposalNegotiation.Select(child.EspProposals.Select(StripKe).ToList(), sa.Proposals, ProtocolId.Esp);
            }

            if (selection is not { } s || s.PeerProposal.Spi.Length != 4)
            {
                continue;
            }

            byte[]? pfsSecret = null;
            KeyExchangePayload? keReply = null;
            if (s.Selected.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault() is { } group)
            {
                if (ke is null || ke.Group != group)
                {
                    return [InvalidKe(group)];
                }

                using var ourKe = KeyExchangeMethods.Create(group, _endpoint.Entropy);
                ourKe.SetPeerPublicKey(ke.Data.Span);
                keReply = new KeyExchangePayload(group, ourKe.GetPublicKey());
                pfsSecret = ourKe.GetSharedSecret().ToArray();
            }

            var useTransport = transport && child.TransportMode;
            var inbound = _endpoint.NewChildSpi();
            var outbound = BinaryPrimitives.ReadUInt32BigEndian(s.PeerProposal.Spi.Span);
            var installed = InstallChild(now, child, inbound, outbound, s.Selected, local, remote, useTransport, nonceI, nonceR, pfsSecret, weInitiatedExchange: createChild ? false : null);
            installed.UnconfirmedSinceRequest = createChild ? _expectedPeerRequestId : null;
            return ChildReply(s, inbound, useTransport, createChild ? nonceR : null, keReply, local, remote);
        }

        if (candidates.Count > 0)
        {
            var ours = candidates[0].Child.EspProposals.Select(p => createChild ? p : StripKe(p));
            _endpoint.EmitAlert(now, Id, $"CHILD SA '{candidates[0].Child.Name}': no acceptable ESP proposal, sending NO_PROPOSAL_CHOSEN: received "
                + $"{ProposalNegotiation.Describe(sa.Proposals, ProtocolId.Esp)}; configured {ProposalString.FormatList(ours)}");
            return [new NotifyPayload(NotifyType.NoProposalChosen)];
        }

        _endpoint.EmitAlert(now, Id, "traffic selectors unacceptable: no CHILD SA configuration matches");
        return [new NotifyPayload(NotifyType.TsUnacceptable)];
    }

    /// <summary>
    /// The payloads that accept a CHILD SA: USE_TRANSPORT_MODE if agreed, the chosen proposal with our SPI, in
    /// CREATE_CHILD_SA our nonce and KE, and the narrowed selectors (TSi: the initiator's side).
    /// </summary>
    private static List<IkePayload> ChildReply((AlgorithmProposal Selected, Proposal PeerProposal) s, uint inbound, bool transport, byte[]? nonceR,
        KeyExchangePayload? keReply, List<TrafficSelectorRange> local, List<TrafficSelectorRange> remote)
    {
        var reply = new List<IkePayload>();
        if (transport)
        {
            reply.Add(new NotifyPayload(NotifyType.UseTransportMode));
        }

        reply.Add(ProposalNegotiation.Accepted(s.Selected, s.PeerProposal.Number, SpiBytes(inbound)));
        if (nonceR is not null)
        {
            reply.Add(new NoncePayload(nonceR));
            if (keReply is not null)
            {
                reply.Add(keReply);
            }
        }

        reply.Add(new TrafficSelectorPayload(true, remote.Select(t => t.ToPayload()).ToList()));
        reply.Add(new TrafficSelectorPayload(false, local.Select(t => t.ToPayload()).ToList()));
        return reply;
    }

    private static List<TrafficSelectorRange> Narrow(List<TrafficSelectorRange> proposed, IReadOnlyList<TrafficSelectorRange> allowed)
    {
        var result = new List<TrafficSelectorRange>();
        foreach (var p in proposed)
        {
            foreach (var a in allowed)
            {
                if (p.Intersect(a) is { } i && !result.Contains(i))
                {
                    result.Add(i);
                }
            }
        }

        return result;
    }

    private ChildSa InstallChild(DateTimeOffset now, ChildConfig child, uint inboundSpi, uint outboundSpi, AlgorithmProposal selected,
        IReadOnlyList<TrafficSelectorRange> localTs, IReadOnlyList<TrafficSelectorRange> remoteTs, bool transport,
        byte[]? exchangeNonceI = null, byte[]? exchangeNonceR = null, byte[]? pfsSecret = null, bool? weInitiatedExchange = null)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        var keys = _keys!;
        // §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) with the nonces of the exchange that creates the SA.
        using var keymat = Ikev2KeySchedule.DeriveChildKeys(keys.Suite.Prf!, keys.Keys.SK_d, exchangeNonceI ?? _nonceI, exchangeNonceR ?? _nonceR,
            suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0, pfsSecret is null ? [] : [pfsSecret]);
        // KEYMAT is split initiator->responder first (§2.17); "initiator" is the initiator of this exchange.
        var iAmExchangeInitiator = weInitiatedExchange ?? IsOriginalInitiator;
        var outEnc = iAmExchangeInitiator ? keymat.EncryptionKeyInitiatorToResponder : keymat.EncryptionKeyResponderToInitiator;
        var outInt = iAmExchangeInitiator ? keymat.IntegrityKeyInitiatorToResponder : keymat.IntegrityKeyResponderToInitiator;
        var inEnc = iAmExchangeInitiator ? keymat.EncryptionKeyResponderToInitiator : keymat.EncryptionKeyInitiatorToResponder;
        var inInt = iAmExchangeInitiator ? keymat.IntegrityKeyResponderToInitiator : keymat.IntegrityKeyInitiatorToResponder;
        var childSa = new ChildSa
        {
            Config = child,
            InboundSpi = inboundSpi,
            OutboundSpi = outboundSpi,
            Suite = suite,
            LocalTs = localTs,
            RemoteTs = remoteTs,
            TransportMode = transport,
            Installed = now,
            RekeyAt = child.RekeyTime > TimeSpan.Zero ? now + child.RekeyTime - Jitter(child) : DateTimeOffset.MaxValue,
            ExpireAt = child.LifeTime > TimeSpan.Zero ? now + child.LifeTime : DateTimeOffset.MaxValue,
        };
        childSa.Owner = this;
        _children.Add(childSa);
        _endpoint.SetChildOwner(inboundSpi, this);
        var encr = selected.OfType(TransformType.Encryption).Single();
        _endpoint.Emit(new ChildSaInstall(now, Id, Config.Name, child.Name, inboundSpi, outboundSpi, transport, UdpEncapsulation,
            (EncrId)encr.Id, encr.KeyLengthBits, suite.Integrity?.Id ?? IntegId.None, suite.Esn,
            (byte[])inEnc.Clone(), (byte[])inInt.Clone(), (byte[])outEnc.Clone(), (byte[])outInt.Clone(),
            localTs, remoteTs, Local, Remote, child.RekeyTime, child.LifeTime));
        return childSa;
    }

    /// <summary>
    /// swanctl rand_time: a random part of it is taken off rekey_time so that two peers with the same settings
    /// rarely rekey at once (default: life_time - rekey_time).
    /// </summary>
    private TimeSpan Jitter(ChildConfig child)
    {
        var range = child.RandTime ?? (child.LifeTime - child.RekeyTime);
        if (range <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var jitter = range * RandomFraction();
        return jitter < child.RekeyTime ? jitter : TimeSpan.Zero;
    }

    private void Establish(DateTimeOffset now)
    {
        State = IkeSaState.Established;
        EstablishedAt = now;
        _lastInbound = now;
        _halfOpenDeadline = DateTimeOffset.MaxValue;
        ScheduleIkeRekey(now);
        _endpoint.Emit(new IkeSaUp(now, Id, Config.Name, SpiI, SpiR, IsOriginalInitiator, Local, Remote,
            ProposalString.Format(_ikeSelected!), Config.LocalId.ToString(), RemoteIdentity?.ToString() ?? string.Empty));
    }

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

    // ------------------------------------------------------------------------------------------------
    // MOBIKE (RFC 4555): the initiator moves the IKE SA and its CHILD SAs to a new address of its own
    // ------------------------------------------------------------------------------------------------

    private sealed record UpdateExchange(byte[] Cookie2, IPAddress? Source);

    private UpdateExchange? _update;
    private bool _updateWanted;

    /// <summary>
    /// The host's view of our addresses changed (or is reported for the first time). As MOBIKE initiator, if the
    /// address this SA uses is gone, or the route to the peer now leaves from another one, move there with
    /// UPDATE_SA_ADDRESSES (RFC 4555 §3.5; queued behind an exchange in flight, window size 1).
    /// </summary>
    internal void LocalAddressesChanged(DateTimeOffset now, IReadOnlyCollection<IPAddress> addresses, IPAddress? routeSource)
    {
        Touch();
        if (State != IkeSaState.Established || _rekeyedAway is not null)
        {
            return;
        }

        var current = IsWildcard(Local.Address) ? _pathSource : Local.Address;
        var family = Remote.Address.AddressFamily;
        var wanted = routeSource is not null && routeSource.AddressFamily == family && addresses.Contains(routeSource) ? routeSource
            : current is not null && addresses.Contains(current) ? current
            : addresses.FirstOrDefault(a => a.AddressFamily == family && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal);
        if (current is null || !IsOriginalInitiator || !MobikeNegotiated)
        {
            _pathSource ??= wanted; // learn where we are; only a MOBIKE initiator moves (RFC 4555)
            return;
        }

        if (wanted is null || wanted.Equals(current))
        {
            return; // no better address (if ours is gone, DPD or the next exchange decides)
        }

        _endpoint.EmitAlert(now, Id, $"MOBIKE: local address {current} -> {wanted}, requesting address change");
        _pathSource = wanted;
        if (!IsWildcard(Local.Address))
        {
            Local = new IPEndPoint(wanted, Local.Port);
        }

        _updateWanted = true;
        StartNextChild(now);
    }

    /// <summary>RFC 4555 §3.5: INFORMATIONAL with UPDATE_SA_ADDRESSES, NAT_DETECTION_* for the new path and COOKIE2.</summary>
    private void SendUpdateSaAddresses(DateTimeOffset now)
    {
        var cookie2 = new byte[16];
        _endpoint.Entropy.Fill(cookie2);
        var source = IsWildcard(Local.Address) ? _pathSource : Local.Address;
        _update = new UpdateExchange(cookie2, source);
        var nat = new IkeMessage();
        if (Config.ForceEncapsulation || source is null)
        {
            var fake = new byte[20];
            _endpoint.Entropy.Fill(fake);
            nat.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, fake));
        }
        else
        {
            nat.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(SpiI, SpiR, new IPEndPoint(source, Local.Port))));
        }

        nat.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(SpiI, SpiR, Remote)));
        SendInformational(now, [new NotifyPayload(NotifyType.UpdateSaAddresses), .. nat.Payloads, new NotifyPayload(NotifyType.Cookie2, cookie2)]);
    }

    private void ProcessUpdateSaAddressesResponse(DateTimeOffset now, List<IkePayload> response)
    {
        var notifies = response.OfType<NotifyPayload>().ToList();
        if (notifies.FirstOrDefault(n => n.NotifyType.IsError()) is { } error)
        {
            // UNEXPECTED_NAT_DETECTED (we sent no NO_NATS_ALLOWED, so unlikely) or anything else: the peer kept the old path.
            _endpoint.EmitAlert(now, Id, $"MOBIKE: peer refused the address update: {error.NotifyType}");
            return;
        }

        var source = notifies.Where(n => n.NotifyType == NotifyType.NatDetectionSourceIp).ToList();
        var destination = notifies.FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp);
        if (source.Count > 0 && destination is not null)
        {
            (RemoteBehindNat, LocalBehindNat) = CompareNatHashes(source, destination, SpiI, SpiR, Local, Remote, _pathSource);
            _observedMapping = destination.Data.ToArray();
            NatDetected = LocalBehindNat || RemoteBehindNat || Config.ForceEncapsulation;
        }

        StoreAdditionalAddresses(response);
        _endpoint.Emit(new IkeSaAddressesChanged(now, Id, Config.Name, Local, Remote, UdpEncapsulation,
            $"MOBIKE: moved to {_pathSource ?? Local.Address}{(LocalBehindNat ? " (behind NAT)" : string.Empty)}"));
    }

    /// <summary>
    /// The responder's side of UPDATE_SA_ADDRESSES (RFC 4555 §3.5): the request is authenticated and new (old
    /// and retransmitted message IDs never get here), so its addresses become the SA's; NAT detection runs again
    /// on the new path; COOKIE2 is echoed. With NO_NATS_ALLOWED and a NAT on the path the update is refused
    /// with UNEXPECTED_NAT_DETECTED (RFC 4555).
    /// </summary>
    private List<IkePayload> RespondUpdateSaAddresses(DateTimeOffset now, List<IkePayload> request, IPEndPoint local, IPEndPoint remote)
    {
        var notifies = request.OfType<NotifyPayload>().ToList();
        var response = new List<IkePayload>();
        if (!MobikeNegotiated || IsOriginalInitiator)
        {
            return response; // not negotiated, or the wrong side: an update we must not act on
        }

        var source = notifies.Where(n => n.NotifyType == NotifyType.NatDetectionSourceIp).ToList();
        var destination = notifies.FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp);
        var (peerBehindNat, weBehindNat) = source.Count > 0 && destination is not null
            ? CompareNatHashes(source, destination, SpiI, SpiR, local, remote, null)
            : (false, false);
        if (notifies.Any(n => n.NotifyType == NotifyType.NoNatsAllowed) && (peerBehindNat || weBehindNat))
        {
            response.Add(new NotifyPayload(NotifyType.UnexpectedNatDetected));
        }
        else
        {
            var old = Remote;
            Local = local;
            Remote = remote;
            RemoteBehindNat = peerBehindNat;
            LocalBehindNat = weBehindNat;
            NatDetected = peerBehindNat || weBehindNat || Config.ForceEncapsulation;
            _endpoint.Emit(new IkeSaAddressesChanged(now, Id, Config.Name, Local, Remote, UdpEncapsulation, $"MOBIKE: remote address changed from {old} to {remote}"));
            var nat = new IkeMessage();
            AddNatDetection(nat, SpiI, SpiR);
            response.AddRange(nat.Payloads);
        }

        if (notifies.FirstOrDefault(n => n.NotifyType == NotifyType.Cookie2) is { } cookie2)
        {
            response.Add(new NotifyPayload(NotifyType.Cookie2, cookie2.Data));
        }

        return response;
    }

    /// <summary>The hash of our address and port as the responder last saw it (NAT_DETECTION_DESTINATION_IP of its answers).</summary>
    private byte[]? _observedMapping;

    private bool _natCheckPending;

    /// <summary>
    /// A liveness check's payloads. A MOBIKE initiator behind a NAT adds NAT_DETECTION_* (as strongSwan does), so
    /// that the responder's answer shows whether the NAT mapped us to a new address or port: with MOBIKE the
    /// responder does not follow such a change by itself (no implicit updates), so we must send an update.
    /// </summary>
    private List<IkePayload> DpdPayloads()
    {
        _natCheckPending = MobikeNegotiated && IsOriginalInitiator && LocalBehindNat;
        if (!_natCheckPending)
        {
            return [];
        }

        var source = IsWildcard(Local.Address) ? _pathSource ?? Local.Address : Local.Address;
        return
        [
            new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(SpiI, SpiR, new IPEndPoint(source, Local.Port))),
            new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(SpiI, SpiR, Remote)),
        ];
    }

    /// <summary>The answer to a NAT-checking liveness check: a new (or first) mapping of ours means UPDATE_SA_ADDRESSES.</summary>
    private void CheckNatMapping(DateTimeOffset now, List<IkePayload> response)
    {
        if (!_natCheckPending)
        {
            return;
        }

        _natCheckPending = false;
        if (response.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp) is not { } seen)
        {
            return;
        }

        if (_observedMapping is { } known && seen.Data.Span.SequenceEqual(known))
        {
            return;
        }

        _observedMapping = seen.Data.ToArray();
        _endpoint.EmitAlert(now, Id, "MOBIKE: the NAT mapping may have changed, requesting address update");
        _updateWanted = true;
    }

    /// <summary>RFC 4555: ADDITIONAL_IP4/6_ADDRESS lists replace the stored ones; NO_ADDITIONAL_ADDRESSES empties them.</summary>
    private void StoreAdditionalAddresses(List<IkePayload> payloads)
    {
        if (!MobikeNegotiated)
        {
            return;
        }

        var notifies = payloads.OfType<NotifyPayload>().ToList();
        var listed = notifies
            .Where(n => (n.NotifyType == NotifyType.AdditionalIp4Address && n.Data.Length == 4) || (n.NotifyType == NotifyType.AdditionalIp6Address && n.Data.Length == 16))
            .Select(n => new IPAddress(n.Data.Span))
            .Distinct()
            .Take(16) // bounded: a peer cannot make us store an arbitrary list
            .ToList();
        if (listed.Count > 0)
        {
            PeerAdditionalAddresses = listed;
        }
        else if (notifies.Any(n => n.NotifyType == NotifyType.NoAdditionalAddresses))
        {
            PeerAdditionalAddresses = [];
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Delete and liveness
    // ------------------------------------------------------------------------------------------------

    /// <summary>Starts an INFORMATIONAL exchange deleting this IKE SA (and with it every CHILD SA).</summary>
    public void Terminate(DateTimeOffset now)
    {
        Touch();
        if (_peerIkeRekey is { } undecided)
        {
            _peerIkeRekey = null;
            undecided._redundant = true;
            undecided.Terminate(now); // (touches undecided)
        }

        if (State == IkeSaState.Established && _pending is not null && _rekeyedAway is null)
        {
            // Window size 1 (RFC 7296 §2.3): the delete goes out when the pending exchange ends. Destroying the SA
            // here would leave the peer holding it until its own DPD gave up on us.
            _deleteQueued = true;
            return;
        }

        if (State != IkeSaState.Established || _pending is not null)
        {
            Destroy(now, "terminated");
            return;
        }

        State = IkeSaState.Deleting;
        SendInformational(now, [DeletePayload.ForIke()]);
    }


    /// <summary>Rekeys this IKE SA now (swanctl --rekey --ike): at once if the window is free, else after the pending exchange.</summary>
    public bool Rekey(DateTimeOffset now)
    {
        Touch();
        if (State != IkeSaState.Established || _rekeyedAway is not null)
        {
            return false;
        }

        IkeRekeyAt = now;
        StartNextChild(now);
        return true;
    }

    /// <summary>Rekeys the CHILD SA with this inbound SPI now (swanctl --rekey --child), queued behind a pending exchange.</summary>
    public bool RekeyChild(DateTimeOffset now, uint inboundSpi)
    {
        Touch();
        if (State != IkeSaState.Established || _children.FirstOrDefault(c => c.InboundSpi == inboundSpi) is not { Replaced: false } child)
        {
            return false;
        }

        child.RekeyAt = now;
        if (!_rekeyQueue.Contains(child))
        {
            _rekeyQueue.Enqueue(child);
        }

        StartNextChild(now);
        return true;
    }

    /// <summary>Deletes the CHILD SA with this inbound SPI (swanctl --terminate --child), queued behind a pending exchange.</summary>
    public bool DeleteChild(DateTimeOffset now, uint inboundSpi)
    {
        Touch();
        if (State != IkeSaState.Established || _children.FirstOrDefault(c => c.InboundSpi == inboundSpi) is not { } child
            || _deletingChild == child || _deleteQueue.Contains(child))
        {
            return false;
        }

        child.Replaced = true; // on its way out: never rekeyed again; a peer's rekey of it gets TEMPORARY_FAILURE (§2.25.1)
        _deleteQueue.Enqueue(child);
        StartNextChild(now);
        return true;
    }

    /// <summary>Sends an empty INFORMATIONAL request (a liveness check, RFC 7296 §1.4).</summary>
    public bool SendLivenessCheck(DateTimeOffset now)
    {
        Touch();
        if (State != IkeSaState.Established || _pending is not null)
        {
            return false;
        }

        SendInformational(now, []);
        return true;
    }

    private void SendInformational(DateTimeOffset now, List<IkePayload> payloads)
    {
        SendProtectedRequest(now, ExchangeType.Informational, payloads);
        _pending!.DeletesIkeSa = payloads.OfType<DeletePayload>().Any(d => d.Protocol == ProtocolId.Ike);
    }

    /// <summary>Sends a request of an established SA with the next message ID of ours (RFC 7296 §2.3).</summary>
    private void SendProtectedRequest(DateTimeOffset now, ExchangeType exchange, List<IkePayload> payloads)
    {
        var id = _nextRequestId;
        var header = new IkeMessage
        {
            InitiatorSpi = SpiI,
            ResponderSpi = SpiR,
            ExchangeType = exchange,
            Flags = IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None,
            MessageId = id,
        };
        SendRequest(now, exchange, ProtectOutbound(header, payloads));
        _nextRequestId = id + 1;
    }

    private List<IkePayload> RespondInformational(DateTimeOffset now, List<IkePayload> request, IPEndPoint local, IPEndPoint remote, out bool destroy)
    {
        destroy = false;
        var response = new List<IkePayload>();
        StoreAdditionalAddresses(request);
        if (request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UpdateSaAddresses))
        {
            response.AddRange(RespondUpdateSaAddresses(now, request, local, remote));
        }
        else if (MobikeNegotiated && request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.NatDetectionSourceIp))
        {
            // A MOBIKE initiator's liveness check with NAT detection: tell it the address and port its request
            // came from, so that it notices a NAT that changed its mapping and updates the SA.
            response.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(SpiI, SpiR, Local)));
            response.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(SpiI, SpiR, remote)));
        }

        if (request.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.Cookie2) is { } cookie2
            && !request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UpdateSaAddresses))
        {
            response.Add(new NotifyPayload(NotifyType.Cookie2, cookie2.Data)); // RFC 4555: a return routability check
        }

        foreach (var d in request.OfType<DeletePayload>())
        {
            if (d.Protocol == ProtocolId.Ike)
            {
                // RFC 7296 §1.4.1: answer with an empty INFORMATIONAL, then the IKE SA and its children are gone.
                destroy = true;
                return [];
            }

            if (d.Protocol is ProtocolId.Esp or ProtocolId.Ah)
            {
                var ours = new List<uint>();
                foreach (var spi in d.GetSpis32())
                {
                    // A delete that crossed an IKE rekey names a CHILD SA that has moved to the successor.
                    var owner = _children.Any(c => c.OutboundSpi == spi) ? this : _successor;
                    var child = owner?._children.FirstOrDefault(c => c.OutboundSpi == spi);
                    if (child is not null)
                    {
                        // §2.25.1: closing it ourselves as well? Then the answer carries no Delete for it.
                        if (owner!._deletingChild != child)
                        {
                            ours.Add(child.InboundSpi);
                        }

                        owner.RemoveChild(now, child);
                    }
                }

                if (ours.Count > 0)
                {
                    response.Add(DeletePayload.ForChildSas(d.Protocol, ours));
                }
            }
        }

        return response;
    }

    private void RemoveChild(DateTimeOffset now, ChildSa child)
    {
        _children.Remove(child);
        _endpoint.SetChildOwner(child.InboundSpi, null);
        _endpoint.Emit(new ChildSaRemove(now, Id, child.Config.Name, child.InboundSpi, child.OutboundSpi));
    }

    // ------------------------------------------------------------------------------------------------
    // Message handling, retransmission
    // ------------------------------------------------------------------------------------------------

    private void SendRequest(DateTimeOffset now, ExchangeType exchange, List<byte[]> datagrams)
    {
        _pending = new PendingRequest { MessageId = _nextRequestId, Datagrams = datagrams, Exchange = exchange, Deadline = now + _endpoint.Settings.RetransmitTimeout };
        SendAll(now, Local, Remote, datagrams);
    }

    private void SendAll(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, List<byte[]> datagrams)
    {
        _lastSent = now;
        foreach (var d in datagrams)
        {
            _endpoint.Send(local, remote, d);
        }

        if (datagrams.Count > 1)
        {
            _endpoint.Stats.FragmentsSent += datagrams.Count;
        }
    }

    /// <summary>
    /// Protects an outbound message, as SKF fragments if fragmentation was negotiated, our configuration lets us
    /// fragment (swanctl fragmentation = yes/force, not accept) and the datagram would exceed the fragment size.
    /// </summary>
    private List<byte[]> ProtectOutbound(IkeMessage header, List<IkePayload> payloads) =>
        _keys!.ProtectMessage(header, payloads, IsOriginalInitiator, _endpoint.Entropy, MaxUnfragmentedDatagram);

    /// <summary>
    /// The largest IKE message we send in one piece: charon.fragment_size (the whole IP datagram; 1280 for IPv4 and
    /// 1232 for IPv6 by default) minus the IP and UDP headers and, on the NAT-T port, the non-ESP marker.
    /// </summary>
    internal int MaxUnfragmentedDatagram
    {
        get
        {
            if (!_fragmentation || Config.Fragmentation is not (Fragmentation.Yes or Fragmentation.Force))
            {
                return int.MaxValue;
            }

            var v4 = Remote.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork || Remote.Address.IsIPv4MappedToIPv6;
            var size = _endpoint.Settings.FragmentSize > 0 ? _endpoint.Settings.FragmentSize : (v4 ? 1280 : 1232);
            size -= (v4 ? 20 : 40) + 8;
            if (Local.Port == _endpoint.Settings.NattPort)
            {
                size -= 4;
            }

            return Math.Max(size, IkeHeader.Size + 64);
        }
    }

    /// <summary>Partly reassembled requests from the peer (tests assert that nothing lingers).</summary>
    internal FragmentReassembly? RequestFragments => _requestFragments;

    /// <summary>Partly reassembled responses from the peer.</summary>
    internal FragmentReassembly? ResponseFragments => _responseFragments;

    internal void HandleMessage(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote)
    {
        Touch();
        if (m.Payloads.Count > 0 && m.Payloads[^1] is EncryptedFragmentPayload skf)
        {
            HandleFragment(now, m, skf, datagram, local, remote);
        }
        else if (m.IsResponse)
        {
            HandleResponse(now, m, datagram, local, remote, null);
        }
        else
        {
            HandleRequest(now, m, datagram, local, remote, null);
        }
    }

    /// <summary>
    /// One Encrypted Fragment payload (RFC 7383 §2.6): checked against the message-ID window like a whole message,
    /// authenticated and decrypted before it is kept, then reassembled; the complete message takes the same path
    /// as an unfragmented one.
    /// </summary>
    private void HandleFragment(DateTimeOffset now, IkeMessage m, EncryptedFragmentPayload skf, byte[] datagram, IPEndPoint local, IPEndPoint remote)
    {
        var stats = _endpoint.Stats;
        if (!_fragmentation || _keys is null || m.ExchangeType == ExchangeType.IkeSaInit)
        {
            throw IkeProtocolException.Drop("fragment without negotiated fragmentation");
        }

        if (m.IsResponse)
        {
            if (_pending is null || m.MessageId != _pending.MessageId || m.ExchangeType != _pending.Exchange)
            {
                throw IkeProtocolException.Drop($"unexpected {m.ExchangeType} response with message ID {m.MessageId}");
            }
        }
        else
        {
            if (_lastResponse is { } last && m.MessageId == last.MessageId)
            {
                // RFC 7383 §2.6.1: a retransmitted request is answered with all fragments of the cached response,
                // once per retransmission (on its first fragment), not once per fragment.
                if (skf.FragmentNumber == 1)
                {
                    SendAll(now, local, remote, last.Datagrams);
                }
                else
                {
                    stats.Drop("fragment of a retransmitted request");
                }

                return;
            }

            if (m.MessageId != _expectedPeerRequestId)
            {
                throw IkeProtocolException.Drop($"request with message ID {m.MessageId}, expected {_expectedPeerRequestId}");
            }
        }

        var piece = _keys.UnprotectFragment(datagram, skf, !IsOriginalInitiator);
        stats.FragmentsReceived++;
        var settings = _endpoint.Settings;
        var buffer = m.IsResponse
            ? _responseFragments ??= new FragmentReassembly(settings.MaxFragments, settings.MaxPacket, settings.FragmentTimeout)
            : _requestFragments ??= new FragmentReassembly(settings.MaxFragments, settings.MaxPacket, settings.FragmentTimeout);
        switch (buffer.Add(now, m.MessageId, skf.FragmentNumber, skf.TotalFragments, skf.FirstInnerPayload, piece, out var whole, out var first))
        {
            case FragmentOutcome.Kept:
                return;
            case FragmentOutcome.Duplicate:
                stats.Drop("duplicate fragment");
                return;
            case FragmentOutcome.Stale:
                stats.Drop("stale fragment");
                return;
            case FragmentOutcome.TooLarge:
                stats.Drop("fragmented message too large");
                return;
        }

        stats.MessagesReassembled++;
        var inner = IkeMessage.DecodePayloads(first, whole);
        if (m.IsResponse)
        {
            HandleResponse(now, m, datagram, local, remote, inner);
        }
        else
        {
            HandleRequest(now, m, datagram, local, remote, inner);
        }
    }

    private void HandleResponse(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote, List<IkePayload>? reassembled)
    {
        if (_pending is null || m.MessageId != _pending.MessageId || m.ExchangeType != _pending.Exchange)
        {
            throw IkeProtocolException.Drop($"unexpected {m.ExchangeType} response with message ID {m.MessageId}");
        }

        // An SK message, or the payloads of an SKF message reassembled and authenticated fragment by fragment.
        List<IkePayload> Open() => reassembled ?? _keys!.Unprotect(datagram, m, !IsOriginalInitiator);

        switch (_pending.Exchange)
        {
            case ExchangeType.IkeSaInit:
                ProcessInitResponse(now, m, datagram);
                break;
            case ExchangeType.IkeAuth:
            {
                var inner = Open();
                FollowPeer(now, local, remote);
                _peerKnowsSa = true;
                NoteInboundTraffic(now);
                ProcessAuthResponse(now, inner);
                break;
            }

            case ExchangeType.CreateChildSa:
            {
                var inner = Open();
                FollowPeer(now, local, remote);
                _peerKnowsSa = true;
                NoteInboundTraffic(now);
                if (_ikeRekey is not null)
                {
                    ProcessIkeRekeyResponse(now, inner);
                }
                else
                {
                    ProcessCreateChildResponse(now, inner);
                }

                break;
            }

            case ExchangeType.Informational when _pending.DeletesIkeSa && _peerKnowsSa && m.Find<EncryptedPayload>() is null
                && m.Notifies(NotifyType.InvalidIkeSpi).Any():
                // Our delete was processed but its response lost: the peer, which did hold the SA, no longer knows it
                // and answers a retransmission with an unprotected INVALID_IKE_SPI (§2.21.4). Unauthenticated, but it
                // can only hasten a deletion we started anyway; otherwise the SA would linger for the whole
                // retransmission schedule.
                _pending = null;
                Destroy(now, "deleted (the peer had already removed it)");
                break;
            case ExchangeType.Informational:
                ProcessInformationalResponse(now, Open(), local, remote);
                break;

            default:
                throw IkeProtocolException.Drop($"response to unsupported exchange {_pending.Exchange}");
        }

        // Any partial response of this message ID or older is no longer needed.
        _responseFragments?.DiscardUpTo(m.MessageId);

        // Window size 1 (RFC 7296 §2.3): CHILD SA work queued behind this exchange starts now.
        if (_pending is null)
        {
            StartNextChild(now);
        }
    }

    /// <summary>
    /// The response to our INFORMATIONAL: a MOBIKE UPDATE_SA_ADDRESSES (only with our COOKIE2, RFC 4555 §3.5), a
    /// liveness check (NAT mapping, additional addresses), or a delete of the IKE SA or of a CHILD SA.
    /// </summary>
    private void ProcessInformationalResponse(DateTimeOffset now, List<IkePayload> inner, IPEndPoint local, IPEndPoint remote)
    {
        if (_update is { } update)
        {
            if (!inner.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.Cookie2 && n.Data.Span.SequenceEqual(update.Cookie2)))
            {
                throw IkeProtocolException.Drop("UPDATE_SA_ADDRESSES response without our COOKIE2");
            }

            _pending = null;
            _update = null;
            _peerKnowsSa = true;
            NoteInboundTraffic(now);
            ProcessUpdateSaAddressesResponse(now, inner);
            return;
        }

        FollowPeer(now, local, remote);
        _peerKnowsSa = true;
        NoteInboundTraffic(now);
        StoreAdditionalAddresses(inner);
        var ikeDeleted = _pending!.DeletesIkeSa;
        _pending = null;
        CheckNatMapping(now, inner);
        if (ikeDeleted)
        {
            Destroy(now, "deleted");
        }
        else if (_deletingChild is { } deleted)
        {
            _deletingChild = null;
            if (_children.Contains(deleted))
            {
                RemoveChild(now, deleted);
            }
        }
    }

    private void HandleRequest(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote, List<IkePayload>? reassembled)
    {
        // RFC 7296 §2.1/§2.3: a retransmitted request gets the cached response (all its fragments), without reprocessing.
        if (_lastResponse is { } last && m.MessageId == last.MessageId)
        {
            SendAll(now, local, remote, last.Datagrams);
            return;
        }

        if (m.MessageId != _expectedPeerRequestId || _keys is null)
        {
            throw IkeProtocolException.Drop($"request with message ID {m.MessageId}, expected {_expectedPeerRequestId}");
        }

        var request = reassembled ?? _keys.Unprotect(datagram, m, !IsOriginalInitiator);
        _requestFragments?.DiscardUpTo(m.MessageId);
        FollowPeer(now, local, remote);
        _peerKnowsSa = true;
        NoteInboundTraffic(now);
        foreach (var c in _children)
        {
            if (c.UnconfirmedSinceRequest is { } id && m.MessageId > id)
            {
                c.UnconfirmedSinceRequest = null; // the peer moved past the request that created it: it has our answer
            }
        }

        bool destroy;
        List<IkePayload> response;
        switch (m.ExchangeType)
        {
            case ExchangeType.IkeAuth when State == IkeSaState.Connecting && !IsOriginalInitiator:
                response = RespondAuth(now, request, out destroy);
                break;
            case ExchangeType.Informational when State is IkeSaState.Established or IkeSaState.Deleting:
                response = RespondInformational(now, request, local, remote, out destroy);
                break;
            case ExchangeType.CreateChildSa when State == IkeSaState.Established:
                response = RespondCreateChild(now, request);
                destroy = false;
                break;
            case ExchangeType.CreateChildSa when State == IkeSaState.Deleting:
                // §2.25.2: this SA is being closed or was rekeyed: nothing new is created on it.
                response = [new NotifyPayload(NotifyType.TemporaryFailure)];
                destroy = false;
                break;
            default:
                throw IkeProtocolException.Drop($"{m.ExchangeType} request not valid in state {State}");
        }

        var header = new IkeMessage
        {
            InitiatorSpi = SpiI,
            ResponderSpi = SpiR,
            ExchangeType = m.ExchangeType,
            Flags = IkeHeaderFlags.Response | (IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None),
            MessageId = m.MessageId,
        };
        var datagrams = ProtectOutbound(header, response);
        _lastResponse = (m.MessageId, datagrams);
        _expectedPeerRequestId = m.MessageId + 1;
        // RFC 7296 §2.11: a response goes back to the address and port the request came from (a side that does
        // not follow a peer's new address, e.g. with MOBIKE or behind a NAT, still answers where it asked from).
        SendAll(now, local, remote, datagrams);
        if (destroy)
        {
            // A delete crossing our own (both ends shutting down) is a delete too, not a failed authentication.
            Destroy(now, State is IkeSaState.Established or IkeSaState.Deleting ? "deleted by peer" : "authentication failed", closedByPeer: State == IkeSaState.Established);
        }
    }

    internal void HandleTimeout(DateTimeOffset now)
    {
        Touch();
        if ((_requestFragments?.Expire(now) == true) | (_responseFragments?.Expire(now) == true))
        {
            _endpoint.Stats.Drop("fragment reassembly timed out");
        }

        if (_rekeyedAway is { } since && State == IkeSaState.Deleting && _pending is null && now >= since + TimeSpan.FromMinutes(1))
        {
            Destroy(now, "rekeyed");
            return;
        }

        if (_redundantSince is { } r && _pending is null && now >= r + TimeSpan.FromMinutes(1))
        {
            Destroy(now, "redundant after a rekey collision, not deleted by the peer");
            return;
        }

        if (now >= _halfOpenDeadline && State == IkeSaState.Connecting)
        {
            Destroy(now, "half-open SA timed out");
            return;
        }

        if (_pending is { } p && now >= p.Deadline && !Retransmit(now, p))
        {
            return;
        }

        if (State == IkeSaState.Established && now >= ExpireAt && _rekeyedAway is null)
        {
            _endpoint.EmitAlert(now, Id, "IKE SA reached its hard lifetime (over_time) without being renewed: deleting it");
            if (_pending is not null)
            {
                Destroy(now, "hard lifetime reached"); // its keys must not be used any longer; a delete would wait for the window
            }
            else
            {
                Terminate(now);
            }

            return;
        }

        if (ReauthDue(now))
        {
            _reauthStarted = true;
            _endpoint.Reauthenticate(now, this);
        }

        if (now >= KeepAliveDue)
        {
            // RFC 3948 §2.3 / RFC 7296 §2.23: behind a NAT, keep its mapping alive when nothing else went out.
            _lastSent = now;
            _endpoint.SendKeepalive(Local, Remote);
        }

        if (State == IkeSaState.Established)
        {
            CheckChildLifetimes(now);
            if (_pending is null && now >= DpdDue)
            {
                // RFC 7296 §2.4: an empty INFORMATIONAL; if its retransmissions run out, the peer is dead.
                SendInformational(now, DpdPayloads());
            }
            else if (_pending is null && IkeRekeyDue(now))
            {
                StartIkeRekey(now);
            }
        }
    }

    /// <summary>
    /// The pending request's deadline passed: resend it on strongSwan's schedule (timeout × base^n), or give up after
    /// retransmit_tries (the SA is destroyed; returns false).
    /// </summary>
    private bool Retransmit(DateTimeOffset now, PendingRequest p)
    {
        var settings = _endpoint.Settings;
        if (p.Retransmits >= settings.RetransmitTries)
        {
            Destroy(now, $"giving up after {p.Retransmits} retransmissions of {p.Exchange}", peerDead: State == IkeSaState.Established);
            return false;
        }

        p.Retransmits++;
        p.Deadline = now + (settings.RetransmitTimeout * Math.Pow(settings.RetransmitBase, p.Retransmits));
        SendAll(now, Local, Remote, p.Datagrams);
        return true;
    }

    /// <summary>
    /// CHILD SA lifetimes (swanctl rekey_time, life_time, rand_time): a soft expiry queues a rekey; a hard expiry
    /// removes the SA at once (its keys must not be used any longer) and tells the peer.
    /// </summary>
    private void CheckChildLifetimes(DateTimeOffset now)
    {
        foreach (var child in _children.ToList())
        {
            if (now >= child.ExpireAt)
            {
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Config.Name}' {child.InboundSpi:x8}_i reached its hard lifetime");
                RemoveChild(now, child);
                if (_deletingChild != child && !_deleteQueue.Contains(child))
                {
                    _deleteQueue.Enqueue(child);
                }
            }
            else if (now >= child.RekeyAt && !child.Replaced && !_rekeyQueue.Contains(child))
            {
                _rekeyQueue.Enqueue(child);
            }
        }

        StartNextChild(now);
    }

    private void Fail(DateTimeOffset now, string reason)
    {
        _endpoint.EmitAlert(now, Id, reason);
        Destroy(now, reason);
    }

    internal void Destroy(DateTimeOffset now, string reason, bool peerDead = false, bool closedByPeer = false)
    {
        Touch();
        if (State == IkeSaState.Destroyed)
        {
            return;
        }

        var wasUp = EstablishedAt is not null;
        if (_reauthOf is { } reauthenticated && reauthenticated.State == IkeSaState.Established)
        {
            _reauthOf = null;
            reauthenticated.ReauthFailed(now);
        }

        if (_predecessor is { } predecessor)
        {
            // The peer deleted its side of a rekey collision before we decided: the collision is void (§2.8.2).
            _redundant = true;
            if (predecessor._peerIkeRekey == this)
            {
                predecessor._peerIkeRekey = null;
                predecessor.Touch();
            }
        }

        if (_peerIkeRekey is { } undecided)
        {
            // Our rekey lost or never finished, but the peer's rekey of this SA did: its SA carries on.
            _peerIkeRekey = null;
            HandOver(now, undecided);
        }

        foreach (var child in _children.ToList())
        {
            RemoveChild(now, child);
        }

        State = IkeSaState.Destroyed;
        _pending = null;
        _requestFragments?.Clear();
        _responseFragments?.Clear();
        if ((wasUp || IsOriginalInitiator) && _rekeyedAway is null && !_redundant)
        {
            _endpoint.Emit(new IkeSaDown(now, Id, Config.Name, reason, peerDead, closedByPeer, wasUp));
        }

        _endpoint.Remove(this);
        Dispose();
    }

    public void Dispose()
    {
        _ke?.Dispose();
        _keys?.Dispose();
        _ke = null;
    }
}
