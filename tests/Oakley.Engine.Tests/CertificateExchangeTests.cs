using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>
/// The rest of public-key IKE_AUTH (issue 15): raw public keys, CERTREQ choosing our certificate, remote.cacerts and
/// remote.certs, send_cert, signature schemes, a forged signature, broken certificates in CERT payloads, and a
/// chain that only fits through IKE fragmentation.
/// </summary>
public class CertificateExchangeTests
{
    private static void AssertUp(Testing.EnginePair pair)
    {
        Assert.True(pair.EventsA.OfType<IkeSaUp>().Count() == 1, string.Join("\n", pair.EventsA.Concat(pair.EventsB).OfType<Alert>().Select(a => a.Message)));
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
    }

    private static void AssertRefusedByMoon(Testing.EnginePair pair, string expected)
    {
        var alerts = pair.EventsA.OfType<Alert>().Select(a => a.Message).ToList();
        Assert.True(alerts.Any(m => m.Contains(expected, StringComparison.Ordinal)), string.Join("\n", alerts));
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RawPublicKeys_BothWays_Establish(bool moonInitiates)
    {
        var pair = RawKeys().Build();
        pair.Initiate(moonInitiates);
        AssertUp(pair);
    }

    [Fact]
    public void RawPublicKey_NotTheConfiguredOne_IsRefused()
    {
        var (otherKey, _) = TestPki.Key("ecdsa256", "someone else");
        var scenario = RawKeys();
        scenario.MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [Public(otherKey)] };
        var pair = scenario.Build();
        pair.Initiate(true);
        AssertRefusedByMoon(pair, "ecdsa-sha256 signature does not verify with the peer's ECDSA P-256 key");
    }

