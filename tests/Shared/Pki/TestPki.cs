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
    /// <summary>An end entity naming a CRL distribution point and, optionally, an OCSP responder.</summary>
    public static (Certificate Cert, SignaturePrivateKey Key) IssueWithCrl(Ca ca, string kind, string cn, string crlUrl, string? ocspUrl = null) =>
        Issue(ca, kind, cn, crlUris: [crlUrl], ocspUris: ocspUrl is null ? [] : [ocspUrl]);

    public static (Certificate Cert, SignaturePrivateKey Key) Issue(Ca ca, string kind, string cn, string[]? sans = null, string[]? eku = null,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool byRoot = false, string[]? crlUris = null, string[]? ocspUris = null)
    {
        var (key, _) = Key(kind, cn);
        var cert = CertificateIssuer.Issue(new CertificateProfile($"C=CH, O=Oakley Test, CN={cn}")
        {
            SubjectAltNames = [cn, .. sans ?? []],
            ExtendedKeyUsage = eku,
            NotBefore = notBefore ?? Epoch,
            NotAfter = notAfter ?? Epoch.AddYears(5),
            Serial = RandomNumberGenerator.GetBytes(8) is var s && s[0] >= 0x80 ? [0, .. s] : s,
            CrlUris = crlUris ?? [],
            OcspUris = ocspUris ?? [],
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

/// <summary>CRLs and OCSP responses of a <see cref="TestPki.Ca"/> (ECDSA CAs: the BCL's CRL builder signs with their key).</summary>
public static class TestRevocation
{
    /// <summary>A CRL of the intermediate listing <paramref name="revoked"/> (serial, date), keyCompromise.</summary>
    public static byte[] Crl(TestPki.Ca ca, string kind, IEnumerable<(Certificate Cert, DateTimeOffset When)> revoked, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate)
    {
        var builder = new System.Security.Cryptography.X509Certificates.CertificateRevocationListBuilder();
        foreach (var (cert, when) in revoked)
        {
            builder.AddEntry(cert.Serial, when, System.Security.Cryptography.X509Certificates.X509RevocationReason.KeyCompromise);
        }

        using var ec = ECDsa.Create();
        ec.ImportPkcs8PrivateKey(TestPki.Key(kind, NameOf(ca) + " intermediate").Pkcs8, out _);
        var akid = System.Security.Cryptography.X509Certificates.X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ca.Intermediate.Extensions.SubjectKeyId!);
        return builder.Build(ca.Intermediate.Subject, System.Security.Cryptography.X509Certificates.X509SignatureGenerator.CreateForECDsa(ec), 1, nextUpdate,
            HashAlgorithmName.SHA256, akid, thisUpdate);
    }

    /// <summary>
    /// The intermediate's OCSP answer to <paramref name="request"/> (an Oakley OCSPRequest): the CertID and nonce are
    /// taken from it; <paramref name="revokedAt"/> null is "good". <paramref name="nonce"/> overrides the nonce echoed.
    /// </summary>
    public static byte[] OcspResponse(TestPki.Ca ca, string kind, byte[] request, DateTimeOffset? revokedAt, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, byte[]? nonce = null)
    {
        var req = new System.Formats.Asn1.AsnReader(request, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence().ReadSequence();
        var certId = req.ReadSequence().ReadSequence().ReadEncodedValue().ToArray();
        var ext = req.ReadSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 2, true)).ReadSequence().ReadSequence();
        ext.ReadObjectIdentifier();
        var requestNonce = new System.Formats.Asn1.AsnReader(ext.ReadOctetString(), System.Formats.Asn1.AsnEncodingRules.DER).ReadOctetString();
        var key = TestPki.Key(kind, NameOf(ca) + " intermediate").Key;
        var scheme = CertificateIssuer.SchemeFor(key);
        var data = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (data.PushSequence())
        {
            data.WriteEncodedValue(Tagged(1, ca.Intermediate.Subject.RawData));
            data.WriteGeneralizedTime(thisUpdate, omitFractionalSeconds: true);
            using (data.PushSequence())
            using (data.PushSequence())
            {
                data.WriteEncodedValue(certId);
                if (revokedAt is { } when)
                {
                    using (data.PushSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 1, true)))
                    {
                        data.WriteGeneralizedTime(when, omitFractionalSeconds: true);
                    }
                }
                else
                {
                    data.WriteNull(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0));
                }

                data.WriteGeneralizedTime(thisUpdate, omitFractionalSeconds: true);
                if (nextUpdate is { } next)
                {
                    using (data.PushSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0, true)))
                    {
                        data.WriteGeneralizedTime(next, omitFractionalSeconds: true);
                    }
                }
            }

            using (data.PushSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 1, true)))
            using (data.PushSequence())
            using (data.PushSequence())
            {
                data.WriteObjectIdentifier("1.3.6.1.5.5.7.48.1.2");
                var inner = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
                inner.WriteOctetString(nonce ?? requestNonce);
                data.WriteOctetString(inner.Encode());
            }
        }

        var tbs = data.Encode();
        var basic = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (basic.PushSequence())
        {
            basic.WriteEncodedValue(tbs);
            basic.WriteEncodedValue(scheme.AlgorithmIdentifier.Span);
            basic.WriteBitString(key.Sign(scheme, tbs));
        }

        var outer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (outer.PushSequence())
        {
            outer.WriteEnumeratedValue(OcspStatus.Successful);
            using (outer.PushSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0, true)))
            using (outer.PushSequence())
            {
                outer.WriteObjectIdentifier("1.3.6.1.5.5.7.48.1.1");
                outer.WriteOctetString(basic.Encode());
            }
        }

        return outer.Encode();
    }

    private enum OcspStatus
    {
        Successful = 0,
    }

    private static byte[] Tagged(int tag, byte[] content)
    {
        var w = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (w.PushSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, tag, true)))
        {
            w.WriteEncodedValue(content);
        }

        return w.Encode();
    }

    private static string NameOf(TestPki.Ca ca) => ca.Root.Subject.EnumerateRelativeDistinguishedNames(false)
        .First(r => r.GetSingleElementType().Value == "2.5.4.10").GetSingleElementValue()!;
}
