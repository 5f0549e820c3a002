using System.Net;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine;

/// <summary>A datagram the host must send (non-ESP-marker framing on port 4500 is the host's job).</summary>
public sealed record Transmit(IPEndPoint Local, IPEndPoint Remote, byte[] Datagram)
{
    /// <summary>
    /// A NAT keepalive (RFC 3948 §2.3): the one byte 0xFF, sent as-is on the NAT-T port, without the non-ESP marker.
    /// </summary>
    public bool NatKeepalive { get; init; }
}

/// <summary>IKE SA states, as <c>list-sas</c> shows them.</summary>
public enum IkeSaState
{
    Created,
    Connecting,
    Established,
    Deleting,
    Destroyed,
}

/// <summary>Something the host (or a test) must learn about. Polled with <see cref="Endpoint.TryPollEvent"/>.</summary>
public abstract record EngineEvent(DateTimeOffset Time);

/// <summary>
/// The IKE SA is up. <paramref name="EapIdentity"/>: the identity the peer authenticated as with EAP (as gateway).
/// <paramref name="Handshake"/>: how long it took, from our first IKE_SA_INIT request (initiator) or the peer's that
/// created the SA (responder) until now (the handshake latency of the host's metrics).
/// </summary>
public sealed record IkeSaUp(DateTimeOffset Time, long IkeSaId, string Name, ulong SpiI, ulong SpiR, bool IsInitiator,
    IPEndPoint Local, IPEndPoint Remote, string Algorithms, string LocalId, string RemoteId, string? EapIdentity = null,
    TimeSpan Handshake = default) : EngineEvent(Time);

/// <summary>As gateway we leased <paramref name="Addresses"/> to <paramref name="Holder"/> (the peer's EAP or IKE identity) from a pool.</summary>
public sealed record VirtualIpsLeased(DateTimeOffset Time, long IkeSaId, string Name, string Holder, IReadOnlyList<IPAddress> Addresses) : EngineEvent(Time);

/// <summary>The IKE SA was rekeyed (RFC 7296 §2.18): same unique ID and CHILD SAs, new SPIs and keys.</summary>
public sealed record IkeSaRekeyed(DateTimeOffset Time, long IkeSaId, string Name, ulong OldSpiI, ulong OldSpiR, ulong SpiI, ulong SpiR) : EngineEvent(Time);

/// <summary>
/// The IKE SA is gone. <paramref name="PeerDead"/>: an established SA whose peer stopped answering (DPD or any
/// exchange retransmitted to exhaustion; swanctl dpd_action applies). <paramref name="ClosedByPeer"/>: the peer
/// deleted it (swanctl close_action applies). <paramref name="WasEstablished"/> false: an initiation that failed
/// (swanctl keyingtries counts these).
/// </summary>
public sealed record IkeSaDown(DateTimeOffset Time, long IkeSaId, string Name, string Reason, bool PeerDead = false, bool ClosedByPeer = false, bool WasEstablished = true) : EngineEvent(Time);

/// <summary>
/// What an ESP data plane needs to install one CHILD SA pair (keys are secrets: never log them).
/// <paramref name="RekeysInboundSpi"/>: the inbound SPI of the CHILD SA this one rekeys (a CREATE_CHILD_SA with
/// REKEY_SA, either side), null for a new CHILD SA.
/// </summary>
public sealed record ChildSaInstall(DateTimeOffset Time, long IkeSaId, string IkeName, string ChildName, uint InboundSpi, uint OutboundSpi,
    bool TransportMode, bool UdpEncapsulation, EncrId Encryption, int EncryptionKeyBits, IntegId Integrity, bool Esn,
    byte[] InboundEncryptionKey, byte[] InboundIntegrityKey, byte[] OutboundEncryptionKey, byte[] OutboundIntegrityKey,
    IReadOnlyList<TrafficSelectorRange> LocalTs, IReadOnlyList<TrafficSelectorRange> RemoteTs,
    IPEndPoint Local, IPEndPoint Remote, TimeSpan RekeyTime, TimeSpan LifeTime, uint? RekeysInboundSpi = null) : EngineEvent(Time);

/// <summary>
/// The gateway assigned us virtual IPs and attributes in its CFG_REPLY (we asked with <c>vips</c>): the host puts the
/// addresses on its TUN device, routes the CHILD SAs' remote selectors from them, and sets the DNS servers. They go
/// with the IKE SA (<see cref="IkeSaDown"/>); an IKE rekey keeps them (<see cref="IkeSaRekeyed"/>).
/// </summary>
public sealed record VirtualIpsAssigned(DateTimeOffset Time, long IkeSaId, string Name, IReadOnlyList<IPAddress> Addresses,
    IReadOnlyList<IPAddress> Dns, IReadOnlyList<IPAddress> Nbns) : EngineEvent(Time);

/// <summary>
/// The IKE SA's addresses changed: a NATed peer's new address/port (RFC 7296 §2.23) or a MOBIKE update (RFC 4555
/// §3.5). Every CHILD SA of the IKE SA must send ESP to <paramref name="Remote"/> from now on, UDP-encapsulated if
/// <paramref name="UdpEncapsulation"/>; the SAs themselves (SPIs, keys, sequence numbers) stay as they are.
/// </summary>
public sealed record IkeSaAddressesChanged(DateTimeOffset Time, long IkeSaId, string Name, IPEndPoint Local, IPEndPoint Remote,
    bool UdpEncapsulation, string Reason) : EngineEvent(Time);

public sealed record ChildSaRemove(DateTimeOffset Time, long IkeSaId, string ChildName, uint InboundSpi, uint OutboundSpi) : EngineEvent(Time);

/// <summary>
/// A CHILD SA we asked for (in IKE_AUTH or CREATE_CHILD_SA, not a rekey) was not created: the peer refused it
/// (<paramref name="Reason"/> names its notify, e.g. TS_UNACCEPTABLE) or answered with something we did not offer.
/// The IKE SA stays up. Also reported as an <see cref="Alert"/>.
/// </summary>
public sealed record ChildSaFailed(DateTimeOffset Time, long IkeSaId, string IkeName, string ChildName, string Reason) : EngineEvent(Time);

/// <summary>
/// A condition an operator should see (rate-limited by the host). <paramref name="RefusedConnection"/> is set when a
/// responder refused what the peer asked of that connection: its IKE proposal, its authentication, a CHILD SA's
/// proposal or selectors. A refused IKE SA goes without an <see cref="IkeSaDown"/> (it never was up), and a refused CHILD
/// SA leaves its IKE SA up, so this is where the connection's last failure is learned (list-conns, the metrics).
/// </summary>
public sealed record Alert(DateTimeOffset Time, long IkeSaId, string Message, string? RefusedConnection = null) : EngineEvent(Time);

/// <summary>
/// What a reload did to the running IKE SAs: <paramref name="Deleted"/> (their connection went or its negotiation
/// changed), <paramref name="Updated"/> (the new configuration taken over in place: lifetimes, DPD, children) and
/// <paramref name="Unchanged"/>.
/// </summary>
public readonly record struct ReloadReport(int Deleted, int Updated, int Unchanged);
