using Oakley.Crypto.Signature;
using Org.BouncyCastle.Tls;
using BcScheme = Org.BouncyCastle.Tls.SignatureScheme;
using OakleyScheme = Oakley.Crypto.Signature.SignatureScheme;

namespace Oakley.Crypto.Tls;

/// <summary>
/// The TLS signature schemes (RFC 8446 §4.2.3) Oakley signs and accepts in EAP-TLS, and the Oakley scheme each one
/// is: RSASSA-PSS with rsaEncryption keys and PKCS#1 v1.5 (TLS 1.2 only; RFC 8446 §4.4.3 forbids it in a TLS 1.3
/// CertificateVerify), ECDSA with the hash its curve is paired with in TLS 1.3, Ed25519 and Ed448. SHA-1 and SHA-224
/// are not offered (RFC 9155).
/// </summary>
internal static class TlsSignatureSchemes
{
    private static readonly (int Tls, OakleyScheme Oakley)[] Map =
    [
        (BcScheme.ed25519, SignatureSchemes.Ed25519),
        (BcScheme.ed448, SignatureSchemes.Ed448),
        (BcScheme.ecdsa_secp256r1_sha256, SignatureSchemes.EcdsaSha256),
        (BcScheme.ecdsa_secp384r1_sha384, SignatureSchemes.EcdsaSha384),
        (BcScheme.ecdsa_secp521r1_sha512, SignatureSchemes.EcdsaSha512),
        (BcScheme.rsa_pss_rsae_sha256, SignatureSchemes.RsaPssSha256),
        (BcScheme.rsa_pss_rsae_sha384, SignatureSchemes.RsaPssSha384),
        (BcScheme.rsa_pss_rsae_sha512, SignatureSchemes.RsaPssSha512),
        (BcScheme.rsa_pkcs1_sha256, SignatureSchemes.RsaPkcs1Sha256),
        (BcScheme.rsa_pkcs1_sha384, SignatureSchemes.RsaPkcs1Sha384),
        (BcScheme.rsa_pkcs1_sha512, SignatureSchemes.RsaPkcs1Sha512),
    ];

    /// <summary>What we offer in signature_algorithms and CertificateRequest (the peer's signatures we verify).</summary>
    public static IList<SignatureAndHashAlgorithm> Offered() => [.. Map.Select(m => BcScheme.GetSignatureAndHashAlgorithm(m.Tls))];

    /// <summary>
    /// The scheme we sign with: the first of ours for <paramref name="key"/> that the peer offered (all of ours when it
    /// offered none, which TLS 1.2 allows), or null.
    /// </summary>
    public static (int Tls, OakleyScheme Oakley)? Choose(SignaturePrivateKey key, bool tls13, IList<SignatureAndHashAlgorithm>? peerOffered)
    {
        foreach (var (tls, oakley) in Map)
        {
            if (oakley.KeyType != key.KeyType || (tls13 && !oakley.Pss && key.KeyType == SignatureKeyType.Rsa))
            {
                continue;
            }

            // ECDSA: the hash that goes with the key's curve (TLS 1.3 binds them; for TLS 1.2 the same choice is safe).
            if (key.KeyType == SignatureKeyType.Ecdsa && oakley.HashId != EcdsaHash(key.KeySize))
            {
                continue;
            }

            if (peerOffered is null || peerOffered.Any(a => BcScheme.From(a) == tls))
            {
                return (tls, oakley);
            }
        }

        return null;
    }

    private static SignatureHash EcdsaHash(int bits) => bits switch
    {
        <= 256 => SignatureHash.Sha256,
        <= 384 => SignatureHash.Sha384,
        _ => SignatureHash.Sha512,
    };
}
