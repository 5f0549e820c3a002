using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine;

/// <summary>A CHILD SA's configuration (swanctl <c>children.&lt;name&gt;</c>).</summary>
public sealed class ChildConfig
{
    public required string Name { get; init; }

    public IReadOnlyList<TrafficSelectorRange> LocalTs { get; init; } = [];

    public IReadOnlyList<TrafficSelectorRange> RemoteTs { get; init; } = [];

    public IReadOnlyList<AlgorithmProposal> EspProposals { get; init; } = ProposalString.ParseList("default", ProtocolId.Esp);

    public bool TransportMode { get; init; }

    /// <summary>swanctl's <c>dynamic</c> in local_ts: the SA's own address as a host selector.</summary>
    public bool LocalTsDynamic { get; init; }

    /// <summary>swanctl's <c>dynamic</c> in remote_ts: the peer's address as a host selector.</summary>
    public bool RemoteTsDynamic { get; init; }

    public IReadOnlyList<TrafficSelectorRange> EffectiveLocalTs(IPAddress local) =>
        LocalTsDynamic ? [.. LocalTs, TrafficSelectorRange.Host(local)] : LocalTs;

    public IReadOnlyList<TrafficSelectorRange> EffectiveRemoteTs(IPAddress remote) =>
        RemoteTsDynamic ? [.. RemoteTs, TrafficSelectorRange.Host(remote)] : RemoteTs;

    /// <summary><c>dynamic</c> in local_ts as <paramref name="dynamic"/> (our address, or our virtual IPs).</summary>
    public IReadOnlyList<TrafficSelectorRange> EffectiveLocalTs(IReadOnlyList<TrafficSelectorRange> dynamic) =>
        LocalTsDynamic ? [.. LocalTs, .. dynamic] : LocalTs;

    /// <summary><c>dynamic</c> in remote_ts as <paramref name="dynamic"/> (the peer's address, or the virtual IPs we assigned it).</summary>
    public IReadOnlyList<TrafficSelectorRange> EffectiveRemoteTs(IReadOnlyList<TrafficSelectorRange> dynamic) =>
        RemoteTsDynamic ? [.. RemoteTs, .. dynamic] : RemoteTs;

    public TimeSpan RekeyTime { get; init; } = TimeSpan.FromHours(1);

    public TimeSpan LifeTime { get; init; } = TimeSpan.FromHours(1.1);

    /// <summary>swanctl rand_time: up to this much is subtracted at random from rekey_time; null means life_time - rekey_time.</summary>
    public TimeSpan? RandTime { get; init; }

    /// <summary>swanctl rekey_bytes / life_bytes / rekey_packets / life_packets (per SA direction; 0: no limit).</summary>
    public ulong RekeyBytes { get; init; }

    public ulong LifeBytes { get; init; }

    public ulong RekeyPackets { get; init; }

    public ulong LifePackets { get; init; }

    /// <summary>What a CHILD SA's policy rests on: its name, selectors and mode (a reload that changes them replaces the CHILD SA).</summary>
    public string SelectorFingerprint() =>
        $"{Name}:{string.Join(",", LocalTs)}:{LocalTsDynamic}:{string.Join(",", RemoteTs)}:{RemoteTsDynamic}:{TransportMode}";

    /// <summary>Lifetimes and volume limits (a reload that changes only these reschedules the running CHILD SAs).</summary>
    public string LifetimeFingerprint() => $"{RekeyTime}:{LifeTime}:{RandTime}:{RekeyBytes}:{LifeBytes}:{RekeyPackets}:{LifePackets}";
}

/// <summary>An IKE SA's configuration (swanctl <c>connections.&lt;name&gt;</c>) as the engine consumes it.</summary>
public sealed class IkeConfig
{
    public required string Name { get; init; }

    public IReadOnlyList<IPAddress> LocalAddresses { get; init; } = [];

    /// <summary>Empty means any peer (a responder-only connection).</summary>
    public IReadOnlyList<IPAddress> RemoteAddresses { get; init; } = [];

    public int RemotePort { get; init; } = 500;

    public IReadOnlyList<AlgorithmProposal> Proposals { get; init; } = ProposalString.ParseList("default", ProtocolId.Ike);

    public required Identity LocalId { get; init; }

