using Oakley.Engine.Eap;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;
using Xunit;

namespace Oakley.Engine.Tests;

/// <summary>
/// Multiple authentication rounds (RFC 4739): moon authenticates as a machine (PSK here) and then as the user carol
/// with EAP-MSCHAPv2, or with a second PSK round; sun requires both. The CHILD SA comes with the last round.
/// </summary>
public class MultipleAuthTests
{
    private static readonly AuthConfig CarolEap = new() { Class = AuthClass.Eap, EapMethod = EapType.MsChapV2, RoundId = Identity.Parse("carol@example.org") };

    private static Scenario TwoRounds(AuthConfig? moon2 = null, AuthConfig? sun2 = null)
    {
        var s = new Scenario
        {
            MoonMoreLocal = moon2 is null ? [] : [moon2],
            SunMoreRemote = sun2 is null ? [] : [sun2],
        };
        s.MoonEap.Add(("carol@example.org", "carol's password"));
        s.SunEap.Add(("carol@example.org", "carol's password"));
        return s;
    }

    [Fact]
    public void MachineThenUser_BothRoundsRun_AndTheChildComesLast()
    {
        var scenario = TwoRounds(CarolEap, new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.MsChapV2, EapId = Identity.Parse("%any") });
        var pair = scenario.Build();
        var messages = new List<(bool FromA, List<IkePayload> Payloads)>();
        var watch = new PayloadRuleWatch(pair.A, pair.B);
        pair.Inspect = (fromA, d) =>
        {
            if (d is not [0xFF] && watch.Check(d, out var h) is { } p && h.ExchangeType == ExchangeType.IkeAuth)
            {
                messages.Add((fromA, p.ToList()));
            }
        };
        pair.Initiate(fromMoon: true);

        var sun = Assert.Single(pair.B.IkeSas, s => s.State == IkeSaState.Established);
        Assert.Single(pair.A.IkeSas, s => s.State == IkeSaState.Established);
        Assert.Equal(("moon.example", "carol@example.org"), (sun.RemoteIdentity?.ToString(), sun.EapIdentity?.ToString()));
        Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
        // Round 1: AUTH both ways with ANOTHER_AUTH_FOLLOWS, no SA in the answer; round 2 opens with carol's IDi alone.
        Assert.Contains(messages[0].Payloads, p => p is NotifyPayload { NotifyType: NotifyType.AnotherAuthFollows });
        Assert.Contains(messages[0].Payloads, p => p is NotifyPayload { NotifyType: NotifyType.MultipleAuthSupported });
        Assert.Contains(messages[1].Payloads, p => p is AuthenticationPayload);
        Assert.DoesNotContain(messages[1].Payloads, p => p is SecurityAssociationPayload);
        var second = messages[2].Payloads.OfType<IdentificationPayload>().Single();
        Assert.Equal("carol@example.org", new Identity(second.IdType, second.Data.ToArray()).ToString());
        Assert.DoesNotContain(messages[2].Payloads, p => p is AuthenticationPayload);
        Assert.Contains(messages[^1].Payloads, p => p is SecurityAssociationPayload);
        Assert.Contains(messages[^1].Payloads, p => p is AuthenticationPayload);
    }

    [Fact]
    public void ASecondPskRound_WithItsOwnIdentity()
    {
        var second = new AuthConfig { Class = AuthClass.Psk, RoundId = Identity.Parse("user.example") };
        var scenario = TwoRounds(second, new AuthConfig { Class = AuthClass.Psk, RoundId = Identity.Parse("user.example") });
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        // No PSK for user.example: moon cannot build round 2, and says which key is missing.
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("authentication round 2: no shared key found for 'user.example'", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
    }

    [Fact]
    public void AGatewayRequiringTwoRounds_RefusesAClientWithOne()
    {
        var pair = TwoRounds(null, CarolEap).Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("requires 2 authentication rounds (RFC 4739), and 'moon.example' completed 1", StringComparison.Ordinal));
        Assert.Empty(pair.B.IkeSas);
        Assert.Empty(pair.A.IkeSas);
    }

    [Fact]
    public void AClientWithTwoRounds_DoesNotStartWithAGatewayThatAnnouncesNone()
    {
        var pair = TwoRounds(CarolEap, null).Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("the peer does not support multiple authentication (no MULTIPLE_AUTH_SUPPORTED, RFC 4739)", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
    }

    [Fact]
    public void AWrongSecondRoundIdentity_IsRefused()
    {
        var pair = TwoRounds(CarolEap, new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.MsChapV2, RoundId = Identity.Parse("*@other.example") }).Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("authentication round 2: identity 'carol@example.org' does not match the configured '*@other.example'", StringComparison.Ordinal));
        Assert.Empty(pair.B.IkeSas);
    }
}
