using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using Oakley.Engine.Eap;
using Oakley.Testing;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>
/// EAP-TLS in IKE_AUTH, engine to engine (RFC 7296 §2.16, RFC 5216): moon is the client (<c>local.auth = eap-tls</c>
/// with its certificate), sun the gateway (<c>remote.auth = eap-tls</c>), authenticated by its certificate in IKE or,
/// with EAP-only (RFC 5998), by EAP-TLS alone; both AUTH payloads are keyed with the EAP-TLS MSK.
/// </summary>
public class EapTlsIkeAuthTests
{
    private static Scenario EapTls(string kind, bool eapOnly, Func<TestPki.Ca, (Certificate, SignaturePrivateKey)>? moonCert = null, TestPki.Ca? sunTrusts = null)
    {
        var ca = TestPki.NewCa(kind, "EAP-TLS " + kind);
        var (moon, moonKey) = moonCert?.Invoke(ca) ?? TestPki.Issue(ca, kind, "moon.example");
        var (sun, sunKey) = TestPki.Issue(ca, kind, "sun.example");
        var eap = new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.Tls };
        var scenario = new Scenario
        {
            MoonPsk = null,
            SunPsk = null,
            MoonLocalAuth = new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.Tls, Certificates = [moon] },
            MoonRemoteAuth = eapOnly ? eap : new AuthConfig { Class = AuthClass.PublicKey },
            SunLocalAuth = eapOnly ? new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.Tls, Certificates = [sun] } : new AuthConfig { Class = AuthClass.PublicKey, Certificates = [sun] },
            SunRemoteAuth = eap,
            MoonCertificates = new CertificateStore([ca.Root, ca.Intermediate], []),
            // An intermediate among the authorities would be an anchor itself: a gateway trusting another CA holds only that root.
            SunCertificates = sunTrusts is null ? new CertificateStore([ca.Root, ca.Intermediate], []) : new CertificateStore([sunTrusts.Root], []),
        };
        scenario.MoonKeys.Add(moonKey);
        scenario.SunKeys.Add(sunKey);
        return scenario;
    }

    [Theory]
    [InlineData("ecdsa256", false)]
    [InlineData("ecdsa256", true)]
    [InlineData("rsa2048", false)]
    [InlineData("ed25519", true)]
    public void EapTls_EstablishesTheSa_WithAndWithoutEapOnly(string kind, bool eapOnly)
    {
        var pair = EapTls(kind, eapOnly).Build();
        pair.Initiate(true);

        var downs = pair.EventsA.OfType<IkeSaDown>().Concat(pair.EventsB.OfType<IkeSaDown>()).Select(d => d.Reason);
        Assert.True(pair.EventsA.OfType<IkeSaUp>().Count() == 1, string.Join("; ", downs));
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        Assert.Equal("moon.example", pair.B.IkeSas.Single().RemoteIdentity!.ToString());
        Assert.Equal(2, pair.EventsA.OfType<ChildSaInstall>().Count() + pair.EventsB.OfType<ChildSaInstall>().Count());
    }

    [Fact]
    public void ARevokedClientCertificate_IsRefusedByTheGateway()
    {
        var ca = TestPki.NewCa("ecdsa256", "EAP-TLS revoked");
        Certificate? moonCert = null;
        var scenario = EapTls("ecdsa256", eapOnly: false, moonCert: _ =>
        {
            var issued = TestPki.Issue(ca, "ecdsa256", "moon.example");
            moonCert = issued.Cert;
            return issued;
        });
        var now = Scenario.Start;
        var crl = Crl.Parse(TestRevocation.Crl(ca, "ecdsa256", [(moonCert!, now.AddDays(-3))], now.AddDays(-1), now.AddDays(6)), out _, "x509crl/lab.crl")!;
        scenario.MoonCertificates = new CertificateStore([ca.Root, ca.Intermediate, .. scenario.MoonCertificates.Authorities], []);
        scenario.SunCertificates = new CertificateStore([ca.Root, ca.Intermediate, .. scenario.SunCertificates.Authorities], []) { Revocation = new RevocationChecker([crl], null, null) };
        var pair = scenario.Build();
        pair.Initiate(true);

        Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("certificate 'C=CH, O=Oakley Test, CN=moon.example' revoked", StringComparison.Ordinal));
    }

    [Fact]
    public void AClientOfAnUntrustedCa_GetsNoSa_AndTheGatewaySaysWhy()
    {
        var other = TestPki.NewCa("ecdsa256", "Somewhere else");
        var pair = EapTls("ecdsa256", eapOnly: false, sunTrusts: other).Build();
        pair.Initiate(true);

        Assert.Empty(pair.EventsA.OfType<IkeSaUp>());
        Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
        var reasons = string.Join("; ", pair.EventsB.OfType<IkeSaDown>().Select(d => d.Reason).Concat(pair.EventsB.OfType<Alert>().Select(a => a.Message)));
        Assert.Contains("EAP-TLS", reasons);
        Assert.Contains("no trusted path from 'C=CH, O=Oakley Test, CN=moon.example'", reasons);
    }

    [Fact]
    public void AClientCertificate_ForAnotherName_GetsNoSa()
    {
        var pair = EapTls("ecdsa256", eapOnly: true, moonCert: ca => TestPki.Issue(ca, "ecdsa256", "carol.example")).Build();
        pair.Initiate(true);

        Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
        var reasons = string.Join("; ", pair.EventsB.OfType<IkeSaDown>().Select(d => d.Reason).Concat(pair.EventsB.OfType<Alert>().Select(a => a.Message)));
        Assert.Contains("ID 'moon.example' not confirmed by certificate 'C=CH, O=Oakley Test, CN=carol.example'", reasons);
    }
}
