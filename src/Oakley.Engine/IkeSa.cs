using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Crypto.Signature;
using Oakley.Engine.Tasks;

namespace Oakley.Engine;

/// <summary>
/// One IKEv2 SA: on the version-neutral core (<see cref="SecurityAssociation"/>: SPIs, the peer path, the authenticated
/// identity, CHILD SAs, traffic times) the state IKEv2's exchanges share (state, keys, nonces, lifetimes). The
/// exchanges themselves are tasks (<c>Oakley.Engine.Tasks</c>) that the <see cref="TaskManager"/> schedules and the
/// <see cref="MessageWindow"/> carries. The SA reaches the endpoint only through
/// <see cref="ISaServices"/>. Not thread-safe: the endpoint that owns it serialises access.
/// </summary>
public sealed partial class IkeSa : SecurityAssociation, IDisposable
{
    private IkeSaKeys? _keys;
    private DateTimeOffset _halfOpenDeadline = DateTimeOffset.MaxValue;
    private IkeSaState _state = IkeSaState.Created;
    private IPAddress? _halfOpenFrom;

    internal IkeSa(ISaServices services, long id, IkeConfig config, bool initiator, ulong spiI, ulong spiR, IPEndPoint local, IPEndPoint remote, DateTimeOffset now)
        : this(services, id, config, initiator, spiI, spiR, new PeerPath(local, remote), now)
    {
    }

    private IkeSa(ISaServices services, long id, IkeConfig config, bool initiator, ulong spiI, ulong spiR, PeerPath path, DateTimeOffset now)
        : base(services, id, config, initiator, spiI, spiR, path, now)
    {
        Tasks = new TaskManager(this);
    }

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

    public NegotiatedSuite? Suite => _keys?.Suite;

    /// <summary>The SA's message protection (tests read, decrypt and forge protected messages with it; never logged).</summary>
    internal IkeSaKeys? Keys => _keys;

    internal MessageWindow Window { get; } = new();

    internal TaskManager Tasks { get; }

    /// <summary>Our nonce and the peer's of IKE_SA_INIT (or of the rekey that made this SA): the first CHILD SA's KEYMAT and AUTH use them.</summary>
    internal byte[] NonceI { get; set; } = [];

    internal byte[] NonceR { get; set; } = [];

    /// <summary>RealMessage1 and RealMessage2 (RFC 7296 §2.15): the IKE_SA_INIT messages AUTH covers.</summary>
    internal byte[] InitRequest { get; set; } = [];

    internal byte[] InitResponse { get; set; } = [];

    /// <summary>
    /// The hashes the peer's SIGNATURE_HASH_ALGORITHMS listed in IKE_SA_INIT (RFC 7427 §4), null when it sent none:
    /// a signature authenticator signs with RFC 7427 only then. Dropped with the IKE_SA_INIT state.
    /// </summary>
    internal IReadOnlyCollection<SignatureHash>? PeerSignatureHashes { get; set; }

    /// <summary>
    /// The CAs the peer's CERTREQ payloads named (SHA-1 of their public keys; RFC 7296 §3.7), empty when it sent an
    /// empty CERTREQ, null when it sent none. The responder's arrive in IKE_SA_INIT, the initiator's in IKE_AUTH.
    /// </summary>
    internal IReadOnlyList<byte[]>? PeerCertificateRequests { get; set; }

    /// <summary>
    /// IKE_AUTH is over and the SA is up: the IKE_SA_INIT messages and nonces go (issue 14's per-SA budget). Only the
    /// AUTH payloads sign them (RFC 7296 §2.15), and the CHILD SAs of IKE_AUTH took their KEYMAT from these nonces in
    /// the same exchange (§2.17); every later CREATE_CHILD_SA and IKE rekey carries nonces of its own (§1.3, §2.18).
    /// SK_pi and SK_pr (AUTH's keys) go too, and the SK_e ciphers free their native contexts (keyed again from SK_e
    /// when the next message comes).
    /// </summary>
    internal void ForgetIkeSaInit()
    {
        InitRequest = [];
        InitResponse = [];
        NonceI = [];
        NonceR = [];
        PeerSignatureHashes = null;
        PeerCertificateRequests = null;
        _keys?.Trim();
    }

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

    private protected override IkeSa Self => this;

    /// <summary>Keys from IKE_SA_INIT or a rekey, with the proposal they belong to.</summary>
    internal void SetKeys(AlgorithmProposal selected, IkeSaKeys keys)
    {
        IkeSelected = selected;
        _keys?.Dispose();
        _keys = keys;
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
    public override DateTimeOffset NextDeadline
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
