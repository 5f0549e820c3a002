using System.Net;
using Oakley.Engine;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// NAT keepalives (RFC 3948 §2.3, RFC 7296 §2.23) and following a NATed peer's new address/port, with moon (A)
/// behind a simulated masquerading NAT at 198.51.100.1 and sun (B) reachable directly.
/// </summary>
public class NatTraversalTests
{
    private static readonly IPAddress NatPublic = IPAddress.Parse("198.51.100.1");

    private static (EnginePair Pair, SimulatedNat Nat) BehindNat(Scenario scenario)
    {
        scenario.SunRemoteAny = true;
        var pair = scenario.Build();
        var nat = new SimulatedNat(NatPublic);
        pair.Route = nat.Route(Scenario.MoonAddress.Address, Scenario.SunAddress.Address);
        pair.Initiate(true);
        return (pair, nat);
    }

    private static void Advance(EnginePair pair, TimeSpan total)
    {
        for (var i = 0; i < (int)total.TotalSeconds; i++)
        {
            pair.AdvanceBy(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public void NatDetection_TellsWhichSideIsBehindTheNat_AndBothFloatToTheNattPort()
    {
        var (pair, _) = BehindNat(new Scenario { MoonMobike = false, SunMobike = false });
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        Assert.Equal(IkeSaState.Established, moon.State);
        Assert.True(moon.LocalBehindNat);
        Assert.False(moon.RemoteBehindNat);
        Assert.True(sun.RemoteBehindNat);
        Assert.False(sun.LocalBehindNat);
        Assert.Equal(4500, moon.Remote.Port);
        Assert.Equal(new IPEndPoint(NatPublic, sun.Remote.Port), sun.Remote); // the NAT's mapping of moon's port 4500
        Assert.All(pair.EventsA.OfType<ChildSaInstall>().Concat(pair.EventsB.OfType<ChildSaInstall>()), c => Assert.True(c.UdpEncapsulation));
    }

    [Fact]
    public void Keepalives_AreSentByTheSideBehindTheNat_EveryInterval_WhenNothingElseWasSent()
    {
        var (pair, _) = BehindNat(new Scenario { MoonSettings = new EngineSettings { KeepAliveInterval = TimeSpan.FromSeconds(20) } });
        var established = pair.Now;
        Advance(pair, TimeSpan.FromSeconds(100));

        Assert.DoesNotContain(pair.Keepalives, k => !k.FromA); // sun is not behind a NAT
        var times = pair.Keepalives.Select(k => k.Time - established).ToList();
        Assert.Equal([20, 40, 60, 80, 100], times.Select(t => (int)t.TotalSeconds));
        var first = pair.Keepalives[0].Transmit;
        Assert.Equal([0xFF], first.Datagram);
        Assert.Equal(4500, first.Local.Port);
        Assert.Equal(new IPEndPoint(Scenario.SunAddress.Address, 4500), first.Remote);
        Assert.Equal(5, pair.A.Stats.KeepalivesSent);
        Assert.Equal(0, pair.B.Stats.KeepalivesSent);
    }

    [Fact]
    public void OtherTraffic_PostponesKeepalives()
    {
        var (pair, _) = BehindNat(new Scenario());
        var spi = pair.EventsA.OfType<ChildSaInstall>().Single().InboundSpi;
        for (var i = 0; i < 6; i++)
        {
            Advance(pair, TimeSpan.FromSeconds(15));
            pair.A.NoteOutboundTraffic(pair.Now, spi); // ESP went out in the last 15 s
        }

        Assert.Empty(pair.Keepalives);
        var lastEsp = pair.Now;
        Advance(pair, TimeSpan.FromSeconds(10));
        Assert.True(pair.A.IkeSas.Single().SendLivenessCheck(pair.Now)); // an IKE message counts too
        pair.Deliver();
        Advance(pair, TimeSpan.FromSeconds(19));
        Assert.Empty(pair.Keepalives);
        Advance(pair, TimeSpan.FromSeconds(2));
        Assert.Equal(lastEsp + TimeSpan.FromSeconds(30), Assert.Single(pair.Keepalives).Time);
    }

    [Fact]
    public void NoKeepalives_WithoutANat_OrWhenDisabled()
    {
        var direct = new Scenario().Build();
        direct.Initiate(true);
        Advance(direct, TimeSpan.FromSeconds(60));
        Assert.Empty(direct.Keepalives);

        var (pair, _) = BehindNat(new Scenario { MoonSettings = new EngineSettings { KeepAliveInterval = TimeSpan.Zero } });
        Advance(pair, TimeSpan.FromSeconds(60));
        Assert.Empty(pair.Keepalives);
        Assert.True(pair.A.IkeSas.Single().LocalBehindNat);
    }

    [Fact]
    public void ANatRemapping_IsFollowedByThePeerNotBehindTheNat_ForTheIkeSaAndItsChildSas()
    {
        var (pair, nat) = BehindNat(new Scenario { MoonMobike = false, SunMobike = false });
        var sun = pair.B.IkeSas.Single();
        var before = sun.Remote;
        nat.Flush(); // the NAT forgot the mapping: moon's next datagram leaves from a new public port
        Assert.True(pair.A.IkeSas.Single().SendLivenessCheck(pair.Now));
        pair.Deliver();

        Assert.NotEqual(before, sun.Remote);
        Assert.Equal(NatPublic, sun.Remote.Address);
        var moved = Assert.Single(pair.EventsB.OfType<IkeSaAddressesChanged>());
        Assert.Equal(sun.Remote, moved.Remote);
        Assert.True(moved.UdpEncapsulation);
        Assert.Equal(sun.Id, moved.IkeSaId);
        Assert.DoesNotContain(pair.Log, l => l.EndsWith("(lost)", StringComparison.Ordinal)); // the response took the new mapping

        // Requests from sun now reach moon through the new mapping, and no SA was replaced.
        Assert.True(sun.SendLivenessCheck(pair.Now));
        pair.Deliver();
        Assert.DoesNotContain(pair.Log, l => l.EndsWith("(lost)", StringComparison.Ordinal));
        Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
        Assert.Empty(pair.EventsB.OfType<ChildSaRemove>());
        Assert.Empty(pair.EventsA.OfType<IkeSaAddressesChanged>()); // moon, behind the NAT, saw nothing change
    }

    [Fact]
    public void TheSideBehindTheNat_DoesNotFollowAChangedPeerAddress()
    {
        var (pair, nat) = BehindNat(new Scenario { MoonMobike = false, SunMobike = false });
        var moon = pair.A.IkeSas.Single();
        var sunEndpoint = moon.Remote;
        // An authentic message from sun arrives from another source port (e.g. a middlebox rewrote it).
        var route = nat.Route(Scenario.MoonAddress.Address, Scenario.SunAddress.Address);
        pair.Route = (fromA, t) => route(fromA, t) is { } r && !fromA ? (new IPEndPoint(r.Source.Address, 4501), r.Destination) : route(fromA, t);
        Assert.True(pair.B.IkeSas.Single().SendLivenessCheck(pair.Now));
        pair.Deliver();

        Assert.Contains(pair.Log, l => l.StartsWith("A->B INFORMATIONAL response", StringComparison.Ordinal));
        Assert.Equal(sunEndpoint, moon.Remote); // RFC 7296 §2.23: a host behind a NAT SHOULD NOT update
        Assert.Empty(pair.EventsA.OfType<IkeSaAddressesChanged>());
    }

    [Fact]
    public void AReplayedOldRequest_DoesNotMoveTheSaBack()
    {
        var (pair, nat) = BehindNat(new Scenario { MoonMobike = false, SunMobike = false });
        var sun = pair.B.IkeSas.Single();
        byte[]? firstCheck = null;
        var filter = pair.Filter;
        pair.Filter = (fromA, t) =>
        {
            if (fromA && firstCheck is null && PairDescribe(t).StartsWith("INFORMATIONAL request", StringComparison.Ordinal))
            {
                firstCheck = t.Datagram;
            }

            return filter(fromA, t);
        };
        Assert.True(pair.A.IkeSas.Single().SendLivenessCheck(pair.Now));
        pair.Deliver();
        var oldMapping = sun.Remote;
        nat.Flush();
        Assert.True(pair.A.IkeSas.Single().SendLivenessCheck(pair.Now));
        pair.Deliver();
        var newMapping = sun.Remote;
        Assert.NotEqual(oldMapping, newMapping);

        // An attacker replays the first (older) liveness check from the old mapping.
        pair.B.HandleDatagram(pair.Now, new IPEndPoint(Scenario.SunAddress.Address, 4500), oldMapping, firstCheck!);
        Assert.Equal(newMapping, sun.Remote);
        Assert.Single(pair.EventsB.OfType<IkeSaAddressesChanged>());
    }

    private static string PairDescribe(Transmit t) => EnginePair.Describe(t.Datagram);
}
