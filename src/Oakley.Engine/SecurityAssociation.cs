using System.Net;

namespace Oakley.Engine;

/// <summary>
/// The version-neutral core of an IKE SA: who it is (unique ID, connection, role, SPIs or ISAKMP cookies), where the
/// peer is (<see cref="PeerPath"/>), whom it authenticated, its CHILD SAs, and when traffic last went either way. The
/// changes the endpoint's tables must know about (identity, CHILD SAs, deadlines) are reported from here as
/// <see cref="SaTableChange"/>s. IKEv2's <see cref="IkeSa"/> builds on it with its message window and tasks; IKEv1 will
/// add its own message layer and task set beside it, on the same core.
/// </summary>
public abstract class SecurityAssociation
{
    private protected readonly ISaServices _services;
    private protected readonly List<ChildSa> _children = [];
    private protected readonly PeerPath _path;
    private Identity? _remoteIdentity;

    /// <summary>The last time something authentic came from the peer (an IKE message, or ESP the host reported).</summary>
    private protected DateTimeOffset _lastInbound;

    /// <summary>The last time we sent anything on this SA (IKE, a keepalive, or ESP the host reported): keepalives fill the gaps.</summary>
    private protected DateTimeOffset _lastSent;

    private protected SecurityAssociation(ISaServices services, long id, IkeConfig config, bool initiator, ulong spiI, ulong spiR, PeerPath path, DateTimeOffset now)
    {
        _services = services;
        Id = id;
        Config = config;
        IsOriginalInitiator = initiator;
        SpiI = spiI;
        SpiR = spiR;
        _path = path;
        Created = now;
    }

    /// <summary>The unique ID the host sees (kept across rekeys).</summary>
    public long Id { get; }

    public IkeConfig Config { get; internal set; }

    public bool IsOriginalInitiator { get; }

    public ulong SpiI { get; }

    public ulong SpiR { get; internal set; }

    public ulong LocalSpi => IsOriginalInitiator ? SpiI : SpiR;

    public DateTimeOffset Created { get; }

    public DateTimeOffset? EstablishedAt { get; private protected set; }

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

    /// <summary>The authenticated peer identity (the endpoint's identity index follows it).</summary>
    public Identity? RemoteIdentity
    {
        get => _remoteIdentity;
        internal set
        {
            var old = _remoteIdentity;
            _remoteIdentity = value;
            _services.Apply(new SaTableChange(SaTableChangeKind.RemoteIdentityChanged, Self, OldIdentity: old));
        }
    }

    public IReadOnlyList<ChildSa> Children => _children;

    /// <summary>The next time this SA needs its timeout handled.</summary>
    public abstract DateTimeOffset NextDeadline { get; }

    internal ISaServices Services => _services;

    internal PeerPath Path => _path;

    // TimerQueue's bookkeeping: the deadline of this SA's live queue entry, whether it is in the queue at all, and
    // whether its deadline must be recomputed before the queue is read.
    internal DateTimeOffset TimerAt { get; set; } = DateTimeOffset.MaxValue;

    internal bool TimerLive { get; set; }

    internal bool TimerDirty { get; set; }

    /// <summary>The SA as the endpoint's tables hold it (they index IKEv2 SAs today).</summary>
    private protected abstract IkeSa Self { get; }

    /// <summary>Marks this SA's deadline for recomputation: every entry point that changes state calls it.</summary>
    internal void Touch() => _services.Apply(new SaTableChange(SaTableChangeKind.Touched, Self));

    /// <summary>The CHILD SA whose outbound SPI (the one the peer receives on) is <paramref name="spi"/>.</summary>
    internal ChildSa? ChildByOutboundSpi(uint spi) => _children.FirstOrDefault(c => c.OutboundSpi == spi);

    internal bool Holds(ChildSa child) => _children.Contains(child);

    /// <summary>Takes a CHILD SA into this SA (a new one, or one handed over by a rekeyed predecessor).</summary>
    private protected void AdoptChild(ChildSa child)
    {
        child.Owner = Self;
        _children.Add(child);
        _services.Apply(new SaTableChange(SaTableChangeKind.ChildAdded, Self, child.InboundSpi));
    }

    internal void RemoveChild(DateTimeOffset now, ChildSa child)
    {
        _children.Remove(child);
        _services.Apply(new SaTableChange(SaTableChangeKind.ChildRemoved, Self, child.InboundSpi));
        _services.Emit(new ChildSaRemove(now, Id, child.Config.Name, child.InboundSpi, child.OutboundSpi));
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
}
