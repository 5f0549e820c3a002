using System.Net;
using Oakley.Engine.Eap;
using Oakley.Engine.Pools;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;
using Xunit;

namespace Oakley.Engine.Tests;

/// <summary>
/// EAP in IKE_AUTH (RFC 7296 §2.16) between a client (moon: local round EAP) and a gateway (sun: remote round EAP,
/// authenticating itself with a PSK here): the rounds, the MSK-keyed AUTH payloads, EAP-Identity, EAP-only
/// (RFC 5998), the refusals, and a gateway whose EAP server answers later (RADIUS) resumed by the host.
/// </summary>
public class EapAuthenticationTests
{
    private static AuthConfig Eap(EapType? method = null, string? eapId = null, bool dynamic = false, bool radius = false) => new()
    {
        Class = AuthClass.Eap,
        EapMethod = method,
        EapDynamic = dynamic,
        EapRadius = radius,
        EapId = eapId is null ? null : Identity.Parse(eapId),
    };

    private static Scenario RoadWarrior(EapType? clientMethod, EapType? serverMethod, string clientPassword = "carol's password", string? serverEapId = "%any")
    {
        var s = new Scenario
        {
            MoonLocalAuth = Eap(clientMethod, "carol@example.org"),
            SunRemoteAuth = Eap(serverMethod, serverEapId),
        };
        s.MoonEap.Add(("carol@example.org", clientPassword));
        s.SunEap.Add(("carol@example.org", "carol's password"));
        return s;
    }

    private static void AssertUp(EnginePair pair)
    {
        Assert.Single(pair.A.IkeSas, sa => sa.State == IkeSaState.Established);
        Assert.Single(pair.B.IkeSas, sa => sa.State == IkeSaState.Established);
        Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
    }

    [Theory]
    [InlineData(EapType.MsChapV2)]
    [InlineData(EapType.Md5)]
    [InlineData(EapType.Gtc)]
    public void ANamedMethod_AuthenticatesTheClient_InFourIkeAuthRoundsOrMore(EapType method)
    {
        var pair = RoadWarrior(method, method).Build();
        var rounds = new List<(bool FromA, List<IkePayload> Payloads)>();
        Capture(pair, rounds);
        pair.Initiate(fromMoon: true);

        AssertUp(pair);
        var sun = Assert.Single(pair.B.IkeSas);
        Assert.Equal("carol@example.org", sun.EapIdentity?.ToString());
        Assert.Equal("moon.example", sun.RemoteIdentity?.ToString());
        // Request 1: IDi, no AUTH; response 1: IDr, AUTH (the gateway's PSK) and the EAP-Identity request.
        Assert.DoesNotContain(rounds[0].Payloads, p => p is AuthenticationPayload);
        Assert.Contains(rounds[0].Payloads, p => p is NotifyPayload { NotifyType: NotifyType.EapOnlyAuthentication });
        Assert.Contains(rounds[1].Payloads, p => p is AuthenticationPayload);
        Assert.Equal(EapType.Identity, (EapType)rounds[1].Payloads.OfType<EapPayload>().Single().EapType);
        // The last round: the client's MSK (or SK_pi) AUTH, then the gateway's, the CHILD SA and nothing else.
        Assert.Contains(rounds[^2].Payloads, p => p is AuthenticationPayload);
        Assert.Contains(rounds[^1].Payloads, p => p is AuthenticationPayload);
        Assert.Contains(rounds[^1].Payloads, p => p is SecurityAssociationPayload);
        Assert.Equal(EapCode.Success, rounds[^3].Payloads.OfType<EapPayload>().Single().Code);
        Assert.True(rounds.Count >= 8, $"{rounds.Count} messages");
    }

