using System.Reflection;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.Prf;
using Oakley.Engine.Authentication;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// No authentication without its credential (issue 12): a side with no shared key, or an empty one, neither sends
/// nor accepts an AUTH payload, in either role. The reproduced hole: an initiator without any secret, against a
/// responder configured with <c>secret = ""</c>, used to establish both SAs with an empty-key MAC.
/// </summary>
public class MissingCredentialTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InitiatorWithoutKey_SendsNoIkeAuth_AgainstAnEmptyKeyResponder(bool moonInitiates)
    {
        var pair = (moonInitiates ? new Scenario { MoonPsk = null, SunPsk = "" } : new Scenario { MoonPsk = "", SunPsk = null }).Build();
        pair.Initiate(moonInitiates);

        // IKE_SA_INIT and its response only: the initiator fails before IKE_AUTH.
        Assert.Equal(2, pair.Log.Count);
        Assert.DoesNotContain(pair.Log, l => l.Contains("IKE_AUTH", StringComparison.Ordinal));
        var (local, remote) = moonInitiates ? ("moon.example", "sun.example") : ("sun.example", "moon.example");
        Assert.Contains(pair.InitiatorEvents(moonInitiates).OfType<Alert>(), a => a.Message == $"no shared key found for '{local}' - '{remote}'");
        Assert.Single(pair.InitiatorEvents(moonInitiates).OfType<IkeSaDown>());
        Assert.Empty(pair.Initiator(moonInitiates).IkeSas);
        Assert.Empty(pair.EventsA.OfType<IkeSaUp>());
        Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
        Assert.Empty(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Empty(pair.EventsB.OfType<ChildSaInstall>());
    }

    [Theory]
    [InlineData(true, null)]
    [InlineData(false, null)]
    [InlineData(true, "")]
    [InlineData(false, "")]
    public void ResponderWithoutKey_AnswersAuthenticationFailed(bool moonInitiates, string? responderPsk)
    {
        var scenario = new Scenario();
        if (moonInitiates)
        {
            scenario.SunPsk = responderPsk;
        }
        else
        {
            scenario.MoonPsk = responderPsk;
        }

        var pair = scenario.Build();
        pair.Initiate(moonInitiates);

        Assert.Equal(4, pair.Log.Count);
        Assert.Contains("IKE_AUTH request #1", pair.Log[2], StringComparison.Ordinal);
        var (local, remote) = moonInitiates ? ("sun.example", "moon.example") : ("moon.example", "sun.example");
        Assert.Contains(pair.ResponderEvents(moonInitiates).OfType<Alert>(), a => a.Message == $"no shared key found for '{local}' - '{remote}'");
        Assert.Contains(pair.InitiatorEvents(moonInitiates).OfType<Alert>(), a => a.Message.Contains("AUTHENTICATION_FAILED", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
        Assert.Empty(pair.EventsA.OfType<IkeSaUp>());
        Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
    }

    private sealed class FixedStore(byte[]? key) : ISecretStore
    {
        public byte[]? FindSharedKey(Identity local, Identity? remote) => key;

        public Oakley.Crypto.Signature.SignaturePrivateKey? FindPrivateKey(ReadOnlySpan<byte> subjectPublicKeyInfo) => null;

        public Oakley.Engine.Certificates.CertificateStore Certificates => Oakley.Engine.Certificates.CertificateStore.Empty;
    }

    [Fact]
    public void PskAuthenticator_RefusesMissingAndEmptyKeys_NamingBothIdentities()
    {
        var moon = Identity.Parse("moon.example");
        var sun = Identity.Parse("sun.example");
        foreach (var key in new[] { null, Array.Empty<byte>() })
        {
            var result = PskAuthenticator.Create(new FixedStore(key), moon, sun);
            Assert.Null(result.Authenticator);
            Assert.Equal("no shared key found for 'moon.example' - 'sun.example'", result.Error);
        }

        Assert.Equal("no shared key found for 'moon.example' - '%any'", PskAuthenticator.Create(new FixedStore(null), moon, null).Error);
    }

    [Fact]
    public void PskAuthenticator_HasNoConstructorThatTakesNoKey()
    {
        // By construction: the only way to an authenticator is Create, which checks the key.
        Assert.Empty(typeof(PskAuthenticator).GetConstructors(BindingFlags.Public | BindingFlags.Instance));
    }

    [Fact]
    public void PskAuthenticator_BuildsRfc7296Auth_AndVerifiesOnlyItsOwnMethodAndKey()
    {
        var key = "a shared secret of some length"u8.ToArray();
        var input = new AuthInput(HmacPrf.Sha256, [1, 2, 3, 4, 5]);
        var authenticator = PskAuthenticator.Create(new FixedStore(key), Identity.Parse("a.example"), null).Authenticator!;

        var built = authenticator.Build(input);
        Assert.Equal(AuthMethod.SharedKeyMessageIntegrityCode, built.Method);
        Assert.Equal(Ikev2Auth.SharedKeyAuth(HmacPrf.Sha256, key, input.SignedOctets), built.Data.ToArray());
        Assert.True(authenticator.Verify(input, built));
        Assert.False(authenticator.Verify(input, new AuthenticationPayload(AuthMethod.RsaDigitalSignature, built.Data)));
        Assert.False(authenticator.Verify(input with { SignedOctets = [1, 2, 3, 4, 6] }, built));

        var other = PskAuthenticator.Create(new FixedStore("another secret"u8.ToArray()), Identity.Parse("a.example"), null).Authenticator!;
        Assert.False(other.Verify(input, built));
    }
}
