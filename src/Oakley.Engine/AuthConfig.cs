using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using Oakley.Engine.Eap;

namespace Oakley.Engine;

/// <summary>swanctl's authentication classes that Oakley builds: <c>psk</c>, <c>pubkey</c> (certificates or raw keys) and <c>eap</c>.</summary>
public enum AuthClass
{
    Psk,
    PublicKey,

    /// <summary>EAP (RFC 7296 §2.16): as client (local round) or server (remote round), the AUTH keyed with the MSK.</summary>
    Eap,
}

/// <summary>swanctl <c>send_cert</c>: when our certificate goes into IKE_AUTH.</summary>
public enum SendCertPolicy
{
    /// <summary>Only when the peer sent a CERTREQ (strongSwan's default).</summary>
    IfAsked,
    Always,
    Never,
}

/// <summary>
/// One side's authentication round (swanctl <c>local</c> / <c>remote</c>). For <see cref="AuthClass.PublicKey"/> on
/// the local side: the certificates we may authenticate with (the first that chains to a CA the peer requested, or
/// the first) or a raw public key; its private key comes from the <see cref="ISecretStore"/>. On the remote side: the
/// certificates the peer must use (<c>remote.certs</c>, pinned and trusted as they are), the CAs its chain must
/// pass (<c>remote.cacerts</c>), or its raw public keys (<c>remote.pubkeys</c>), and the signature schemes accepted.
/// </summary>
public sealed class AuthConfig
{
    public static AuthConfig Psk { get; } = new();

    public AuthClass Class { get; init; } = AuthClass.Psk;

    public IReadOnlyList<Certificate> Certificates { get; init; } = [];

    public IReadOnlyList<Certificate> CaCertificates { get; init; } = [];

    public IReadOnlyList<SignaturePublicKey> PublicKeys { get; init; } = [];

    /// <summary>swanctl <c>revocation</c> of a remote round: what an unknown revocation status means.</summary>
    public RevocationPolicy Revocation { get; init; } = RevocationPolicy.Relaxed;

    /// <summary>
    /// <see cref="AuthClass.Eap"/>: the method (<c>eap-md5</c>, <c>eap-mschapv2</c>, …); null for <c>eap</c> or
    /// <c>eap-dynamic</c> (the server proposes its methods in order and the client may Nak; a client takes what the server asks).
    /// </summary>
    public EapType? EapMethod { get; init; }

    /// <summary><c>eap-dynamic</c> on a remote round: the client may choose among the methods (by Nak).</summary>
    public bool EapDynamic { get; init; }

    /// <summary><c>eap-radius</c>: the gateway relays EAP to its RADIUS servers (<see cref="IEapAaa"/>).</summary>
    public bool EapRadius { get; init; }

    /// <summary>
    /// swanctl <c>eap_id</c>: on a local round, the EAP identity we authenticate as (null: our IKE identity); on a
    /// remote round, the identity the client must authenticate as (null: its IKE identity; <c>%any</c>: asked for with EAP-Identity).
    /// </summary>
    public Identity? EapId { get; init; }

    /// <summary>
    /// A later round's identity (swanctl <c>local-2.id</c> / <c>remote-2.id</c>, RFC 4739): the IDi we send in that round,
    /// or the one the peer must send (null: the connection's identity; for a remote round, any).
    /// </summary>
    public Identity? RoundId { get; init; }

    /// <summary>The signature schemes we sign with (local) or accept (remote), in order of preference.</summary>
    public IReadOnlyList<SignatureScheme> Schemes { get; init; } = SignatureSchemes.Default;

    /// <summary>
    /// What negotiation depends on, for <see cref="IkeConfig.Fingerprint"/>: the class, schemes and revocation policy,
    /// and how many certificates, CAs and keys there are, but not which: a renewed certificate or key reloaded with
    /// <c>load-all</c> is a change of credentials, not of the connection, and keeps its SAs (strongSwan's behaviour).
    /// </summary>
    public string Fingerprint() => string.Join(",",
        Class, EapMethod, EapDynamic, EapRadius, EapId?.ToString() ?? "-", RoundId?.ToString() ?? "-", Certificates.Count, CaCertificates.Count, PublicKeys.Count, string.Join("+", Schemes.Select(s => s.Name)), Revocation);
}