    /// <summary>Null accepts any identity that the secrets authenticate.</summary>
    public Identity? RemoteId { get; init; }

    /// <summary>swanctl <c>local</c>: how we authenticate (PSK unless configured otherwise).</summary>
    public AuthConfig LocalAuth { get; init; } = AuthConfig.Psk;

    /// <summary>swanctl <c>remote</c>: how the peer must authenticate.</summary>
    public AuthConfig RemoteAuth { get; init; } = AuthConfig.Psk;

    /// <summary>
    /// swanctl <c>local-2</c>, <c>local-3</c>, …: our further authentication rounds (RFC 4739), in order, after
    /// <see cref="LocalAuth"/>; e.g. a machine certificate first, then the user with EAP.
    /// </summary>
    public IReadOnlyList<AuthConfig> MoreLocalAuth { get; init; } = [];

    /// <summary>swanctl <c>remote-2</c>, …: the further rounds the peer must complete (RFC 4739).</summary>
    public IReadOnlyList<AuthConfig> MoreRemoteAuth { get; init; } = [];

    /// <summary>swanctl <c>send_cert</c> (default ifasked).</summary>
    public SendCertPolicy SendCert { get; init; } = SendCertPolicy.IfAsked;

    /// <summary>swanctl <c>send_certreq</c> (default yes): ask for certificates issued by our trusted CAs.</summary>
    public bool SendCertReq { get; init; } = true;

    public IReadOnlyList<ChildConfig> Children { get; init; } = [];

    /// <summary>swanctl <c>vips</c>: the virtual IPs we request in a CFG_REQUEST (<c>0.0.0.0</c>, <c>::</c>: any).</summary>
    public IReadOnlyList<IPAddress> Vips { get; init; } = [];

    /// <summary>swanctl <c>pools</c>: the pools (<see cref="Pools.PoolConfig"/>) that serve the peer's CFG_REQUEST, in order.</summary>
    public IReadOnlyList<string> Pools { get; init; } = [];

    /// <summary>
    /// swanctl <c>encap = yes</c>: force UDP encapsulation of ESP by faking the NAT_DETECTION_SOURCE_IP hash, so
    /// that both sides float to port 4500 even without a NAT (as strongSwan does).
    /// </summary>
    public bool ForceEncapsulation { get; init; }

    /// <summary>Send INITIAL_CONTACT in IKE_AUTH (strongSwan does unless <c>unique = never</c>).</summary>
    public bool SendInitialContact { get; init; } = true;

    public TimeSpan RekeyTime { get; init; } = TimeSpan.FromHours(4);

    /// <summary>swanctl reauth_time: a new IKE SA (IKE_SA_INIT + IKE_AUTH) replaces this one, make-before-break; zero disables.</summary>
    public TimeSpan ReauthTime { get; init; }

    /// <summary>swanctl over_time: the hard IKE SA lifetime beyond rekey/reauth time (default 10% of the longer of the two).</summary>
    public TimeSpan? OverTime { get; init; }

    /// <summary>swanctl rand_time: up to this much is taken off rekey/reauth time at random (default over_time).</summary>
    public TimeSpan? RandTime { get; init; }

    /// <summary>swanctl unique: what to do with an older IKE SA with the same peer identity.</summary>
    public UniquePolicy Unique { get; init; } = UniquePolicy.No;

    public TimeSpan EffectiveOverTime => OverTime ?? (RekeyTime > ReauthTime ? RekeyTime : ReauthTime) * 0.1;

    /// <summary>
    /// swanctl dpd_delay: after this long without anything from the peer (IKE, or ESP reported by the host with
    /// <see cref="Endpoint.NoteInboundTraffic"/>) an empty INFORMATIONAL checks that it is alive; zero disables.
    /// </summary>
    public TimeSpan DpdDelay { get; init; }

    /// <summary>swanctl <c>fragmentation</c>: IKE fragmentation (RFC 7383); strongSwan's default is yes.</summary>
    public Fragmentation Fragmentation { get; init; } = Fragmentation.Yes;

    /// <summary>swanctl <c>mobike</c> (default yes): offer MOBIKE (RFC 4555) in IKE_AUTH; as initiator, move to the NAT-T port after IKE_SA_INIT.</summary>
    public bool Mobike { get; init; } = true;

