using Oakley.Engine.Certificates;
using Oakley.Testing;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>
/// Revocation (issue 15): CRLs and OCSP decoded and verified, the policies (relaxed, ifuri, strict), and an answer
/// still being fetched deferring IKE_AUTH until a retransmission, in both roles.
/// </summary>
public class RevocationTests
{
    private const string Kind = "ecdsa256";
    private static readonly DateTimeOffset Now = Scenario.Start;

    [Fact]
    public void Crl_ListsTheRevokedSerial_AndIsVerifiedAgainstItsIssuer()
    {
        var ca = TestPki.NewCa(Kind);
        var (sun, _) = TestPki.Issue(ca, Kind, "sun.example");
        var (moon, _) = TestPki.Issue(ca, Kind, "moon.example");
        var der = TestRevocation.Crl(ca, Kind, [(sun, Now.AddDays(-3))], Now.AddDays(-1), Now.AddDays(6));
        var crl = Crl.Parse(der, out var error, "x509crl/ca.crl")!;
        Assert.Equal("", error);
        Assert.True(crl.IsIssuedBy(ca.Intermediate));
        Assert.False(crl.IsIssuedBy(ca.Root));
        Assert.Equal("keyCompromise", crl.Find(sun)!.Value.Reason);
        Assert.Null(crl.Find(moon));
        Assert.Null(Crl.Parse(der.AsSpan(0, der.Length - 3), out var truncated));
        Assert.StartsWith("malformed CRL", truncated, StringComparison.Ordinal);

        var checker = new RevocationChecker([crl], null, null);
        Assert.Equal(new RevocationStatus(RevocationState.Revoked, "certificate 'C=CH, O=Oakley Test, CN=sun.example' revoked on 2026-11-21, keyCompromise (CRL from x509crl/ca.crl)"),
            checker.Check(sun, ca.Intermediate, Now));
        Assert.Equal(RevocationState.Good, checker.Check(moon, ca.Intermediate, Now).State);
        Assert.Equal(RevocationState.Unknown, checker.Check(moon, ca.Intermediate, Now.AddDays(10)).State); // stale
    }