    private static SignaturePublicKey Public(SignaturePrivateKey key) => SignaturePublicKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _)!;

    /// <summary>Moon (Ed25519) and sun (ECDSA P-256) with raw keys, each configured with the other's (remote.pubkeys).</summary>
    private static Scenario RawKeys()
    {
        var (moonKey, _) = TestPki.Key("ed25519", "moon raw");
        var (sunKey, _) = TestPki.Key("ecdsa256", "sun raw");
        var moonPub = Public(moonKey);
        var sunPub = Public(sunKey);
        var scenario = new Scenario
        {
            MoonPsk = null,
            SunPsk = null,
            MoonLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [moonPub] },
            MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [sunPub] },
            SunLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [sunPub] },
            SunRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [moonPub] },
        };
        scenario.MoonKeys.Add(moonKey);
        scenario.SunKeys.Add(sunKey);
        return scenario;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CertificateRequest_ChoosesTheCertificateUnderTheRequestedCa(bool moonInitiates)
    {
        var first = TestPki.NewCa("ecdsa256", "First");
        var second = TestPki.NewCa("ecdsa256", "Second");
        var (moonFirst, moonKey1) = TestPki.Issue(first, "ecdsa256", "moon.example");
        var (moonSecond, moonKey2) = TestPki.Issue(second, "ecdsa256", "moon.example");
        // Sun trusts only the second CA; moon lists the first certificate first.
        var scenario = CertificateAuthenticationTests.Pki("ecdsa256", ca: second);
        scenario.MoonLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [moonFirst, moonSecond] };
        scenario.MoonKeys.Clear();
        scenario.MoonKeys.AddRange([moonKey1, moonKey2]);
        scenario.MoonCertificates = new CertificateStore([first.Root, first.Intermediate, second.Root, second.Intermediate], []);
        scenario.SunCertificates = new CertificateStore([second.Root], []);
        var auths = new List<(bool FromA, AuthenticationPayload Auth, int Certs)>();
        var pair = scenario.Build();
        CertificateAuthenticationTests.Capture(pair, scenario, auths);
        pair.Initiate(moonInitiates);
        AssertUp(pair);
        // Sun's CERTREQ named the second root; moon sent the second chain (end entity and intermediate).
        Assert.Equal(2, auths.Single(a => a.FromA).Certs);
    }

    [Fact]
    public void RemoteCacerts_RefusesAChainThroughAnotherCa()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var other = TestPki.NewCa("ecdsa256", "Other");
        var scenario = CertificateAuthenticationTests.Pki("ecdsa256", ca: ca);
        scenario.MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, CaCertificates = [other.Root] };
        scenario.MoonCertificates = new CertificateStore([ca.Root, ca.Intermediate, other.Root], []);
        var pair = scenario.Build();
        pair.Initiate(true);
        AssertRefusedByMoon(pair, "does not contain a CA of remote.cacerts (C=CH, O=Other, CN=Other Root CA)");
    }

    [Fact]
    public void PinnedRemoteCertificate_WithSendCertNever_NeedsNoCa()
    {
        // Self-signed end entities, each pinned on the other side (remote.certs); nothing is sent in CERT payloads.
        var (moonKey, _) = TestPki.Key("ecdsa256", "moon pinned");
        var (sunKey, _) = TestPki.Key("ecdsa256", "sun pinned");
        Certificate SelfSigned(SignaturePrivateKey key, string cn) => CertificateIssuer.Issue(
            new CertificateProfile($"CN={cn}") { SubjectAltNames = [cn], NotBefore = TestPki.Epoch, NotAfter = TestPki.Epoch.AddYears(2) },
            key.ExportSubjectPublicKeyInfo(), key, null);
        var moonCert = SelfSigned(moonKey, "moon.example");
        var sunCert = SelfSigned(sunKey, "sun.example");
        var scenario = new Scenario
        {
            MoonPsk = null,
            SunPsk = null,
            MoonSendCert = SendCertPolicy.Never,
            SunSendCert = SendCertPolicy.Never,
            MoonLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [moonCert] },
            MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [sunCert] },
            SunLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [sunCert] },
            SunRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [moonCert] },
        };
        scenario.MoonKeys.Add(moonKey);
        scenario.SunKeys.Add(sunKey);
        var auths = new List<(bool FromA, AuthenticationPayload Auth, int Certs)>();
        var pair = scenario.Build();
        CertificateAuthenticationTests.Capture(pair, scenario, auths);
        pair.Initiate(true);
        AssertUp(pair);
        Assert.All(auths, a => Assert.Equal(0, a.Certs));
    }

    [Fact]
    public void UnacceptableSignatureScheme_IsRefused_NamingWhatIsAllowed()
    {
        var scenario = CertificateAuthenticationTests.Pki("ecdsa256");
        scenario.MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, Schemes = [SignatureSchemes.EcdsaSha384, SignatureSchemes.Ed25519] };
        var pair = scenario.Build();
        pair.Initiate(true);
        AssertRefusedByMoon(pair, "signature scheme ecdsa-sha256 not acceptable (allowed: ecdsa-sha384, ed25519)");
    }

    [Fact]
    public void ForgedSignature_FromTheWrongKey_IsRefused()
    {
        var scenario = CertificateAuthenticationTests.Pki("ecdsa256");
        var (wrong, _) = TestPki.Key("ecdsa256", "not sun's key");
        scenario.SunStore = inner => new WrongKeyStore(inner, wrong);
        var pair = scenario.Build();
        pair.Initiate(true);
        AssertRefusedByMoon(pair, "AUTH payload of 'sun.example' did not verify: ecdsa-sha256 signature does not verify with the peer's ECDSA P-256 key");
    }

    [Theory]
    [InlineData("signature")]
    [InlineData("encoding")]
    public void BrokenCertificateInTheCertPayload_IsRefused(string damage)
    {
        var scenario = CertificateAuthenticationTests.Pki("ecdsa256");
        var sunCert = scenario.SunLocalAuth.Certificates[0];
        var bytes = (byte[])sunCert.Der.Clone();
        if (damage == "signature")
        {
            bytes[^3] ^= 0x40; // inside the signature value
        }
        else
        {
            bytes[1] ^= 0x01; // the outer SEQUENCE length
        }

        // Sun still signs with its (good) key; only the certificate bytes it sends are damaged.
        var damaged = new DamagedCertificateStore(bytes);
        scenario.SunStore = inner => damaged.Wrap(inner);
        scenario.SunLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [sunCert] };
        var pair = scenario.Build();
        damaged.Apply(sunCert);
        pair.Initiate(true);
        AssertRefusedByMoon(pair, damage == "signature"
            ? "signature of certificate 'C=CH, O=Oakley Test, CN=sun.example' does not verify with the key of 'C=CH, O=Oakley Test, CN=Oakley Test Intermediate CA'"
            : "CERT payload 1 of 'sun.example' is not a usable X.509 certificate: ");
    }

    [Fact]
    public void Rsa3072ChainOfFourCertificates_TravelsInIkeFragments()
    {
        var scenario = CertificateAuthenticationTests.Pki("rsa3072");
        var pair = scenario.Build();
        pair.Initiate(true);
        AssertUp(pair);
        // Each IKE_AUTH message holds two 3072-bit certificates and a 384-byte signature: more than a 1280-byte path.
        Assert.True(pair.Log.Count(l => l.Contains("IKE_AUTH request #1 [SKF(", StringComparison.Ordinal)) >= 3, string.Join("\n", pair.Log));
        Assert.True(pair.Log.Count(l => l.Contains("IKE_AUTH response #1 [SKF(", StringComparison.Ordinal)) >= 3, string.Join("\n", pair.Log));
    }

    /// <summary>Hands out the wrong private key for any certificate: the AUTH it signs cannot verify.</summary>
    private sealed class WrongKeyStore(ISecretStore inner, SignaturePrivateKey wrong) : ISecretStore
    {
        public CertificateStore Certificates => inner.Certificates;

        public byte[]? FindSharedKey(Identity local, Identity? remote) => inner.FindSharedKey(local, remote);

        public SignaturePrivateKey? FindPrivateKey(ReadOnlySpan<byte> subjectPublicKeyInfo) => inner.FindPrivateKey(subjectPublicKeyInfo) is null ? null : wrong;
    }

    /// <summary>Overwrites the DER of the certificate sun sends (its parsed form, and so its key, stay good).</summary>
    private sealed class DamagedCertificateStore(byte[] bytes)
    {
        public ISecretStore Wrap(ISecretStore inner) => inner;

        public void Apply(Certificate cert) => bytes.CopyTo(cert.Der, 0);
    }
}