    /// <summary>A canonical description of the whole connection, children included, to tell whether a reload changed anything.</summary>
    public string Fingerprint() => string.Join("|", NegotiationFingerprint(), RekeyTime, ReauthTime, OverTime, RandTime, Unique, DpdDelay, SendCert, SendCertReq, SendInitialContact,
        string.Join(",", Pools), string.Join(";", Children.Select(c => $"{c.SelectorFingerprint()}:{ProposalString.FormatList(c.EspProposals)}:{c.LifetimeFingerprint()}")));

    /// <summary>
    /// What an established IKE SA was negotiated and authenticated on: addresses, proposals, identities, authentication
    /// rounds, virtual IPs, encapsulation, fragmentation and MOBIKE. A reload that changes any of it replaces the SA; one
    /// that changes only the rest (lifetimes, DPD, unique, certificate sending, pools, children) updates it in place
    /// (<see cref="IkeSa.Adopt"/>).
    /// </summary>
    public string NegotiationFingerprint() => string.Join("|",
        Name, string.Join(",", LocalAddresses), string.Join(",", RemoteAddresses), RemotePort, ProposalString.FormatList(Proposals),
        LocalId, RemoteId?.ToString() ?? "%any", LocalAuth.Fingerprint(), RemoteAuth.Fingerprint(), string.Join(";", MoreLocalAuth.Select(a => a.Fingerprint())),
        string.Join(";", MoreRemoteAuth.Select(a => a.Fingerprint())), string.Join(",", Vips), ForceEncapsulation, Fragmentation, Mobike);
}

/// <summary>
/// swanctl <c>unique</c>: <c>no</c> keeps duplicates unless the peer sends INITIAL_CONTACT; <c>never</c> keeps them even
/// then; <c>replace</c> deletes the older IKE SA; <c>keep</c> refuses the newer one.
/// </summary>
public enum UniquePolicy
{
    No,
    Never,
    Keep,
    Replace,
}

/// <summary>swanctl <c>fragmentation</c> values (RFC 7383 IKE fragmentation).</summary>
public enum Fragmentation
{
    /// <summary>Do not announce IKEV2_FRAGMENTATION_SUPPORTED; fragments from the peer are dropped.</summary>
    No,

    /// <summary>Announce support and reassemble the peer's fragments, but never fragment our own messages.</summary>
    Accept,

    /// <summary>Announce support and fragment oversized messages once the peer announced it too.</summary>
    Yes,

    /// <summary>strongSwan's IKEv1-only mode (fragment even the first message); for IKEv2 the same as <see cref="Yes"/>.</summary>
    Force,
}

/// <summary>
/// The credentials the engine authenticates with: pre-shared keys for a pair of identities (swanctl
/// <c>secrets.ike*</c>), private keys by their public key, and the certificates and trust anchors. Replaced whole
/// on reload.
/// </summary>
public interface ISecretStore
{
    byte[]? FindSharedKey(Identity local, Identity? remote);

    /// <summary>The private key whose public key is <paramref name="subjectPublicKeyInfo"/> (DER), or null.</summary>
    SignaturePrivateKey? FindPrivateKey(ReadOnlySpan<byte> subjectPublicKeyInfo);

    CertificateStore Certificates { get; }

    /// <summary>
    /// The EAP secret (swanctl <c>secrets.eap-*</c>) of the EAP identity <paramref name="eapId"/>, with
    /// <paramref name="other"/> the other side's identity (the server's, or the client's), or null: none.
    /// </summary>
    byte[]? FindEapSecret(Identity eapId, Identity? other) => null;
}

/// <summary>Engine-wide settings (strongSwan's charon.* equivalents).</summary>
public sealed record EngineSettings
{
    /// <summary>charon.plugins.eap-tls.fragment_size: the largest EAP-TLS message we send, header included (strongSwan's 1024).</summary>
    public int EapTlsFragmentSize { get; init; } = 1024;

    /// <summary>charon.plugins.eap-tls.min_version / max_version: the TLS versions EAP-TLS offers and accepts.</summary>
    public Crypto.Tls.TlsVersion EapTlsMinVersion { get; init; } = Crypto.Tls.TlsVersion.Tls12;

