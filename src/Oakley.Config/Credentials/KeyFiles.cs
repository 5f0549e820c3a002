using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Config.Credentials;

/// <summary>
/// Decodes the files of the swanctl directories: certificates (PEM, several per file, or DER) and private keys
/// (PKCS#8, encrypted PKCS#8, PKCS#1 RSA, SEC1 EC, in PEM or DER; PKCS#12 with its certificates). Errors are
/// sentences naming the file, for the loader to report; they never contain key material or passphrases.
/// </summary>
internal static class KeyFiles
{
    /// <summary>The DER blocks of a PEM file with their labels, or the whole file as one unlabelled DER block.</summary>
    public static List<(string? Label, byte[] Der)> Blocks(byte[] file)
    {
        var blocks = new List<(string?, byte[])>();
        var text = System.Text.Encoding.ASCII.GetString(file);
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            blocks.Add((rest[fields.Label].ToString(), Convert.FromBase64String(rest[fields.Base64Data].ToString())));
            rest = rest[fields.Location.End..];
        }

        if (blocks.Count == 0)
        {
            blocks.Add((null, file));
        }

        return blocks;
    }

    /// <summary>The certificates of a PEM or DER file; an error names the file and what is wrong.</summary>
    public static List<Certificate> Certificates(string path, byte[] file, out string? error)
    {
        error = null;
        var certs = new List<Certificate>();
        foreach (var (label, der) in Blocks(file))
        {
            if (label is not (null or "CERTIFICATE" or "X509 CERTIFICATE" or "TRUSTED CERTIFICATE"))
            {
                continue;
            }

            var cert = Certificate.Parse(der, out var why);
            if (cert is null)
            {
                error = $"{path}: not a usable X.509 certificate ({why})";
                return [];
            }

            certs.Add(cert);
        }

        if (certs.Count == 0)
        {
            error = $"{path}: no certificate in the file";
        }

        return certs;
    }

    /// <summary>A raw public key (swanctl <c>pubkey/</c>): a PEM "PUBLIC KEY" or a DER SubjectPublicKeyInfo.</summary>
    public static SignaturePublicKey? PublicKey(string path, byte[] file, out string? error)
    {
        error = null;
        var (label, der) = Blocks(file)[0];
        if (label is "CERTIFICATE")
        {
            var cert = Certificate.Parse(der, out var certError);
            error = cert is null ? $"{path}: {certError}" : null;
            return cert?.PublicKey;
        }

        if (label is not (null or "PUBLIC KEY"))
        {
            error = $"{path}: not a public key (PEM label {label})";
            return null;
        }

        var key = SignaturePublicKey.FromSubjectPublicKeyInfo(der, out var why);
        error = key is null ? $"{path}: not a public key ({why})" : null;
        return key;
    }

    /// <summary>A private key file; <paramref name="passphrase"/> decrypts an encrypted PKCS#8.</summary>
    public static SignaturePrivateKey? PrivateKey(string path, byte[] file, byte[]? passphrase, out string? error)
    {
        error = null;
        var (label, der) = Blocks(file)[0];
        try
        {
            var pkcs8 = label switch
            {
                "PRIVATE KEY" => der,
                "RSA PRIVATE KEY" => ToPkcs8(der, rsa: true),
                "EC PRIVATE KEY" => ToPkcs8(der, rsa: false),
                "ENCRYPTED PRIVATE KEY" => Decrypt(path, der, passphrase, out error),
                null => Guess(path, der, passphrase, out error),
                _ => null,
            };
            if (pkcs8 is null)
            {
                error ??= $"{path}: not a private key (PEM label {label})";
                return null;
            }

            var key = SignaturePrivateKey.FromPkcs8(pkcs8, out var why);
            CryptographicOperations.ZeroMemory(pkcs8);
            error = key is null ? $"{path}: {why}" : null;
            return key;
        }
        catch (CryptographicException)
        {
            error = $"{path}: not a valid private key";
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
        }
    }

    /// <summary>DER of unknown kind: PKCS#8, PKCS#1 RSA, SEC1 EC, then encrypted PKCS#8.</summary>
    private static byte[]? Guess(string path, byte[] der, byte[]? passphrase, out string? error)
    {
        error = null;
        if (SignaturePrivateKey.FromPkcs8(der, out _) is { } plain)
        {
            plain.Dispose();
            return (byte[])der.Clone();
        }

        foreach (var rsa in new[] { true, false })
        {
            try
            {
                return ToPkcs8(der, rsa);
            }
            catch (CryptographicException)
            {
                // not this form
            }
        }

        return Decrypt(path, der, passphrase, out error);
    }

    private static byte[] ToPkcs8(byte[] der, bool rsa)
    {
        if (rsa)
        {
            using var r = RSA.Create();
            r.ImportRSAPrivateKey(der, out _);
            return r.ExportPkcs8PrivateKey();
        }

        using var ec = ECDsa.Create();
        ec.ImportECPrivateKey(der, out _);
        return ec.ExportPkcs8PrivateKey();
    }

    private static byte[]? Decrypt(string path, byte[] der, byte[]? passphrase, out string? error)
    {
        error = null;
        if (passphrase is null)
        {
            error = $"{path} is encrypted, and no secrets entry (private-*, rsa-*, ecdsa-*, pkcs8-* with file = {Path.GetFileName(path)}) gives its passphrase";
            return null;
        }

        try
        {
            var info = Pkcs8PrivateKeyInfo.DecryptAndDecode(System.Text.Encoding.UTF8.GetString(passphrase).AsSpan(), der, out _);
            return info.Encode();
        }
        catch (CryptographicException)
        {
            error = $"{path}: the passphrase from secrets does not decrypt it (or it is not an encrypted PKCS#8 key)";
            return null;
        }
    }
}
