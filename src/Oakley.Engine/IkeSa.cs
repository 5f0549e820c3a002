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

/// <summary>
/// One IKEv2 SA: its message-ID windows (window size 1, RFC 7296 §2.3), retransmission state, cached last
/// response, keys and CHILD SAs. It runs IKE_SA_INIT, IKE_AUTH with PSK (the first CHILD SA inside it) and
/// INFORMATIONAL (delete and liveness). Not thread-safe: the endpoint that owns it serialises access.
/// </summary>
public sealed partial class IkeSa : IDisposable
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
}