    public Crypto.Tls.TlsVersion EapTlsMaxVersion { get; init; } = Crypto.Tls.TlsVersion.Tls13;

    /// <summary>strongSwan's retransmit_timeout (4 s), retransmit_base (1.8) and retransmit_tries (5).</summary>
    public TimeSpan RetransmitTimeout { get; init; } = TimeSpan.FromSeconds(4);

    public double RetransmitBase { get; init; } = 1.8;

    public int RetransmitTries { get; init; } = 5;

    /// <summary>
    /// charon.dos_protection: when false, none of the half-open checks below apply (no COOKIE, nothing blocked), except
    /// the hard limit <see cref="InitLimitHalfOpen"/>, which strongSwan applies regardless.
    /// </summary>
    public bool DosProtection { get; init; } = true;

    /// <summary>Responder half-open IKE SAs from which on a COOKIE is demanded of everyone (charon.cookie_threshold, 10; 0 = never).</summary>
    public int CookieThreshold { get; init; } = 10;

    /// <summary>Half-open IKE SAs of one source IP from which on a COOKIE is demanded of that IP (charon.cookie_threshold_ip, 3; 0 = never).</summary>
    public int CookieThresholdIp { get; init; } = 3;

    /// <summary>Half-open IKE SAs of one source IP from which on its IKE_SA_INIT requests are dropped (charon.block_threshold, 5; 0 = never).</summary>
    public int BlockThreshold { get; init; } = 5;

    /// <summary>Global half-open IKE SAs from which on every new IKE_SA_INIT is dropped (charon.init_limit_half_open, 0 = no limit).</summary>
    public int InitLimitHalfOpen { get; init; }

    /// <summary>
    /// How long COOKIEs stay required after the last request that needed one (strongSwan's COOKIE_CALMDOWN_DELAY, 10 s),
    /// so that a legitimate initiator's retransmissions are not answered once with and once without a cookie.
    /// </summary>
    public TimeSpan CookieCalmdown { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A new cookie secret after this long (of the engine's <c>now</c>); cookies of the previous one are still accepted.</summary>
    public TimeSpan CookieSecretLifetime { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A new cookie secret after this many cookies were made with it (strongSwan's COOKIE_REUSE, 10000).</summary>
    public int CookieReuse { get; init; } = 10_000;

    /// <summary>Nonce length in bytes (RFC 7296 §2.10: at least half the PRF key size and 16).</summary>
    public int NonceSize { get; init; } = 32;

    /// <summary>The local IKE port (500 unless the host binds another, as the demo does).</summary>
    public int IkePort { get; init; } = 500;

    /// <summary>The NAT-T port IKE floats to when a NAT is detected (RFC 7296 §2.23, RFC 3948).</summary>
    public int NattPort { get; init; } = 4500;

    /// <summary>How long a half-open IKE SA may wait for IKE_AUTH (charon.half_open_timeout, 30 s).</summary>
    public TimeSpan HalfOpenTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// charon.fragment_size: the largest IP datagram an IKE fragment may make (RFC 7383 §2.5.1); 0 means strongSwan's
    /// defaults, 1280 for IPv4 and 1232 for IPv6 (IP, UDP and the non-ESP marker are subtracted from it).
    /// </summary>
    public int FragmentSize { get; init; }

    /// <summary>charon.max_packet: the largest IKE message accepted, also the bound on a reassembled message (10000).</summary>
    public int MaxPacket { get; init; } = 10000;

    /// <summary>The most fragments one message may have (strongSwan's MAX_FRAGMENTS, 255).</summary>
    public int MaxFragments { get; init; } = 255;

    /// <summary>How long a partly reassembled message is kept waiting for its missing fragments.</summary>
    public TimeSpan FragmentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// charon.keep_alive (20 s): when this side is behind a NAT, a NAT keepalive (RFC 3948 §2.3) goes to the peer
    /// after this long without anything else sent on the IKE SA (IKE, or ESP reported by the host); zero disables.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// charon.signature_authentication (default yes): announce SIGNATURE_HASH_ALGORITHMS, so that the peer signs
    /// with RFC 7427 (AUTH method 14); without it a peer signs with the classic methods (1, 9–11).
    /// </summary>
    public bool SignatureAuthentication { get; init; } = true;
}
