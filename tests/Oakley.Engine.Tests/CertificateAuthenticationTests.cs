using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>
/// Public-key authentication in IKE_AUTH, engine to engine (issue 15): every key type through an intermediate CA in
/// both roles, CERT and CERTREQ, and each way a peer's certificate can be unacceptable, with the precise reason on
/// the side that refuses it and no SA on either side.
/// </summary>
public class CertificateAuthenticationTests
{
    private static readonly DateTimeOffset Now = Scenario.Start;

    /// <summary>Both sides with certificates from one CA (root trusted on both, intermediate sent in CERT payloads).</summary>
    internal static Scenario Pki(string kind, Func<TestPki.Ca, (Certificate, SignaturePrivateKey)>? moonCert = null, Func<TestPki.Ca, (Certificate, SignaturePrivateKey)>? sunCert = null,
        TestPki.Ca? ca = null, TestPki.Ca? sunTrusts = null)
    {
        ca ??= TestPki.NewCa(kind);
        var (moon, moonKey) = moonCert?.Invoke(ca) ?? TestPki.Issue(ca, kind, "moon.example");
        var (sun, sunKey) = sunCert?.Invoke(ca) ?? TestPki.Issue(ca, kind, "sun.example");
        var scenario = new Scenario
        {
            MoonPsk = null,
            SunPsk = null,
            MoonLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [moon] },
            MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey },
            SunLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [sun] },
            SunRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey },
            // Each holds its own intermediate (to send) and trusts the root.
            MoonCertificates = new CertificateStore([ca.Root, ca.Intermediate], []),
            SunCertificates = new CertificateStore([(sunTrusts ?? ca).Root, ca.Intermediate], []),
        };
        scenario.MoonKeys.Add(moonKey);
        scenario.SunKeys.Add(sunKey);
        return scenario;
    }

    [Theory]
    [InlineData("rsa2048", true)]
    [InlineData("rsa2048", false)]
    [InlineData("ecdsa256", true)]
    [InlineData("ecdsa384", false)]
    [InlineData("ecdsa521", true)]
    [InlineData("ed25519", true)]
    [InlineData("ed25519", false)]
    [InlineData("ed448", false)]
    public void EveryKeyType_ThroughAnIntermediate_Establishes_InBothRoles(string kind, bool moonInitiates)
    {
        var scenario = Pki(kind);
        var auths = new List<(bool FromA, AuthenticationPayload Auth, int Certs)>();
        var pair = scenario.Build();
        Capture(pair, scenario, auths);
        pair.Initiate(moonInitiates);

        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        Assert.Equal(2, pair.EventsA.OfType<ChildSaInstall>().Count() + pair.EventsB.OfType<ChildSaInstall>().Count());
        // Both sent SIGNATURE_HASH_ALGORITHMS, so both sign with RFC 7427 (method 14); each sent its end entity and
        // the intermediate, because the other's CERTREQ asked for its CA.
        Assert.Equal(2, auths.Count);
        Assert.All(auths, a => Assert.Equal(AuthMethod.DigitalSignature, a.Auth.Method));
        Assert.All(auths, a => Assert.Equal(2, a.Certs));
        Assert.Equal("sun.example", pair.A.IkeSas.Single().RemoteIdentity!.ToString());
    }

    [Fact]
    public void DefaultIdentity_IsTheSubjectDn_AndAnFqdnInTheSan_IsConfirmedToo()
    {
        var scenario = Pki("ecdsa256");
        var moonCert = scenario.MoonLocalAuth.Certificates[0];
        var sunCert = scenario.SunLocalAuth.Certificates[0];
        scenario.MoonId = Identity.OfSubject(moonCert);
        scenario.SunExpects = Identity.Parse("C=CH, O=Oakley Test, CN=*");
        scenario.SunId = Identity.Parse("sun.example");
        scenario.MoonExpects = Identity.Parse("sun.example");
        Assert.Equal("C=CH, O=Oakley Test, CN=sun.example", sunCert.SubjectText);
        var pair = scenario.Build();
        pair.Initiate(true);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Equal("C=CH, O=Oakley Test, CN=moon.example", pair.B.IkeSas.Single().RemoteIdentity!.ToString());
    }

    public static TheoryData<string, bool> Refusals()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in new[] { "expired", "untrusted", "id", "eku", "truncated", "pathlen", "keyusage" })
        {
            data.Add(name, true);
            data.Add(name, false);
        }

        return data;
    }

    /// <summary>Sun's certificate is bad in one way; moon refuses it, as initiator and as responder, naming why.</summary>
    [Theory]
    [MemberData(nameof(Refusals))]
    public void BadPeerCertificate_IsRefused_WithItsReason_AndNoSa(string fault, bool moonInitiates)
    {
        var kind = "ecdsa256";
        var ca = TestPki.NewCa(kind);
        var other = TestPki.NewCa(kind, "Elsewhere");
        var limited = fault == "pathlen" ? TestPki.NewCa(kind, "Limited", rootPathLength: 0) : null;
        var sunside = TestPki.NewCa(kind, "Sunside");
        Func<TestPki.Ca, (Certificate, SignaturePrivateKey)> sunCert = fault switch
        {
            "expired" => c => TestPki.Issue(c, kind, "sun.example", notAfter: Now.AddDays(-10)),
            "untrusted" => _ => TestPki.Issue(other, kind, "sun.example"),
            "id" => c => TestPki.Issue(c, kind, "sun2.example"),
            "eku" => c => TestPki.Issue(c, kind, "sun.example", eku: ["1.3.6.1.5.5.7.3.3"]),
            "keyusage" => c => IssueWithoutSigning(c, kind),
            "pathlen" => _ => TestPki.Issue(limited!, kind, "sun.example"),
            "truncated" => _ => TestPki.Issue(sunside, kind, "sun.example"),
            _ => c => TestPki.Issue(c, kind, "sun.example"),
        };
        var scenario = Pki(kind, sunCert: sunCert, ca: ca);
        if (fault == "truncated")
        {
            // Sun does not hold the intermediate that issued its certificate, so it sends its end entity alone; moon
            // trusts that CA's root but has never seen the intermediate either.
            scenario.SunCertificates = new CertificateStore([sunside.Root, ca.Root], []);
            scenario.MoonCertificates = new CertificateStore([ca.Root, sunside.Root], [ca.Intermediate]);
        }

        if (fault == "pathlen")
        {
            scenario.MoonCertificates = new CertificateStore([ca.Root, ca.Intermediate, limited!.Root], []);
            scenario.SunCertificates = new CertificateStore([limited.Root, limited.Intermediate, ca.Root], []);
        }

        scenario.SunId = fault == "id" ? Identity.Parse("sun.example") : scenario.SunId;
        var pair = scenario.Build();
        pair.Initiate(moonInitiates);

        var expected = fault switch
        {
            "expired" => "certificate 'C=CH, O=Oakley Test, CN=sun.example' expired on 2026-11-14 (now 2026-11-24)",
            "untrusted" => "no trusted path from 'C=CH, O=Oakley Test, CN=sun.example' to any CA in x509ca/ (closest: issuer 'C=CH, O=Elsewhere, CN=Elsewhere Intermediate CA' not found)",
            "id" => "ID 'sun.example' not confirmed by certificate 'C=CH, O=Oakley Test, CN=sun2.example'; its subjectAltNames are DNS:sun2.example",
            "eku" => "certificate 'C=CH, O=Oakley Test, CN=sun.example' has extendedKeyUsage codeSigning, which does not allow IKE",
            "keyusage" => "certificate 'C=CH, O=Oakley Test, CN=sun.example' may not sign (keyUsage has neither digitalSignature nor nonRepudiation)",
            "truncated" => "no trusted path from 'C=CH, O=Oakley Test, CN=sun.example' to any CA in x509ca/ (closest: issuer 'C=CH, O=Sunside, CN=Sunside Intermediate CA' not found)",
            _ => "CA 'C=CH, O=Limited, CN=Limited Root CA' allows 0 intermediate CA(s) below it (pathlen), this chain has 1",
        };
        var moonEvents = pair.EventsA.OfType<Alert>().Select(a => a.Message).ToList();
        Assert.True(moonEvents.Any(m => m.Contains(expected, StringComparison.Ordinal)), string.Join("\n", [.. moonEvents, .. pair.EventsB.OfType<Alert>().Select(a => "sun: " + a.Message), .. pair.Log]));
        Assert.Empty(pair.EventsA.OfType<IkeSaUp>());
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
        if (moonInitiates)
        {
            // Sun, the responder, had established its side; moon's INFORMATIONAL with AUTHENTICATION_FAILED ended it.
            Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("reported AUTHENTICATION_FAILED", StringComparison.Ordinal));
            Assert.Single(pair.EventsB.OfType<IkeSaDown>());
        }
        else
        {
            Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
        }
    }

    private static (Certificate, SignaturePrivateKey) IssueWithoutSigning(TestPki.Ca ca, string kind)
    {
        var (key, _) = TestPki.Key(kind, "sun.example");
        var spki = key.ExportSubjectPublicKeyInfo();
        // A certificate whose keyUsage is keyEncipherment only: built by hand with the BCL, signed by the intermediate.
        var cert = KeyUsageOnly(ca, spki);
        return (cert, key);
    }

    private static Certificate KeyUsageOnly(TestPki.Ca ca, byte[] spki)
    {
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            new System.Security.Cryptography.X509Certificates.X500DistinguishedName("C=CH, O=Oakley Test, CN=sun.example", System.Security.Cryptography.X509Certificates.X500DistinguishedNameFlags.None),
            System.Security.Cryptography.X509Certificates.PublicKey.CreateFromSubjectPublicKeyInfo(spki, out _), System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyEncipherment, true));
        var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        san.AddDnsName("sun.example");
        request.CertificateExtensions.Add(san.Build());
        using var ecdsa = System.Security.Cryptography.ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(TestPki.Key("ecdsa256", "Oakley Test intermediate").Pkcs8, out _);
        using var created = request.Create(ca.Intermediate.Subject, System.Security.Cryptography.X509Certificates.X509SignatureGenerator.CreateForECDsa(ecdsa),
            TestPki.Epoch, TestPki.Epoch.AddYears(1), [9]);
        return Certificate.Parse(created.RawData, out _)!;
    }

    /// <summary>Records each side's IKE_AUTH AUTH payload and how many CERT payloads came with it (decrypted with the SA's keys).</summary>
    internal static void Capture(EnginePair pair, Scenario scenario, List<(bool FromA, AuthenticationPayload Auth, int Certs)> auths)
    {
        _ = scenario;
        var watch = new PayloadRuleWatch(pair.A, pair.B);
        pair.Inspect = (fromA, datagram) =>
        {
            if (datagram is [0xFF])
            {
                return;
            }

            var payloads = watch.Check(datagram, out var header);
            if (header.ExchangeType == ExchangeType.IkeAuth && payloads?.OfType<AuthenticationPayload>().FirstOrDefault() is { } auth)
            {
                auths.Add((fromA, auth, payloads.OfType<CertificatePayload>().Count()));
            }
        };
    }
}
