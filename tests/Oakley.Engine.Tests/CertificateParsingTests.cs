using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using Oakley.Engine.Certificates;
using Oakley.Protocol.Ikev2;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>X.509 decoding, names and identities, name constraints and the path cache (issue 15).</summary>
public class CertificateParsingTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Parse_ReadsNamesValidityKeyAndExtensions()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (cert, _) = TestPki.Issue(ca, "ecdsa256", "moon.example", ["IP:192.0.2.1", "email:moon@example.org"], eku: [CertificateExtensions.ServerAuth]);
        Assert.Equal("C=CH, O=Oakley Test, CN=moon.example", cert.SubjectText);
        Assert.Equal("C=CH, O=Oakley Test, CN=Oakley Test Intermediate CA", cert.IssuerText);
        Assert.Equal("DNS:moon.example, IP:192.0.2.1, email:moon@example.org", cert.DescribeAltNames());
        Assert.Equal([CertificateExtensions.ServerAuth], cert.Extensions.ExtendedKeyUsage);
        Assert.False(cert.IsCa);
        Assert.True(ca.Intermediate.IsCa);
        Assert.Equal(0, ca.Intermediate.Extensions.PathLength);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, cert.Extensions.KeyUsage);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, ca.Root.Extensions.KeyUsage);
        Assert.Equal(ca.Intermediate.Extensions.SubjectKeyId, cert.Extensions.AuthorityKeyId);
        Assert.True(cert.IsSignedBy(ca.Intermediate));
        Assert.False(cert.IsSignedBy(ca.Root));
        Assert.True(ca.Root.IsSelfIssued);
        Assert.Equal(20, cert.SpkiSha1.Length);
    }

    [Fact]
    public void Parse_RefusesTrailingBytes_TruncationAndUnknownCriticalExtensions()
    {
        var ca = TestPki.NewCa("ecdsa256");
        Assert.Null(Certificate.Parse([.. ca.Root.Der, 0], out var trailing));
        Assert.Equal("trailing bytes after the certificate", trailing);
        Assert.Null(Certificate.Parse(ca.Root.Der.AsSpan(0, ca.Root.Der.Length - 5), out var truncated));
        Assert.StartsWith("malformed certificate", truncated, StringComparison.Ordinal);

        var request = new CertificateRequest(new X500DistinguishedName("CN=odd"), System.Security.Cryptography.ECDsa.Create(), System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension("1.2.3.4.5", [5, 0], true));
        using var odd = request.CreateSelfSigned(Now, Now.AddDays(1));
        Assert.Null(Certificate.Parse(odd.RawData, out var critical));
        Assert.Equal("malformed certificate: unknown critical extension 1.2.3.4.5", critical);
    }

    [Fact]
    public void Parse_NeverThrows_OnMutatedCertificates()
    {
        var ca = TestPki.NewCa("ed25519");
        var random = new Random(15);
        var parsed = 0;
        for (var i = 0; i < 3000; i++)
        {
            var bytes = (byte[])ca.Intermediate.Der.Clone();
            for (var n = random.Next(1, 4); n > 0; n--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            var length = random.Next(4) == 0 ? random.Next(bytes.Length) : bytes.Length;
            var cert = Certificate.Parse(bytes.AsSpan(0, length), out var error);
            Assert.True(cert is not null || error.Length > 0);
            parsed += cert is null ? 0 : 1;
        }

        Assert.InRange(parsed, 1, 2999);
    }

    /// <summary>Found by the x509 fuzzer (AFL++, 4 minutes): an ECDSA key on a curve OID OpenSSL does not know made the BCL throw PlatformNotSupportedException, which escaped the parser.</summary>
    [Fact]
    public void Parse_RefusesAnUnknownCurve_FoundByTheFuzzer()
    {
        var der = Convert.FromHexString(
        "308201933082013aa003020102020808563cf0e550f084300a06082a8648ce3d040302302e310b3009060355040613024348310c300a060355180a13" +
        "034c61623111300f060355040313084c616220526f6f74301e170d3236313230373132333133385a170d3239313230363132333133385a302e310b30" +
        "09060355040613024348310c300a060355040a13034c61623111300f060355040313084c616220526f6f743059301306072a8648ce3d020106082a86" +
        "6ace3d030107034200045b6df897c9496eee9aa4fb221870ddd7ba426435461c0f602f6e58c4105320543f22bf149d0c6fd1f29478a2e9b4f9e8ddca" +
        "dfa9340374223fa6e70d51624b8fa3423040300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403020106301d0603551d0e0416" +
        "0414bae1b24ffa3834327056cecf10275c4ac1c8b176300a06082a8648ce3d040302034700304402203e030d1db385377d7314db7f6bc065312f6a98" +
        "0e0bdb7fde056f1734f0cbc16702207d4613c3637f47ae36a671097a1f02fa9e4c11f667bbc32f023cf5b2a37a38f7");
        Assert.Null(Certificate.Parse(der, out var error));
        Assert.Equal("unsupported public key: unsupported elliptic curve or key parameters", error);
    }

    [Theory]
    [InlineData("C=CH, O=Oakley Test, CN=moon.example", "C=CH, O=Oakley Test, CN=moon.example", true)]
    [InlineData("C=CH, O=Oakley Test, CN=*", "C=CH, O=Oakley Test, CN=moon.example", true)]
    [InlineData("C=CH, O=oakley test, CN=MOON.example", "C=CH, O=Oakley Test, CN=moon.example", true)]
    [InlineData("C=CH, O=Oakley Test", "C=CH, O=Oakley Test, CN=moon.example", false)]
    [InlineData("C=CH, O=Other, CN=*", "C=CH, O=Oakley Test, CN=moon.example", false)]
    [InlineData("*.example", "moon.example", true)]
    [InlineData("*.example", "moon.example.org", false)]
    [InlineData("*@example.org", "moon@example.org", true)]
    public void Identity_Wildcards_MatchAsStrongSwanDoes(string pattern, string id, bool matches)
    {
        var p = Identity.Parse(pattern);
        Assert.Equal(matches, p.Matches(Identity.Parse(id)));
        Assert.Equal(pattern.Contains('*', StringComparison.Ordinal), p.IsWildcard);
    }

    [Fact]
    public void Identity_Dn_ParsesInWrittenOrder_AndPrintsTheSame()
    {
        var id = Identity.Parse("C=CH, O=strongSwan, CN=sun.example");
        Assert.Equal(IdentificationType.DerAsn1Dn, id.Type);
        Assert.Equal("C=CH, O=strongSwan, CN=sun.example", id.ToString());
        // The first RDN in the DER is C (RFC 4514 writes it last; strongSwan and swanctl write it first).
        var rdns = new X500DistinguishedName(id.Value).EnumerateRelativeDistinguishedNames(false).ToList();
        Assert.Equal("2.5.4.6", rdns[0].GetSingleElementType().Value);
    }

    [Fact]
    public void CertificateIdentity_ChecksSubjectAndEachSanKind()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (cert, _) = TestPki.Issue(ca, "ecdsa256", "moon.example", ["IP:192.0.2.1", "email:moon@example.org"]);
        Assert.True(CertificateIdentity.Confirms(cert, Identity.Parse("moon.example")));
        Assert.True(CertificateIdentity.Confirms(cert, Identity.Parse("192.0.2.1")));
        Assert.True(CertificateIdentity.Confirms(cert, Identity.Parse("moon@example.org")));
        Assert.True(CertificateIdentity.Confirms(cert, Identity.Parse("C=CH, O=Oakley Test, CN=moon.example")));
        Assert.True(CertificateIdentity.Confirms(cert, new Identity(IdentificationType.KeyId, cert.SpkiSha1)));
        Assert.False(CertificateIdentity.Confirms(cert, Identity.Parse("192.0.2.2")));
        Assert.False(CertificateIdentity.Confirms(cert, Identity.Parse("sun.example")));
        Assert.Equal("ID 'sun.example' not confirmed by certificate 'C=CH, O=Oakley Test, CN=moon.example'; its subjectAltNames are DNS:moon.example, IP:192.0.2.1, email:moon@example.org",
            CertificateIdentity.NotConfirmed(cert, Identity.Parse("sun.example")));
    }

    [Fact]
    public void NameConstraints_OfTheRoot_BindTheEndEntity()
    {
        var (rootKey, _) = TestPki.Key("ecdsa256", "constrained root");
        var root = ConstrainedRoot(rootKey);
        var store = new CertificateStore([root], []);
        var (key, _) = TestPki.Key("ecdsa256", "constrained ee");
        Certificate Leaf(string dns) => CertificateIssuer.Issue(
            new CertificateProfile($"CN={dns}") { SubjectAltNames = [dns], NotBefore = TestPki.Epoch, NotAfter = TestPki.Epoch.AddYears(1) },
            key.ExportSubjectPublicKeyInfo(), rootKey, root);
        Assert.True(PathValidator.Validate(Leaf("moon.lab.example"), [], store, Now).Trusted);
        var refused = PathValidator.Validate(Leaf("moon.other.example"), [], store, Now);
        Assert.Equal("certificate 'CN=moon.other.example' has name DNS:moon.other.example, outside what CA 'CN=Constrained Root' permits (DNS:lab.example)", refused.Error);
    }

    [Fact]
    public void CachedSubChain_StillExpiresWithItsCertificates()
    {
        var ca = TestPki.NewCa("ecdsa256", "Short", notAfter: Now.AddDays(30));
        var store = new CertificateStore([ca.Root], []);
        var (first, _) = TestPki.Issue(ca, "ecdsa256", "one.example", notAfter: Now.AddYears(1));
        var (second, _) = TestPki.Issue(ca, "ecdsa256", "two.example", notAfter: Now.AddYears(1));
        Assert.True(PathValidator.Validate(first, [ca.Intermediate], store, Now).Trusted);
        // The second end entity reuses the intermediate's cached verdict...
        Assert.True(PathValidator.Validate(second, [ca.Intermediate], store, Now).Trusted);
        // ...but not after the intermediate expired.
        var late = PathValidator.Validate(second, [ca.Intermediate], store, Now.AddDays(40));
        Assert.StartsWith("certificate 'C=CH, O=Short, CN=Short Intermediate CA' expired on", late.Error, StringComparison.Ordinal);
    }

    private static Certificate ConstrainedRoot(Crypto.Signature.SignaturePrivateKey key)
    {
        // nameConstraints { permittedSubtrees { dNSName "lab.example" } }, critical (RFC 5280 §4.2.1.10).
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)))
            using (writer.PushSequence())
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, "lab.example", new Asn1Tag(TagClass.ContextSpecific, 2));
            }
        }

        var spki = key.ExportSubjectPublicKeyInfo();
        var request = new CertificateRequest(new X500DistinguishedName("CN=Constrained Root"), PublicKey.CreateFromSubjectPublicKeyInfo(spki, out _), System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(System.Security.Cryptography.SHA1.HashData(spki), false));
        request.CertificateExtensions.Add(new X509Extension("2.5.29.30", writer.Encode(), true));
        using var ecdsa = System.Security.Cryptography.ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(TestPki.Key("ecdsa256", "constrained root").Pkcs8, out _);
        using var created = request.Create(new X500DistinguishedName("CN=Constrained Root"), X509SignatureGenerator.CreateForECDsa(ecdsa), TestPki.Epoch, TestPki.Epoch.AddYears(5), [7]);
        return Certificate.Parse(created.RawData, out _)!;
    }
}
