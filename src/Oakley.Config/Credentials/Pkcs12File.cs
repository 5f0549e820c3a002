using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Config.Credentials;

/// <summary>
/// A PKCS#12 container (swanctl <c>pkcs12/</c>): its private keys and certificates, decrypted with the passphrase
/// of a <c>secrets.pkcs12-*</c> entry. The MAC is checked first, so a wrong passphrase is reported as one.
/// </summary>
internal static class Pkcs12File
{
    public static (List<SignaturePrivateKey> Keys, List<Certificate> Certificates)? Load(string path, byte[] file, byte[]? passphrase, out string? error)
    {
        error = null;
        var password = passphrase is null ? "" : System.Text.Encoding.UTF8.GetString(passphrase);
        try
        {
            var info = Pkcs12Info.Decode(file, out _, skipCopy: true);
            if (info.IntegrityMode == Pkcs12IntegrityMode.Password && !info.VerifyMac(password))
            {
                error = passphrase is null
                    ? $"{path} is protected, and no secrets.pkcs12-* entry with file = {Path.GetFileName(path)} gives its passphrase"
                    : $"{path}: the passphrase from secrets does not open it (MAC check failed)";
                return null;
            }

            var keys = new List<SignaturePrivateKey>();
            var certs = new List<Certificate>();
            foreach (var contents in info.AuthenticatedSafe)
            {
                if (contents.ConfidentialityMode == Pkcs12ConfidentialityMode.Password)
                {
                    contents.Decrypt(password);
                }

                foreach (var bag in contents.GetBags())
                {
                    if (!Add(path, bag, password, keys, certs, out error))
                    {
                        return null;
                    }
                }
            }

            return (keys, certs);
        }
        catch (CryptographicException e)
        {
            error = $"{path}: not a usable PKCS#12 file ({e.Message})";
            return null;
        }
    }

    private static bool Add(string path, Pkcs12SafeBag bag, string password, List<SignaturePrivateKey> keys, List<Certificate> certs, out string? error)
    {
        error = null;
        byte[]? pkcs8 = bag switch
        {
            Pkcs12ShroudedKeyBag shrouded => Pkcs8PrivateKeyInfo.DecryptAndDecode(password.AsSpan(), shrouded.EncryptedPkcs8PrivateKey, out _).Encode(),
            Pkcs12KeyBag plain => plain.Pkcs8PrivateKey.ToArray(),
            _ => null,
        };
        if (pkcs8 is not null)
        {
            var key = SignaturePrivateKey.FromPkcs8(pkcs8, out var why);
            CryptographicOperations.ZeroMemory(pkcs8);
            if (key is null)
            {
                error = $"{path}: {why}";
                return false;
            }

            keys.Add(key);
        }
        else if (bag is Pkcs12CertBag { IsX509Certificate: true } certBag)
        {
            var der = System.Formats.Asn1.AsnDecoder.ReadOctetString(certBag.EncodedCertificate.Span, System.Formats.Asn1.AsnEncodingRules.BER, out _);
            var cert = Certificate.Parse(der, out var why);
            if (cert is null)
            {
                error = $"{path}: a certificate in it is not usable ({why})";
                return false;
            }

            certs.Add(cert);
        }

        return true;
    }
}
