using Oakley.Crypto.Signature;
using Org.BouncyCastle.Tls;

namespace Oakley.Crypto.Tls;

/// <summary>
/// The cipher suites of EAP-TLS: TLS 1.3's AEAD suites (RFC 8446 §B.4), and for TLS 1.2 ECDHE with AES-GCM or
/// ChaCha20-Poly1305 (RFC 5289, RFC 7905), signed with ECDSA/EdDSA (RFC 8422) or RSA. No static RSA, CBC or finite
/// field DH: forward secrecy and AEAD only, as RFC 9325 §4.2 recommends.
/// </summary>
internal static class TlsCipherSuites
{
    private static readonly int[] Tls13 =
    [
        CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    ];

    private static readonly int[] Ecdsa =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    private static readonly int[] Rsa =
    [
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>A client does not know the server's key: it offers both signature families.</summary>
    public static int[] Client() => [.. Tls13, .. Ecdsa, .. Rsa];

    /// <summary>A server's TLS 1.2 suites must match its key (ECDSA and EdDSA keys sign the ECDHE_ECDSA suites, RFC 8422 §5.1).</summary>
    public static int[] Server(SignatureKeyType key) => [.. Tls13, .. key == SignatureKeyType.Rsa ? Rsa : Ecdsa];
}