    [Fact]
    public void WithoutEapIdentity_TheGatewayTakesTheIkeIdentity()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2, serverEapId: null);
        scenario.MoonLocalAuth = Eap(EapType.MsChapV2);
        scenario.MoonEap.Clear();
        scenario.SunEap.Clear();
        scenario.MoonEap.Add(("moon.example", "moon's password"));
        scenario.SunEap.Add(("moon.example", "moon's password"));
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        AssertUp(pair);
        Assert.Equal("moon.example", Assert.Single(pair.B.IkeSas).EapIdentity?.ToString());
    }

    [Fact]
    public void AWrongPassword_FailsBothSides_WithEapFailureAndAuthenticationFailed()
    {
        var pair = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2, clientPassword: "not carol's password").Build();
        pair.Initiate(fromMoon: true);

        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("EAP authentication of 'moon.example' failed", StringComparison.Ordinal) && a.RefusedConnection == "sun-moon");
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("EAP", StringComparison.Ordinal));
    }

    [Fact]
    public void AClientWithoutItsEapSecret_FailsBeforeAnswering_NamingIt()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2);
        scenario.MoonEap.Clear();
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("no EAP secret found for 'carol@example.org'", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
    }

    [Fact]
    public void AGatewayWithoutTheClientsSecret_Refuses_NamingIt()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2, serverEapId: "%any");
        scenario.SunEap.Clear();
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("no EAP secret found for 'carol@example.org' - 'sun.example'", StringComparison.Ordinal));
        Assert.Empty(pair.B.IkeSas);
        Assert.Empty(pair.A.IkeSas);
    }

    [Fact]
    public void EapDynamic_NeverLetsTheClientNakDownToAMethodWithoutMsk()
    {
        var pair = RoadWarrior(EapType.Md5, null, serverEapId: "%any").Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("asked for EAP-MD5 (a method without an MSK runs only when remote.auth names it)", StringComparison.Ordinal));
        Assert.Empty(pair.B.IkeSas);
    }

    [Fact]
    public void TheClientNaksAnUnwantedMethod_AndTheGatewayWithoutDynamicRefuses()
    {
        var pair = RoadWarrior(EapType.Gtc, EapType.MsChapV2).Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("the client refused EAP-MSCHAPV2 and asked for EAP-GTC", StringComparison.Ordinal));
    }

    [Fact]
    public void EapOnly_WithAMethodThatIsNotMutual_IsRefusedByTheGateway()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2);
        scenario.SunLocalAuth = Eap();
        scenario.MoonRemoteAuth = Eap();
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("EAP-only authentication needs a mutual method, and EAP-MSCHAPV2 is not", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
    }

    [Fact]
    public void AGatewayExpectingEap_RefusesAClientThatSendsAuth()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2);
        scenario.MoonLocalAuth = AuthConfig.Psk;
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("expects EAP, but 'moon.example' sent an AUTH payload instead", StringComparison.Ordinal));
    }

    [Fact]
    public void AGatewayNotExpectingEap_RefusesAClientThatAsksForIt()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2);
        scenario.SunRemoteAuth = AuthConfig.Psk;
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("asked for EAP (no AUTH payload), but connection 'sun-moon' expects psk authentication", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
    }

    [Fact]
    public void TwoUsersBehindOneIkeIdentity_AreNotDuplicates_EvenWithInitialContact()
    {
        // Windows clients send their address as IKE identity: uniqueness must compare the EAP identity too.
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2);
        scenario.MoonEap.Add(("dave@example.org", "dave's password"));
        scenario.SunEap.Add(("dave@example.org", "dave's password"));
        var pair = scenario.Build();
        var carol = pair.A.Configs[0];
        var dave = new IkeConfig
        {
            Name = "moon-sun-dave", LocalAddresses = carol.LocalAddresses, RemoteAddresses = carol.RemoteAddresses, Proposals = carol.Proposals,
            LocalId = carol.LocalId, RemoteId = carol.RemoteId, Children = carol.Children, RemoteAuth = carol.RemoteAuth,
            LocalAuth = Eap(EapType.MsChapV2, "dave@example.org"),
        };
        pair.A.Reconfigure(pair.Now, [carol, dave], pair.A.Secrets);
        pair.Initiate(fromMoon: true);
        pair.A.Initiate(pair.Now, "moon-sun-dave");
        pair.Deliver();

        var users = pair.B.IkeSas.Where(s => s.State == IkeSaState.Established).Select(s => s.EapIdentity?.ToString()).Order().ToList();
        Assert.Equal(["carol@example.org", "dave@example.org"], users);
        Assert.All(pair.B.IkeSas, s => Assert.Equal("moon.example", s.RemoteIdentity?.ToString()));
    }

    [Fact]
    public void TheSameUserAgain_WithInitialContact_ReplacesItsOldSa()
    {
        var pair = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2).Build();
        pair.Initiate(fromMoon: true);
        var first = Assert.Single(pair.B.IkeSas).Id;
        pair.A.Initiate(pair.Now, "moon-sun", reuseIkeSa: false); // a second IKE SA: INITIAL_CONTACT, the same EAP identity
        pair.Deliver();
        var left = Assert.Single(pair.B.IkeSas, s => s.State == IkeSaState.Established);
        Assert.NotEqual(first, left.Id);
    }

    [Fact]
    public void TheLeaseIsKeptForTheEapIdentity()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, EapType.MsChapV2, serverEapId: "%any");
        scenario.MoonVips = [IPAddress.Any];
        scenario.SunPools = [new PoolConfig { Name = "rw", Addresses = "192.0.2.64/28" }];
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        AssertUp(pair);
        var lease = Assert.Single(Assert.Single(pair.B.Pools.Pools).Leases);
        Assert.Equal(("192.0.2.65", "carol@example.org"), (lease.Address.ToString(), lease.Holder.ToString()));
    }

    [Fact]
    public void AnEapServerThatAnswersLater_HoldsTheRequest_AndResumeAnswersIt()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, null);
        scenario.SunRemoteAuth = Eap(radius: true);
        var pair = scenario.Build();
        var aaa = new LaterAaa();
        pair.B.EapAaa = aaa;
        pair.Initiate(fromMoon: true);

        // The client's EAP-Identity response waits for the "RADIUS server": nothing is answered yet.
        Assert.Single(aaa.Servers);
        Assert.Single(pair.B.IkeSas, s => s.State == IkeSaState.Connecting);
        Assert.True(pair.B.Stats.Dropped.ContainsKey("awaiting the EAP server (RADIUS)"));
        aaa.Servers[0].Answer = true;
        pair.B.Resume(pair.Now, pair.B.IkeSas.Single().Id);
        pair.Deliver();

        AssertUp(pair);
        Assert.Equal(0, pair.B.HeldCount);
        Assert.Equal(IPAddress.Parse("192.0.2.99"), Assert.Single(aaa.Servers[0].Outcome!.FramedAddresses));
        Assert.Equal("carol@example.org", Assert.Single(pair.B.IkeSas).EapIdentity?.ToString());
    }

    [Fact]
    public void AnSaThatGoesWhileItWaitsForTheEapServer_LeavesNothingHeld()
    {
        var scenario = RoadWarrior(EapType.MsChapV2, null);
        scenario.SunRemoteAuth = Eap(radius: true);
        var pair = scenario.Build();
        pair.B.EapAaa = new LaterAaa();
        pair.Initiate(fromMoon: true);
        Assert.Equal(1, pair.B.HeldCount);
        pair.RunUntilIdle(TimeSpan.FromMinutes(5)); // the client gives up, the half-open SA times out
        Assert.Empty(pair.B.IkeSas);
        Assert.Equal(0, pair.B.HeldCount);
    }

    [Fact]
    public void EapRadiusWithoutAServer_IsRefused_NamingTheSetting()
    {
        var scenario = RoadWarrior(EapType.Md5, null);
        scenario.SunRemoteAuth = Eap(radius: true);
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("no RADIUS server is configured (charon.plugins.eap-radius)", StringComparison.Ordinal));
    }

    [Fact]
    public void APeerGettingEapSuccessBeforeMsChapV2Finished_Fails()
    {
        var secrets = new InMemorySecrets().AddEap(Identity.Parse("carol@example.org"), "carol's password"u8.ToArray());
        using var peer = new EapPeer(Eap(EapType.MsChapV2, "carol@example.org"), Identity.Parse("moon.example"), null, secrets, new SeededEntropy(3));
        byte[] challenge = [1, 0x42, 0, 31, 26, 1, 0x42, 0, 26, 16, .. new byte[16], (byte)'g', (byte)'w', (byte)'x', (byte)'y', (byte)'z'];
        Assert.Equal(EapStepKind.Send, peer.Process(challenge).Kind);
        var step = peer.Process(EapMessage.Success(0x43));
        Assert.Equal(EapStepKind.Failure, step.Kind);
        Assert.Contains("no S= checked", step.Error, StringComparison.Ordinal);
    }

    /// <summary>A stand-in for the RADIUS relay: EAP-Identity, then MSCHAPv2 with the password "carol's password", answering the first response only once told to.</summary>
    private sealed class LaterAaa : IEapAaa
    {
        public List<LaterServer> Servers { get; } = [];

        public IEapAuthenticator? Create(EapContext context, out string? error)
        {
            error = null;
            var server = new LaterServer(context);
            Servers.Add(server);
            return server;
        }
    }

    private sealed class LaterServer(EapContext context) : IEapAuthenticator
    {
        private readonly EapServer _inner = new(
            new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.MsChapV2, EapId = Identity.Parse("%any") },
            Identity.Parse("sun.example"), context.PeerIkeIdentity,
            new InMemorySecrets().AddEap(Identity.Parse("carol@example.org"), "carol's password"u8.ToArray()), new SeededEntropy(7), requireMutual: false);

        public bool Answer { get; set; }

        public EapOutcome? Outcome => _inner.Outcome is { } o ? o with { FramedAddresses = [IPAddress.Parse("192.0.2.99")] } : null;

        public EapStep Start() => _inner.Start();

        public EapStep Process(ReadOnlyMemory<byte> response) => Answer ? _inner.Process(response) : EapStep.Wait;

        public void Dispose() => _inner.Dispose();
    }

    /// <summary>The decrypted payloads of every IKE_AUTH message, in order.</summary>
    private static void Capture(EnginePair pair, List<(bool FromA, List<IkePayload> Payloads)> into)
    {
        var watch = new PayloadRuleWatch(pair.A, pair.B);
        pair.Inspect = (fromA, datagram) =>
        {
            if (datagram is [0xFF])
            {
                return;
            }

            var payloads = watch.Check(datagram, out var header);
            if (header.ExchangeType == ExchangeType.IkeAuth && payloads is not null)
            {
                into.Add((fromA, payloads.ToList()));
            }
        };
    }
}
