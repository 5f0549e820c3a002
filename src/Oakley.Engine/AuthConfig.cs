using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Engine;

/// <summary>swanctl's authentication classes that Oakley builds: <c>psk</c> and <c>pubkey</c> (certificates or raw keys).</summary>
public enum AuthClass
{
    Psk,
    PublicKey,
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

    /// <summary>The signature schemes we sign with (local) or accept (remote), in order of preference.</summary>
    public IReadOnlyList<SignatureScheme> Schemes { get; init; } = SignatureSchemes.Default;

    /// <summary>
    /// What negotiation depends on, for <see cref="IkeConfig.Fingerprint"/>: the class, schemes and revocation policy,
    /// and how many certificates, CAs and keys there are, but not which: a renewed certificate or key reloaded with
    /// <c>load-all</c> is a change of credentials, not of the connection, and keeps its SAs (strongSwan's behaviour).
    /// </summary>
    public string Fingerprint() => string.Join(",",
        Class, Certificates.Count, CaCertificates.Count, PublicKeys.Count, string.Join("+", Schemes.Select(s => s.Name)), Revocation);
}
