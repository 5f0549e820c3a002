using Oakley.Crypto;

namespace Oakley.Engine.Eap;

/// <summary>
/// Builds the EAP methods Oakley implements in type data for a server or a peer: MD5, GTC and MSCHAPv2 from a password,
/// EAP-TLS from a certificate (<see cref="TlsServer"/>, <see cref="TlsPeer"/>). Null for any other type: Identity,
/// Notification and Nak are the framework's.
/// </summary>
public static class EapMethods
{
    /// <summary>The server name EAP-MSCHAPv2 sends in its Challenge.</summary>
    public const string MsChapV2ServerName = "Oakley";

    /// <param name="type">The method.</param>
    /// <param name="eapIdentity">The identity being authenticated (EAP-MSCHAPv2 checks the Response's Name against it).</param>
    /// <param name="secret">The EAP secret for that identity (UTF-8); the methods keep copies or hashes of it.</param>
    /// <param name="entropy">The source of challenges.</param>
    public static IEapServerMethod? Server(EapType type, string eapIdentity, byte[] secret, IEntropySource entropy) => type switch
    {
        EapType.Md5 => new EapMd5Server(secret, entropy),
        EapType.Gtc => new EapGtcServer(secret),
        EapType.MsChapV2 => new EapMsChapV2Server(eapIdentity, secret, entropy, MsChapV2ServerName),
        _ => null,
    };

    /// <param name="type">The method.</param>
    /// <param name="eapIdentity">Our EAP identity (EAP-MSCHAPv2 sends it as its Name).</param>
    /// <param name="secret">Our EAP secret (UTF-8).</param>
    /// <param name="entropy">The source of EAP-MSCHAPv2's Peer-Challenge.</param>
    public static IEapPeerMethod? Peer(EapType type, string eapIdentity, byte[] secret, IEntropySource entropy) => type switch
    {
        EapType.Md5 => new EapMd5Peer(secret),
        EapType.Gtc => new EapGtcPeer(secret),
        EapType.MsChapV2 => new EapMsChapV2Peer(eapIdentity, secret, entropy),
        _ => null,
    };

    /// <summary>EAP-TLS as server: our certificate (the options' first, or the store's first confirming <paramref name="server"/>) and key.</summary>
    /// <param name="server">Our IKE identity.</param>
    /// <param name="eapIdentity">The identity the client's certificate must confirm.</param>
    public static IEapServerMethod? TlsServer(Identity server, Identity eapIdentity, ISecretStore secrets, EapTlsOptions options, IEntropySource entropy, out string? error)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(options);
        var credential = EapTlsCredential.Find(options.Certificates, server, secrets, options.Now, out error);
        return credential is null ? null : new EapTlsServer(credential, eapIdentity, secrets.Certificates, options, entropy);
    }

    /// <summary>EAP-TLS as peer: our certificate (the options' first, or the store's first confirming <paramref name="eapIdentity"/>) and key.</summary>
    /// <param name="eapIdentity">Our EAP identity.</param>
    /// <param name="server">The identity the server's certificate must confirm (null or %any: any).</param>
    public static IEapPeerMethod? TlsPeer(Identity eapIdentity, Identity? server, ISecretStore secrets, EapTlsOptions options, IEntropySource entropy, out string? error)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(options);
        var credential = EapTlsCredential.Find(options.Certificates, eapIdentity, secrets, options.Now, out error);
        return credential is null ? null : new EapTlsPeer(credential, server, secrets.Certificates, options, entropy);
    }
}
