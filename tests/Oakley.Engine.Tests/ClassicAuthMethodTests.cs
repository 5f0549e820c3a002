using Oakley.Crypto.Signature;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tests;

/// <summary>
/// The AUTH methods before RFC 7427 (issue 15): with charon.signature_authentication = no, moon announces no
/// SIGNATURE_HASH_ALGORITHMS, so sun must sign with its key's classic method: ECDSA 9/10/11 by curve, and RSA method 1
/// (SHA-1) only when configured. A responder announces only in answer to the initiator's announcement (RFC 7427 §4),
/// so when moon initiates neither side announces and both sign classically; when sun initiates, moon has read sun's
/// announcement and signs with method 14.
/// </summary>
public class ClassicAuthMethodTests
{
    [Theory]
    [InlineData("ecdsa256", AuthMethod.EcdsaSha256P256, true)]
    [InlineData("ecdsa384", AuthMethod.EcdsaSha384P384, false)]
    [InlineData("ecdsa521", AuthMethod.EcdsaSha512P521, true)]
    public void Ecdsa_SignsWithTheMethodOfItsCurve_WhenThePeerAnnouncesNothing(string kind, AuthMethod expected, bool moonInitiates)
    {
        var scenario = CertificateAuthenticationTests.Pki(kind);
        scenario.MoonSettings = scenario.MoonSettings with { SignatureAuthentication = false };
        var auths = new List<(bool FromA, AuthenticationPayload Auth, int Certs)>();
        var pair = scenario.Build();
        CertificateAuthenticationTests.Capture(pair, scenario, auths);
        pair.Initiate(moonInitiates);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Equal(expected, auths.Single(a => !a.FromA).Auth.Method);
        Assert.Equal(moonInitiates ? expected : AuthMethod.DigitalSignature, auths.Single(a => a.FromA).Auth.Method);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Rsa_WithoutRfc7427_NeedsSha1_AndRefusesWithoutIt(bool allowSha1)
    {
        var scenario = CertificateAuthenticationTests.Pki("rsa2048");
        scenario.MoonSettings = scenario.MoonSettings with { SignatureAuthentication = false };
        if (allowSha1)
        {
            // swanctl auth = rsa-sha1 on both rounds of both sides: neither announced RFC 7427.
            SignatureScheme[] sha1 = [SignatureSchemes.RsaPkcs1Sha1];
            scenario.SunLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = scenario.SunLocalAuth.Certificates, Schemes = sha1 };
            scenario.MoonLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = scenario.MoonLocalAuth.Certificates, Schemes = sha1 };
            scenario.MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, Schemes = sha1 };
            scenario.SunRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, Schemes = sha1 };
        }

        var auths = new List<(bool FromA, AuthenticationPayload Auth, int Certs)>();
        var pair = scenario.Build();
        CertificateAuthenticationTests.Capture(pair, scenario, auths);
        pair.Initiate(true);
        if (allowSha1)
        {
            Assert.Single(pair.EventsA.OfType<IkeSaUp>());
            Assert.All(auths, a => Assert.Equal(AuthMethod.RsaDigitalSignature, a.Auth.Method));
        }
        else
        {
            // Moon cannot sign either (sun did not announce in return): it fails before sending IKE_AUTH.
            Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message ==
                "the peer sent no SIGNATURE_HASH_ALGORITHMS, so an RSA key could only sign with rsa-pkcs1-sha1 (AUTH method 1), which is not acceptable");
            Assert.Empty(auths);
            Assert.Empty(pair.A.IkeSas);
            Assert.Empty(pair.EventsB.OfType<IkeSaUp>()); // sun holds a half-open SA until half_open_timeout
        }
    }

    [Fact]
    public void Sha1Signature_IsRefused_UnlessConfigured()
    {
        // Sun initiates and may sign SHA-1 (configured); moon announces nothing and accepts only the default schemes.
        var scenario = CertificateAuthenticationTests.Pki("rsa2048");
        scenario.MoonSettings = scenario.MoonSettings with { SignatureAuthentication = false };
        scenario.SunLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = scenario.SunLocalAuth.Certificates, Schemes = [SignatureSchemes.RsaPkcs1Sha1] };
        var pair = scenario.Build();
        pair.Initiate(false);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.StartsWith(
            "AUTH payload of 'sun.example' did not verify: signature scheme rsa-pkcs1-sha1 not acceptable (allowed: rsa-pss-sha256,", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
    }
}