    [Fact]
    public void Ocsp_GoodRevokedAndForged_Answers()
    {
        var ca = TestPki.NewCa(Kind);
        var other = TestPki.NewCa(Kind, "Other");
        var (sun, _) = TestPki.Issue(ca, Kind, "sun.example");
        var nonce = new byte[16];
        nonce[0] = 7;
        var request = Ocsp.Request(sun, ca.Intermediate, nonce);
        var good = TestRevocation.OcspResponse(ca, Kind, request, null, Now.AddMinutes(-1), Now.AddHours(1));
        Assert.Equal(RevocationState.Good, Ocsp.Check(good, sun, ca.Intermediate, nonce, Now, "http://ocsp.example").State);
        var revoked = TestRevocation.OcspResponse(ca, Kind, request, Now.AddDays(-1), Now.AddMinutes(-1), Now.AddHours(1));
        Assert.Equal("certificate 'C=CH, O=Oakley Test, CN=sun.example' revoked on 2026-11-23 (OCSP from http://ocsp.example)",
            Ocsp.Check(revoked, sun, ca.Intermediate, nonce, Now, "http://ocsp.example").Detail);
        var replayed = TestRevocation.OcspResponse(ca, Kind, request, null, Now.AddMinutes(-1), Now.AddHours(1), nonce: new byte[16]);
        Assert.Equal("OCSP response from http://ocsp.example does not carry our nonce", Ocsp.Check(replayed, sun, ca.Intermediate, nonce, Now, "http://ocsp.example").Detail);
        var forged = TestRevocation.OcspResponse(other, Kind, request, null, Now.AddMinutes(-1), Now.AddHours(1));
        Assert.StartsWith("OCSP response from http://ocsp.example is not signed by", Ocsp.Check(forged, sun, ca.Intermediate, nonce, Now, "http://ocsp.example").Detail, StringComparison.Ordinal);
        var old = TestRevocation.OcspResponse(ca, Kind, request, null, Now.AddDays(-2), Now.AddDays(-1));
        Assert.StartsWith("OCSP response from http://ocsp.example is not current", Ocsp.Check(old, sun, ca.Intermediate, nonce, Now, "http://ocsp.example").Detail, StringComparison.Ordinal);
        Assert.StartsWith("malformed OCSP response", Ocsp.Check([0x30, 0x03, 0x0a, 0x01], sun, ca.Intermediate, nonce, Now, "x").Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RevokedPeer_IsRefused_InBothRoles(bool moonInitiates)
    {
        var ca = TestPki.NewCa(Kind);
        var scenario = CertificateAuthenticationTests.Pki(Kind, ca: ca);
        var sunCert = scenario.SunLocalAuth.Certificates[0];
        var crl = Crl.Parse(TestRevocation.Crl(ca, Kind, [(sunCert, Now.AddDays(-3))], Now.AddDays(-1), Now.AddDays(6)), out _, "x509crl/lab.crl")!;
        scenario.MoonCertificates = new CertificateStore([ca.Root, ca.Intermediate], []) { Revocation = new RevocationChecker([crl], null, null) };
        var pair = scenario.Build();
        pair.Initiate(moonInitiates);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("certificate 'C=CH, O=Oakley Test, CN=sun.example' revoked on 2026-11-21, keyCompromise (CRL from x509crl/lab.crl)", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
    }

    [Theory]
    [InlineData(RevocationPolicy.Strict, true)]
    [InlineData(RevocationPolicy.IfUri, false)]
    [InlineData(RevocationPolicy.Relaxed, false)]
    public void UnknownStatus_FailsOnlyUnderStrict_WhenNoUriIsNamed(RevocationPolicy policy, bool refused)
    {
        var scenario = CertificateAuthenticationTests.Pki(Kind);
        scenario.MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, Revocation = policy };
        var pair = scenario.Build();
        pair.Initiate(true);
        Assert.Equal(refused, pair.A.IkeSas.Count == 0);
        if (refused)
        {
            Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains(
                "revocation status of certificate 'C=CH, O=Oakley Test, CN=sun.example' unknown (no CRL or OCSP responder for 'C=CH, O=Oakley Test, CN=sun.example'; revocation = strict)", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The CRL of sun's distribution point is still being fetched: moon drops the IKE_AUTH message, whichever role
    /// it has; the retransmission after the fetch completes is processed, and the SA comes up (or is refused if the
    /// CRL revokes sun).
    /// </summary>
    [Theory]
    [InlineData(true, false, RevocationPolicy.IfUri)]
    [InlineData(false, false, RevocationPolicy.IfUri)]
    [InlineData(true, true, RevocationPolicy.IfUri)]
    [InlineData(false, true, RevocationPolicy.IfUri)]
    [InlineData(true, true, RevocationPolicy.Relaxed)]
    [InlineData(false, true, RevocationPolicy.Relaxed)]
    public void AnAnswerBeingFetched_DefersIkeAuth_UntilTheRetransmission(bool moonInitiates, bool revoke, RevocationPolicy policy)
    {
        var ca = TestPki.NewCa(Kind);
        const string url = "http://crl.example/lab.crl";
        var scenario = CertificateAuthenticationTests.Pki(Kind, sunCert: c => TestPki.IssueWithCrl(c, Kind, "sun.example", url), ca: ca);
        var sunCert = scenario.SunLocalAuth.Certificates[0];
        var source = new SlowSource();
        scenario.MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, Revocation = policy };
        scenario.MoonCertificates = new CertificateStore([ca.Root, ca.Intermediate], []) { Revocation = new RevocationChecker([], source, new SeededEntropy(3)) };
        var pair = scenario.Build();
        pair.Initiate(moonInitiates);
        Assert.Equal([url], source.Asked);
        Assert.Empty(pair.EventsA.OfType<IkeSaUp>());
        Assert.Contains(pair.A.Stats.Dropped.Keys, k => k.StartsWith("awaiting revocation status of 'C=CH, O=Oakley Test, CN=sun.example'", StringComparison.Ordinal));

        source.Crl = TestRevocation.Crl(ca, Kind, revoke ? [(sunCert, Now.AddDays(-3))] : [], Now.AddDays(-1), Now.AddDays(6));
        pair.RunUntilIdle(TimeSpan.FromSeconds(30));
        if (revoke)
        {
            Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains($"revoked on 2026-11-21, keyCompromise (CRL from {url})", StringComparison.Ordinal));
            Assert.Empty(pair.A.IkeSas);
            Assert.Empty(pair.B.IkeSas);
        }
        else
        {
            Assert.Single(pair.EventsA.OfType<IkeSaUp>());
            Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        }
    }

    /// <summary>A fetcher whose CRL arrives when the test says so.</summary>
    private sealed class SlowSource : IRevocationSource
    {
        public byte[]? Crl { get; set; }

        public List<string> Asked { get; } = [];

        FetchedDocument IRevocationSource.Crl(string url, bool refresh)
        {
            if (!Asked.Contains(url))
            {
                Asked.Add(url);
            }

            return new FetchedDocument(Crl, null, Crl is null);
        }

        public FetchedDocument Ocsp(string url, byte[] request, string key) => new(null, "no OCSP here", false);
    }
}
