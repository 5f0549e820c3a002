using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine.Tasks;

namespace Oakley.Engine;

/// <summary>
/// One IKEv2 SA: the state every exchange shares (SPIs, the peer path, the authenticated identity, keys, nonces, CHILD
/// SAs, lifetimes). The exchanges themselves are tasks (<c>Oakley.Engine.Tasks</c>) that the <see cref="TaskManager"/>
/// schedules and the <see cref="MessageWindow"/> carries. The SA reaches the endpoint only through
/// <see cref="ISaServices"/>. Not thread-safe: the endpoint that owns it serialises access.
/// </summary>
public sealed partial class IkeSa : IDisposable
{
    private readonly ISaServices _services;
    private readonly List<ChildSa> _children = [];
    private readonly PeerPath _path;
    private IkeSaKeys? _keys;
    private DateTimeOffset _halfOpenDeadline = DateTimeOffset.MaxValue;
    private IkeSaState _state = IkeSaState.Created;
    private IPAddress? _halfOpenFrom;
    private Identity? _remoteIdentity;

    /// <summary>The last time something authentic came from the peer (an IKE message, or ESP the host reported).</summary>
    private DateTimeOffset _lastInbound;

    /// <summary>The last time we sent anything on this SA (IKE, a keepalive, or ESP the host reported): keepalives fill the gaps.</summary>
    private DateTimeOffset _lastSent;

    internal IkeSa(ISaServices services, long id, IkeConfig config, bool initiator, ulong spiI, ulong spiR, IPEndPoint local, IPEndPoint remote, DateTimeOffset now)
        : this(services, id, config, initiator, spiI, spiR, new PeerPath(local, remote), now)
    {
    }

    private IkeSa(ISaServices services, long id, IkeConfig config, bool initiator, ulong spiI, ulong spiR, PeerPath path, DateTimeOffset now)
    {
        _services = services;
        Id = id;
        Config = config;
        IsOriginalInitiator = initiator;
        SpiI = spiI;
        SpiR = spiR;
        _path = path;
        Created = now;
        Tasks = new TaskManager(this);
    }

    public long Id { get; }

    public IkeConfig Config { get; internal set; }

    public bool IsOriginalInitiator { get; }

    public ulong SpiI { get; }

    public ulong SpiR { get; internal set; }

    public ulong LocalSpi => IsOriginalInitiator ? SpiI : SpiR;

    public DateTimeOffset Created { get; }

    public DateTimeOffset? EstablishedAt { get; private set; }

    public IPEndPoint Local => _path.Local;

    public IPEndPoint Remote => _path.Remote;

    /// <summary>True once NAT detection (RFC 7296 §2.23) found a NAT (or <c>encap = yes</c> faked one).</summary>
    public bool NatDetected => _path.NatDetected;

    /// <summary>NAT detection found a NAT in front of us (our NAT_DETECTION_DESTINATION_IP hash did not match): we send keepalives.</summary>
    public bool LocalBehindNat => _path.LocalBehindNat;

    /// <summary>NAT detection found a NAT in front of the peer (or the peer fakes one).</summary>
    public bool RemoteBehindNat => _path.RemoteBehindNat;

    /// <summary>Both sides sent MOBIKE_SUPPORTED in IKE_AUTH (RFC 4555): addresses change only with UPDATE_SA_ADDRESSES.</summary>
    public bool MobikeNegotiated => _path.MobikeNegotiated;

    /// <summary>The peer's additional addresses (RFC 4555: ADDITIONAL_IP4/6_ADDRESS; empty after NO_ADDITIONAL_ADDRESSES).</summary>
    public IReadOnlyList<IPAddress> PeerAdditionalAddresses => _path.PeerAdditionalAddresses;

    /// <summary>ESP is UDP-encapsulated: a NAT was detected, or IKE floated to the NAT-T port without MOBIKE (a peer floats only for a NAT then).</summary>
    public bool UdpEncapsulation => NatDetected || (Local.Port == _services.Settings.NattPort && !MobikeNegotiated);

    public IkeSaState State
    {
        get => _state;
        internal set
        {
            _state = value;
            if (value != IkeSaState.Connecting)
            {
                EndHalfOpen(); // established, deleting or destroyed: no longer half-open
            }
        }
    }

    public Identity? RemoteIdentity
    {
        get => _remoteIdentity;
        internal set
        {
            var old = _remoteIdentity;
            _remoteIdentity = value;
            _services.Apply(new SaTableChange(SaTableChangeKind.RemoteIdentityChanged, this, OldIdentity: old));
        }
    }

    public NegotiatedSuite? Suite => _keys?.Suite;

    public IReadOnlyList<ChildSa> Children => _children;

    /// <summary>The SA's message protection (tests read, decrypt and forge protected messages with it; never logged).</summary>
    internal IkeSaKeys? Keys => _keys;

    internal ISaServices Services => _services;

    internal PeerPath Path => _path;

    internal MessageWindow Window { get; } = new();

    internal TaskManager Tasks { get; }

    /// <summary>Our nonce and the peer's of IKE_SA_INIT (or of the rekey that made this SA): the first CHILD SA's KEYMAT and AUTH use them.</summary>
    internal byte[] NonceI { get; set; } = [];