/// <summary>load-all with renewed credentials (issue 15): the SAs stay, and the next authentication uses the new certificate.</summary>
public class CertificateReloadTests
{
    [Fact]
    public void ARenewedCertificate_KeepsTheSas_AndIsUsedByTheNextAuthentication()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var scenario = CertificateAuthenticationTests.Pki("ecdsa256", ca: ca);
        var pair = scenario.Build();
        pair.Initiate(true);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        var sa = Assert.Single(pair.A.IkeSas);
        var old = sa.Config;

        // The same connection with a renewed end-entity certificate (same subject, same key, new serial and validity).
        var (renewed, _) = TestPki.Issue(ca, "ecdsa256", "moon.example", notAfter: TestPki.Epoch.AddYears(7));
        var config = new IkeConfig
        {
            Name = old.Name, LocalAddresses = old.LocalAddresses, RemoteAddresses = old.RemoteAddresses, Proposals = old.Proposals, LocalId = old.LocalId,
            RemoteId = old.RemoteId, Children = old.Children, Fragmentation = old.Fragmentation, Mobike = old.Mobike, SendInitialContact = old.SendInitialContact,
            LocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [renewed] }, RemoteAuth = old.RemoteAuth,
        };
        Assert.Equal(0, pair.A.Reconfigure(pair.Now, [config], new Testing.InMemorySecrets().AddKey(scenario.MoonKeys[0])).Deleted);
        Assert.Same(sa, Assert.Single(pair.A.IkeSas));
        Assert.Equal(renewed.Fingerprint, sa.Config.LocalAuth.Certificates[0].Fingerprint);
    }
}

/// <summary>An initiator that does not accept the responder's identity tells it, so that no half of an SA stays behind.</summary>
public class InitiatorRefusalTests
{
    [Fact]
    public void AnUnexpectedResponderIdentity_EndsTheResponderSaToo()
    {
        var scenario = CertificateAuthenticationTests.Pki("ecdsa256");
        scenario.MoonExpects = Identity.Parse("*.other.example");
        var pair = scenario.Build();
        pair.Initiate(true);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message == "peer identity 'sun.example' does not match the configured '*.other.example'");
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("reported AUTHENTICATION_FAILED", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
    }
}
