using System.Collections.Concurrent;
using System.Security.Cryptography;
using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Tests.Shared;

/// <summary>
/// A PKI built at test time (no private key is committed): keys by kind (<c>rsa2048</c>, <c>rsa3072</c>,
/// <c>ecdsa256</c>, <c>ecdsa384</c>, <c>ecdsa521</c>, <c>ed25519</c>, <c>ed448</c>), a root with an intermediate CA, and
/// end-entity certificates under it. Keys are generated once per kind and label and then shared, because RSA key
/// generation is slow.
/// </summary>
public static class TestPki
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly ConcurrentDictionary<string, byte[]> Keys = new(StringComparer.Ordinal);

    /// <summary>A CA: root and intermediate, with their keys.</summary>
    public sealed record Ca(Certificate Root, SignaturePrivateKey RootKey, Certificate Intermediate, SignaturePrivateKey IntermediateKey);

    /// <summary>A private key of <paramref name="kind"/>, the same one for the same label (PKCS#8 DER and the key).</summary>
    public static (SignaturePrivateKey Key, byte[] Pkcs8) Key(string kind, string label = "")
    {
        var der = Keys.GetOrAdd(kind + "/" + label, _ => NewPkcs8(kind));
        return (SignaturePrivateKey.FromPkcs8(der, out var why) ?? throw new InvalidOperationException(why), der);
    }

    public static Ca NewCa(string kind, string name = "Oakley Test", int? rootPathLength = null, DateTimeOffset? notAfter = null)
    {
        var (rootKey, _) = Key(kind, name + " root");
        var until = notAfter ?? Epoch.AddYears(10);
        var root = CertificateIssuer.Issue(new CertificateProfile($"C=CH, O={name}, CN={name} Root CA")
        {
            IsCa = true, PathLength = rootPathLength, NotBefore = Epoch, NotAfter = until, Serial = [1],
        }, rootKey.ExportSubjectPublicKeyInfo(), rootKey, null);
        var (imKey, _) = Key(kind, name + " intermediate");
        var intermediate = CertificateIssuer.Issue(new CertificateProfile($"C=CH, O={name}, CN={name} Intermediate CA")
        {
            IsCa = true, PathLength = 0, NotBefore = Epoch, NotAfter = until, Serial = [2],
        }, imKey.ExportSubjectPublicKeyInfo(), rootKey, root);
        return new Ca(root, rootKey, intermediate, imKey);
    }

    /// <summary>An end-entity certificate for <c>CN=<paramref name="cn"/></c> with SAN DNS:<paramref name="cn"/> (plus <paramref name="sans"/>), issued by the intermediate.</summary>
    public static (Certificate Cert, SignaturePrivateKey Key) Issue(Ca ca, string kind, string cn, string[]? sans = null, string[]? eku = null,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool byRoot = false)
    {
        var (key, _) = Key(kind, cn);
        var cert = CertificateIssuer.Issue(new CertificateProfile($"C=CH, O=Oakley Test, CN={cn}")
        {
            SubjectAltNames = [cn, .. sans ?? []],
            ExtendedKeyUsage = eku,
            NotBefore = notBefore ?? Epoch,
            NotAfter = notAfter ?? Epoch.AddYears(5),
            Serial = RandomNumberGenerator.GetBytes(8) is var s && s[0] >= 0x80 ? [0, .. s] : s,
        }, key.ExportSubjectPublicKeyInfo(), byRoot ? ca.RootKey : ca.IntermediateKey, byRoot ? ca.Root : ca.Intermediate);
        return (cert, key);
    }

    private static byte[] NewPkcs8(string kind)
    {
        switch (kind)
        {
            case "rsa2048" or "rsa3072" or "rsa4096":
                using (var rsa = RSA.Create(int.Parse(kind[3..], System.Globalization.CultureInfo.InvariantCulture)))
                {
                    return rsa.ExportPkcs8PrivateKey();
                }

            case "ecdsa256" or "ecdsa384" or "ecdsa521":
                var curve = kind switch { "ecdsa256" => ECCurve.NamedCurves.nistP256, "ecdsa384" => ECCurve.NamedCurves.nistP384, _ => ECCurve.NamedCurves.nistP521 };
                using (var ec = ECDsa.Create(curve))
                {
                    return ec.ExportPkcs8PrivateKey();
                }

            case "ed25519" or "ed448":
                return EdDsaTestKeys.Pkcs8(RandomNumberGenerator.GetBytes(kind == "ed448" ? 57 : 32), kind == "ed448");
            default:
                throw new ArgumentException($"unknown key kind {kind}", nameof(kind));
        }
    }
}