    internal byte[] NonceR { get; set; } = [];

    /// <summary>RealMessage1 and RealMessage2 (RFC 7296 §2.15): the IKE_SA_INIT messages AUTH covers.</summary>
    internal byte[] InitRequest { get; set; } = [];

    internal byte[] InitResponse { get; set; } = [];

    /// <summary>The IKE proposal IKE_SA_INIT (or the rekey) agreed.</summary>
    internal AlgorithmProposal? IkeSelected { get; private set; }

    /// <summary>An authenticated message of the peer showed that it holds this SA (not yet true of a fresh rekey successor).</summary>
    internal bool PeerKnowsSa { get; set; }

    /// <summary>The key under which the endpoint finds this SA for a retransmitted IKE_SA_INIT (responders only).</summary>
    internal (IPEndPoint Remote, ulong SpiI)? InitRequestKey { get; set; }

    /// <summary>Partly reassembled requests from the peer (tests assert that nothing lingers).</summary>
    internal FragmentReassembly? RequestFragments => Window.RequestFragments;

    /// <summary>Partly reassembled responses from the peer.</summary>
    internal FragmentReassembly? ResponseFragments => Window.ResponseFragments;

    // TimerQueue's bookkeeping: the deadline of this SA's live queue entry, whether it is in the queue at all, and
    // whether its deadline must be recomputed before the queue is read.
    internal DateTimeOffset TimerAt { get; set; } = DateTimeOffset.MaxValue;

    internal bool TimerLive { get; set; }

    internal bool TimerDirty { get; set; }

    /// <summary>Marks this SA's deadline for recomputation: every entry point that changes state calls it.</summary>
    internal void Touch() => _services.Apply(new SaTableChange(SaTableChangeKind.Touched, this));

    /// <summary>Keys from IKE_SA_INIT or a rekey, with the proposal they belong to.</summary>
    internal void SetKeys(AlgorithmProposal selected, IkeSaKeys keys)
    {
        IkeSelected = selected;
        _keys?.Dispose();
        _keys = keys;
    }

    /// <summary>The host saw ESP from the peer on one of this SA's CHILD SAs: the peer is alive (no DPD needed).</summary>
    internal void NoteInboundTraffic(DateTimeOffset now)
    {
        if (now > _lastInbound)
        {
            _lastInbound = now;
        }
    }

    /// <summary>The host sent ESP on one of this SA's CHILD SAs: it refreshes the NAT mapping as a keepalive would.</summary>
    internal void NoteOutboundTraffic(DateTimeOffset now)
    {
        if (now > _lastSent)
        {
            _lastSent = now;
        }
    }

    /// <summary>Counts this responder SA as half-open (against the source of its IKE_SA_INIT) until it leaves Connecting.</summary>
    internal void BeginHalfOpen(DateTimeOffset now)
    {
        Touch();
        _halfOpenDeadline = now + _services.Settings.HalfOpenTimeout;
        _halfOpenFrom = Remote.Address;
        _services.Apply(new SaTableChange(SaTableChangeKind.HalfOpenBegun, this, Source: _halfOpenFrom));
    }

    private void EndHalfOpen()
    {
        if (_halfOpenFrom is { } source)
        {
            _halfOpenFrom = null;
            _services.Apply(new SaTableChange(SaTableChangeKind.HalfOpenEnded, this, Source: source));
        }
    }

    private DateTimeOffset DpdDue => Config.DpdDelay > TimeSpan.Zero && !IsRekeyedAway && !_redundant && _predecessor is null ? _lastInbound + Config.DpdDelay : DateTimeOffset.MaxValue;

    private DateTimeOffset KeepAliveDue =>
        State == IkeSaState.Established && LocalBehindNat && !IsRekeyedAway && _services.Settings.KeepAliveInterval > TimeSpan.Zero
            ? _lastSent + _services.Settings.KeepAliveInterval
            : DateTimeOffset.MaxValue;

    /// <summary>The next time this SA needs <see cref="HandleTimeout"/>.</summary>
    public DateTimeOffset NextDeadline
    {
        get
        {
            var pending = !Window.IsFree;
            var d = Window.Deadline;
            d = d < _halfOpenDeadline ? d : _halfOpenDeadline;
            d = Min(d, pending ? DateTimeOffset.MaxValue : SuccessionDeadline);
            if (State != IkeSaState.Established)
            {
                return d;
            }

            d = Min(d, pending ? DateTimeOffset.MaxValue : DpdDue);
            d = Min(d, KeepAliveDue);
            d = Min(d, pending ? DateTimeOffset.MaxValue : Tasks.WorkDue(Created));
            d = Min(d, !_reauthStarted && !IsRekeyedAway ? ReauthAt : DateTimeOffset.MaxValue);
            d = Min(d, ExpireAt);
            foreach (var c in _children)
            {
                // A rekey waits for the window; it is due again when the pending exchange ends.
                var next = c.Replaced || (pending && c.RekeyAt <= d) ? c.ExpireAt : Min(c.RekeyAt, c.ExpireAt);
                d = Min(d, next);
            }

            return d;
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
