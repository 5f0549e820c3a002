using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Config.Credentials;

/// <summary>
/// Credentials given as data rather than as files of the swanctl directory: VICI's load-key and load-cert send the
/// files' contents (PEM or DER), which are decoded as the files are (<see cref="KeyFiles"/>). Errors are sentences
/// for the reply; they never contain key material.
/// </summary>
public static class CredentialBlobs
{
    /// <summary>
    /// A private key (PKCS#8, PKCS#1 RSA, SEC1 EC; PEM or DER; not encrypted: swanctl decrypts keys itself) of the
    /// VICI <paramref name="type"/> (rsa, ecdsa, ed25519, ed448 or any, any case); null with <paramref name="error"/>.
    /// </summary>
    public static SignaturePrivateKey? PrivateKey(string type, byte[] data, out string? error)
    {
        ArgumentNullException.ThrowIfNull(type);
        SignatureKeyType? wanted = type.ToLowerInvariant() switch
        {
            "any" => null,
            "rsa" => SignatureKeyType.Rsa,
            "ecdsa" => SignatureKeyType.Ecdsa,
            "ed25519" => SignatureKeyType.Ed25519,
            "ed448" => SignatureKeyType.Ed448,
            _ => throw new ArgumentException($"invalid key type: {type}", nameof(type)),
        };
        var key = KeyFiles.PrivateKey("key data", data, null, out error);
        if (key is not null && wanted is { } kind && key.KeyType != kind)
        {
            error = $"parsing {type.ToUpperInvariant()} private key failed: the data holds a {key.KeyType.ToString().ToUpperInvariant()} key";
            key.Dispose();
            return null;
        }

        if (key is null)
        {
            error = $"parsing {type.ToUpperInvariant()} private key failed ({error})";
        }

        return key;
    }

    /// <summary>The X.509 certificates of PEM (one or more) or DER data; empty with <paramref name="error"/>.</summary>
    public static IReadOnlyList<Certificate> Certificates(byte[] data, out string? error) => KeyFiles.Certificates("certificate data", data, out error);

    /// <summary>A CRL (PEM or DER); null with <paramref name="error"/>.</summary>
    public static Crl? Crl(byte[] data, out string? error)
    {
        error = null;
        foreach (var (_, der) in KeyFiles.Blocks(data).Where(b => b.Label is null or "X509 CRL"))
        {
            var crl = Engine.Certificates.Crl.Parse(der, out var why, "vici");
            error = crl is null ? $"parsing X509_CRL certificate failed ({why})" : null;
            return crl;
        }

        error = "parsing X509_CRL certificate failed (no CRL in the data)";
        return null;
    }

    /// <summary>A raw public key (PEM "PUBLIC KEY" or DER SubjectPublicKeyInfo); null with <paramref name="error"/>.</summary>
    public static SignaturePublicKey? PublicKey(byte[] data, out string? error) => KeyFiles.PublicKey("public key data", data, out error);
}
