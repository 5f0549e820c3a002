using System.Net;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// RFC 7296 §2.6 DoS protection as strongSwan's charon does it: cookie_threshold, cookie_threshold_ip,
/// block_threshold, init_limit_half_open, the cookie calm-down, cookie secret rotation and half_open_timeout.
/// Sun is the responder; forged IKE_SA_INIT requests come from spoofed documentation addresses.
/// </summary>
public class DosProtectionTests
{
    private static readonly ForgedIkeSaInit Forger = new();

    /// <summary>What sun answered to one forged request: its response, or null when it kept silent.</summary>
    private sealed class Attacker(Endpoint responder, int seed = 7)
    {
        private readonly Random _random = new(seed);

        public (ulong Spi, byte[] Nonce, byte[] Ke, IPEndPoint Source) NewRequest(IPAddress source)
        {
            var nonce = new byte[32];
            var ke = new byte[32];
            _random.NextBytes(nonce);
            _random.NextBytes(ke);
            return ((ulong)_random.NextInt64(1, long.MaxValue), nonce, ke, new IPEndPoint(source, 500));
        }

        public IkeMessage? Send(DateTimeOffset now, (ulong Spi, byte[] Nonce, byte[] Ke, IPEndPoint Source) r, ReadOnlyMemory<byte> cookie = default)
        {
            var datagram = Forger.Build(r.Spi, r.Nonce, r.Ke, r.Source, Scenario.SunAddress, cookie);
            responder.HandleDatagram(now, Scenario.SunAddress, r.Source, datagram);
            IkeMessage? answer = null;
            while (responder.TryPollTransmit(out var t))
            {
                Assert.Equal(r.Source, t.Remote);
                answer = IkeMessage.Decode(t.Datagram);
            }

            return answer;
        }

        /// <summary>A fresh request from <paramref name="source"/>: the responder's answer.</summary>
        public IkeMessage? SendNew(DateTimeOffset now, IPAddress source) => Send(now, NewRequest(source));
    }

    private static IPAddress Ip(int i) => IPAddress.Parse(i < 254 ? $"198.51.100.{i + 1}" : $"203.0.113.{i - 253}");

    private static bool IsCookie(IkeMessage? m) => m?.Find<NotifyPayload>() is { NotifyType: NotifyType.Cookie };

    private static bool IsInitResponse(IkeMessage? m) => m is not null && m.Find<SecurityAssociationPayload>() is not null && m.Find<KeyExchangePayload>() is not null;

    private static byte[] CookieOf(IkeMessage? m) => Assert.IsType<NotifyPayload>(m?.Find<NotifyPayload>()).Data.ToArray();

    /// <summary>The maintained count must equal what a scan of the SAs finds.</summary>
    private static void AssertCountsConsistent(Endpoint e)
    {
        var halfOpen = e.IkeSas.Where(s => s.State == IkeSaState.Connecting && !s.IsOriginalInitiator).ToList();
        Assert.Equal(halfOpen.Count, e.HalfOpenCount);
        foreach (var group in halfOpen.GroupBy(s => s.Remote.Address))
        {
            Assert.Equal(group.Count(), e.HalfOpenCountOf(group.Key));
        }

        Assert.Equal(halfOpen.Select(s => s.Remote.Address).Distinct().Count(), e.HalfOpenSources);
    }

    private static Endpoint Sun(EngineSettings settings) => new Scenario { SunAcceptsAnyPeer = true, SunSettings = settings }.Build().B;

    [Fact]
    public void HalfOpenCount_FollowsCreationEstablishmentAndTimeout()
    {
        var pair = new Scenario { SunAcceptsAnyPeer = true }.Build();
        var attacker = new Attacker(pair.B);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(IsInitResponse(attacker.SendNew(pair.Now, Ip(i))));
        }

        Assert.Equal(3, pair.B.HalfOpenCount);
        Assert.Equal(1, pair.B.HalfOpenCountOf(Ip(0)));
        AssertCountsConsistent(pair.B);

