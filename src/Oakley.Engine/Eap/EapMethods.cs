using Oakley.Crypto;

namespace Oakley.Engine.Eap;

/// <summary>
/// Builds the EAP methods Oakley implements in type data (MD5, GTC, MSCHAPv2) for a server or a peer. Null for any
/// other type: Identity, Notification and Nak are the framework's, and TLS-based methods are built elsewhere.
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
}