        // Moon's SA is half-open between IKE_SA_INIT and IKE_AUTH, then established: no longer counted.
        pair.Initiate(true);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Equal(4, pair.B.Stats.HalfOpenPeak);
        Assert.Equal(3, pair.B.HalfOpenCount);
        Assert.Equal(0, pair.B.HalfOpenCountOf(Scenario.MoonAddress.Address));
        AssertCountsConsistent(pair.B);

        // charon.half_open_timeout: 30 s after IKE_SA_INIT the forged SAs go, silently; moon's stays.
        Assert.Equal(Scenario.Start + TimeSpan.FromSeconds(30), pair.B.PollTimeout());
        pair.AdvanceBy(TimeSpan.FromSeconds(29));
        Assert.Equal(3, pair.B.HalfOpenCount);
        pair.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.Equal(0, pair.B.HalfOpenCount);
        Assert.Equal(0, pair.B.HalfOpenSources);
        Assert.Single(pair.B.IkeSas);
        Assert.Empty(pair.EventsB.OfType<IkeSaDown>()); // never up: no IKE SA down event for them
        AssertCountsConsistent(pair.B);
    }

    [Fact]
    public void CookieThreshold_DemandsCookiesFromEveryone_WithoutKeepingState()
    {
        var sun = Sun(new EngineSettings { CookieThreshold = 10, CookieThresholdIp = 0 });
        var attacker = new Attacker(sun);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(IsInitResponse(attacker.SendNew(Scenario.Start, Ip(i))));
        }

        for (var i = 10; i < 100; i++)
        {
            var answer = attacker.SendNew(Scenario.Start, Ip(i));
            Assert.True(IsCookie(answer));
            Assert.Equal(33, CookieOf(answer).Length);
        }

        Assert.Equal(10, sun.HalfOpenCount);
        Assert.Equal(10, sun.IkeSas.Count);
        Assert.Equal(90, sun.Stats.CookiesSent);
        AssertCountsConsistent(sun);
    }

    [Fact]
    public void CookieThresholdIp_DemandsCookiesFromThatIp_AndCalmsDownAfterwards()
    {
        var sun = Sun(new EngineSettings { CookieThresholdIp = 3, CookieCalmdown = TimeSpan.FromSeconds(10) });
        var attacker = new Attacker(sun);
        var noisy = Ip(0);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(IsInitResponse(attacker.SendNew(Scenario.Start, noisy)));
        }

        Assert.True(IsCookie(attacker.SendNew(Scenario.Start, noisy)));
        Assert.Equal(3, sun.HalfOpenCountOf(noisy));

        // strongSwan keeps cookies on for everyone until no request needed one for the calm-down delay.
        Assert.True(IsCookie(attacker.SendNew(Scenario.Start + TimeSpan.FromSeconds(5), Ip(1))));
        var calm = Scenario.Start + TimeSpan.FromSeconds(16);
        Assert.True(IsInitResponse(attacker.SendNew(calm, Ip(1))));
        Assert.True(IsCookie(attacker.SendNew(calm, noisy)));
        Assert.Equal(4, sun.HalfOpenCount);
        AssertCountsConsistent(sun);
    }

    [Fact]
    public void BlockThreshold_DropsAnIpWithTooManyHalfOpenSas_EvenWithValidCookies()
    {
        var sun = Sun(new EngineSettings { CookieThresholdIp = 3, BlockThreshold = 5 });
        var attacker = new Attacker(sun);
        var source = Ip(0);
        var now = Scenario.Start;
        for (var i = 0; i < 3; i++)
        {
            Assert.True(IsInitResponse(attacker.SendNew(now, source)));
        }

        // An attacker that does receive the cookies (it owns the address) gets up to block_threshold half-open SAs.
        for (var i = 0; i < 3; i++)
        {
            var request = attacker.NewRequest(source);
            var cookie = CookieOf(attacker.Send(now, request));
            var answer = attacker.Send(now, request, cookie);
            if (i < 2)
            {
                Assert.True(IsInitResponse(answer));
            }
            else
            {
                Assert.Null(answer); // dropped silently: "peer too aggressive"
            }
        }

        Assert.Equal(5, sun.HalfOpenCountOf(source));
        Assert.Equal(1, sun.Stats.InitBlockedPerIp);
        Assert.Equal(3, sun.Stats.CookiesAccepted); // the cookie is checked first, then the block (charon's order)
        Assert.Equal(1, sun.Stats.Dropped["IKE_SA_INIT blocked (block_threshold)"]);

        // Another address is not blocked (it needs a cookie during the calm-down, and then gets its SA).
        var other = attacker.NewRequest(Ip(1));
        Assert.True(IsInitResponse(attacker.Send(now, other, CookieOf(attacker.Send(now, other)))));
        AssertCountsConsistent(sun);
    }

    [Fact]
    public void InitLimitHalfOpen_IsAHardGlobalLimit()
    {
        var sun = Sun(new EngineSettings { DosProtection = false, InitLimitHalfOpen = 5 });
        var attacker = new Attacker(sun);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(IsInitResponse(attacker.SendNew(Scenario.Start, Ip(0))));
        }

        Assert.Null(attacker.SendNew(Scenario.Start, Ip(0)));
        Assert.Null(attacker.SendNew(Scenario.Start, Ip(1)));
        Assert.Equal(5, sun.HalfOpenCount);
        Assert.Equal(2, sun.Stats.InitDroppedHalfOpenLimit);
        Assert.Equal(0, sun.Stats.CookiesSent);

        // Once one half-open SA times out, a new request is answered again.
        sun.HandleTimeout(Scenario.Start + TimeSpan.FromSeconds(30));
        Assert.Equal(0, sun.HalfOpenCount);
        Assert.True(IsInitResponse(attacker.SendNew(Scenario.Start + TimeSpan.FromSeconds(30), Ip(1))));
    }

    [Fact]
    public void Cookie_FromThePreviousSecret_IsAccepted_AndTwoRotationsOld_IsRefused()
    {
        // One half-open SA keeps cookies required for the whole test (cookie_threshold 1, no expiry meanwhile).
        var sun = Sun(new EngineSettings { CookieThreshold = 1, CookieThresholdIp = 0, CookieSecretLifetime = TimeSpan.FromMinutes(2), HalfOpenTimeout = TimeSpan.FromHours(1) });
        var attacker = new Attacker(sun);
        var t0 = Scenario.Start;
        Assert.True(IsInitResponse(attacker.SendNew(t0, Ip(0))));

        var old = attacker.NewRequest(Ip(1));
        var stale = attacker.NewRequest(Ip(2));
        var oldCookie = CookieOf(attacker.Send(t0, old));
        var staleCookie = CookieOf(attacker.Send(t0, stale));
        Assert.Equal(oldCookie[0], staleCookie[0]);

        // One rotation: a cookie of the new secret carries the next version; the old one is still good.
        var t1 = t0 + TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1);
        var fresh = attacker.NewRequest(Ip(3));
        var freshCookie = CookieOf(attacker.Send(t1, fresh));
        Assert.Equal((byte)(oldCookie[0] + 1), freshCookie[0]);
        Assert.Equal(1, sun.Stats.CookieSecretRotations);
        Assert.True(IsInitResponse(attacker.Send(t1, old, oldCookie)));
        Assert.True(IsInitResponse(attacker.Send(t1, fresh, freshCookie)));

        // A second rotation: the first secret is gone; its cookie is answered with a fresh cookie, not an SA.
        var t2 = t1 + TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1);
        var answer = attacker.Send(t2, stale, staleCookie);
        Assert.True(IsCookie(answer));
        Assert.Equal((byte)(staleCookie[0] + 2), CookieOf(answer)[0]);
        Assert.Equal(1, sun.Stats.CookiesRejected);
        Assert.Equal(2, sun.Stats.CookieSecretRotations);

        // ... which works.
        Assert.True(IsInitResponse(attacker.Send(t2, stale, CookieOf(answer))));
        Assert.Equal(4, sun.HalfOpenCount);
        AssertCountsConsistent(sun);
    }

    [Fact]
    public void Cookie_IsBoundToNonceAddressAndSpi_AndForgeriesAreRefused()
    {
        var sun = Sun(new EngineSettings { CookieThreshold = 1, CookieThresholdIp = 0 });
        var attacker = new Attacker(sun);
        Assert.True(IsInitResponse(attacker.SendNew(Scenario.Start, Ip(0))));
        var request = attacker.NewRequest(Ip(1));
        var cookie = CookieOf(attacker.Send(Scenario.Start, request));

        // The same cookie from another address, with another SPI, or with another nonce is worthless.
        Assert.True(IsCookie(attacker.Send(Scenario.Start, request with { Source = new IPEndPoint(Ip(2), 500) }, cookie)));
        Assert.True(IsCookie(attacker.Send(Scenario.Start, request with { Spi = request.Spi + 1 }, cookie)));
        Assert.True(IsCookie(attacker.Send(Scenario.Start, request with { Nonce = [.. request.Nonce.Reverse()] }, cookie)));
        var forged = (byte[])cookie.Clone();
        forged[^1] ^= 1;
        Assert.True(IsCookie(attacker.Send(Scenario.Start, request, forged)));
        Assert.True(IsCookie(attacker.Send(Scenario.Start, request, cookie[..^1])));
        Assert.Equal(5, sun.Stats.CookiesRejected);
        Assert.Equal(1, sun.HalfOpenCount);

        Assert.True(IsInitResponse(attacker.Send(Scenario.Start, request, cookie)));
    }

    [Fact]
    public void CookieReuse_RotatesTheSecretAfterSoManyCookies()
    {
        var sun = Sun(new EngineSettings { CookieThreshold = 1, CookieThresholdIp = 0, CookieReuse = 10 });
        var attacker = new Attacker(sun);
        Assert.True(IsInitResponse(attacker.SendNew(Scenario.Start, Ip(0))));
        var versions = Enumerable.Range(1, 25).Select(i => CookieOf(attacker.SendNew(Scenario.Start, Ip(i)))[0]).ToList();
        Assert.Equal(3, versions.Distinct().Count());
        Assert.Equal(2, sun.Stats.CookieSecretRotations);
    }

    [Fact]
    public void LegitimateInitiator_EstablishesDuringAFloodOfForgedRequests()
    {
        var pair = new Scenario { SunAcceptsAnyPeer = true }.Build();
        var settings = pair.B.Settings;
        var attacker = new Attacker(pair.B);
        var random = new Random(2026);
        var toForged = 0;
        pair.A.Initiate(pair.Now, "moon-sun");

        // 50 rounds of 100 forged requests, each followed by one hop of the legitimate exchange.
        var now = pair.Now;
        for (var round = 0; round < 50; round++)
        {
            for (var i = 0; i < 100; i++)
            {
                var source = random.Next(2) == 0 ? IPAddress.Parse($"198.51.100.{random.Next(1, 255)}") : IPAddress.Parse($"203.0.113.{random.Next(1, 255)}");
                var answer = attacker.SendNew(now, source);
                toForged += answer is null ? 0 : 1;
                Assert.True(pair.B.HalfOpenCount <= settings.CookieThreshold + 1);
            }

            while (pair.A.TryPollTransmit(out var t))
            {
                pair.B.HandleDatagram(now, t.Remote, t.Local, t.Datagram);
            }

            while (pair.B.TryPollTransmit(out var t))
            {
                Assert.Equal(Scenario.MoonAddress.Address, t.Remote.Address); // only moon gets anything but the forged answers (IKE moves to 4500 after IKE_SA_INIT)
                pair.A.HandleDatagram(now, t.Remote, t.Local, t.Datagram);
            }

            now += TimeSpan.FromMilliseconds(100);
        }

        var events = new List<EngineEvent>();
        while (pair.A.TryPollEvent(out var e))
        {
            events.Add(e);
        }

        Assert.Single(events.OfType<IkeSaUp>());
        Assert.Single(events.OfType<ChildSaInstall>());
        Assert.True(pair.B.Stats.CookiesAccepted >= 1); // moon had to return a cookie
        Assert.True(pair.B.Stats.HalfOpenPeak <= settings.CookieThreshold + 1);
        Assert.Equal(5000, toForged); // every forged request was answered: an SA (until the threshold) or a COOKIE
        Assert.True(pair.B.Stats.CookiesSent >= 5000 - settings.CookieThreshold - 1);
        Assert.True(pair.B.IkeSas.Count <= settings.CookieThreshold + 1);
        AssertCountsConsistent(pair.B);
    }

    [Fact]
    public void AuthenticationFailure_ReleasesTheHalfOpenSlot()
    {
        var pair = new Scenario { SunAcceptsAnyPeer = true, SunPsk = "not the same secret" }.Build();
        pair.Initiate(true);
        Assert.Equal(1, pair.B.Stats.HalfOpenPeak);
        Assert.Equal(0, pair.B.HalfOpenCount);
        Assert.Equal(0, pair.B.HalfOpenSources);
        Assert.Empty(pair.B.IkeSas);
    }

    /// <summary>
    /// A random mix of forged requests (some returning their cookies), legitimate establishments, terminations and
    /// time passing: after every step the maintained counts equal a scan, and no limit is ever exceeded.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomTraffic_CountsStayExact_AndLimitsHold(int seed)
    {
        var settings = new EngineSettings { CookieThreshold = 12, CookieThresholdIp = 2, BlockThreshold = 4, InitLimitHalfOpen = 16, HalfOpenTimeout = TimeSpan.FromSeconds(20) };
        var pair = new Scenario { SunAcceptsAnyPeer = true, SunSettings = settings, Seed = seed }.Build();
        var attacker = new Attacker(pair.B, seed);
        var random = new Random(seed);
        var sources = Enumerable.Range(0, 6).Select(Ip).ToArray();
        var now = pair.Now;
        for (var step = 0; step < 3000; step++)
        {
            switch (random.Next(10))
            {
                case < 5:
                    attacker.SendNew(now, sources[random.Next(sources.Length)]);
                    break;
                case < 8:
                    var request = attacker.NewRequest(sources[random.Next(sources.Length)]);
                    if (attacker.Send(now, request) is { } answer && IsCookie(answer))
                    {
                        attacker.Send(now, request, CookieOf(answer));
                    }

                    break;
                case 8:
                    now += TimeSpan.FromSeconds(random.Next(6));
                    pair.B.HandleTimeout(now);
                    while (pair.B.TryPollTransmit(out _))
                    {
                    }

                    break;
                default:
                    if (random.Next(4) == 0)
                    {
                        pair.B.Terminate(now);
                        while (pair.B.TryPollTransmit(out _))
                        {
                        }
                    }

                    break;
            }

            Assert.True(pair.B.HalfOpenCount <= settings.InitLimitHalfOpen);
            Assert.All(sources, s => Assert.True(pair.B.HalfOpenCountOf(s) <= settings.BlockThreshold));
            AssertCountsConsistent(pair.B);
        }

        Assert.True(pair.B.Stats.InitBlockedPerIp > 0);
        Assert.True(pair.B.Stats.CookiesAccepted > 0);
        Assert.True(pair.B.Stats.HalfOpenPeak > settings.CookieThreshold);
        Assert.True(pair.B.Stats.InitDroppedHalfOpenLimit > 0);
    }
}
