using Oakley.Engine;
using Oakley.Protocol.Ikev2;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// IKE SA lifetimes as swanctl configures them: the hard lifetime (rekey_time + over_time), reauthentication
/// (reauth_time, make-before-break) and the <c>unique</c> policies, with simulated time.
/// </summary>
public class IkeLifetimeTests
{
    /// <summary>Runs every deadline that falls within <paramref name="span"/> of simulated time.</summary>
    private static void RunFor(EnginePair pair, TimeSpan span)
    {
        var end = pair.Now + span;
        for (var i = 0; i < 100_000 && pair.Step(end - pair.Now); i++)
        {
        }
    }

    /// <summary>A rekey that never gets through: the IKE SA is gone at rekey_time + over_time, not at the end of the retransmissions.</summary>
    [Fact]
    public void IkeSaExpiresAtRekeyTimePlusOverTime()
    {
        var pair = new Scenario { MoonIkeRekey = TimeSpan.FromMinutes(10), MoonOverTime = TimeSpan.FromMinutes(1) }.Build();
        pair.Initiate(fromMoon: true);
        var up = Assert.Single(pair.A.IkeSas).EstablishedAt!.Value;
        Assert.Equal(up + TimeSpan.FromMinutes(11), pair.A.IkeSas.Single().ExpireAt);
        var rekeyAt = pair.A.IkeSas.Single().IkeRekeyAt;
        Assert.InRange(rekeyAt, up + TimeSpan.FromMinutes(9), up + TimeSpan.FromMinutes(10)); // rand_time defaults to over_time
        pair.Filter = (fromA, t) => fromA && IkeMessage.Decode(t.Datagram).ExchangeType == ExchangeType.CreateChildSa && !IkeMessage.Decode(t.Datagram).IsResponse ? 0 : 1;
        RunFor(pair, TimeSpan.FromMinutes(20));
        var down = Assert.Single(pair.EventsA.OfType<IkeSaDown>());
        Assert.Equal(up + TimeSpan.FromMinutes(11), down.Time);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("hard lifetime", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
    }

    /// <summary>A rekey renews the hard lifetime: with rekeys getting through, the SA lives on past rekey_time + over_time.</summary>
    [Fact]
    public void RekeyedIkeSaDoesNotExpire()
    {
        var pair = new Scenario { MoonIkeRekey = TimeSpan.FromMinutes(10), MoonOverTime = TimeSpan.FromMinutes(1) }.Build();
        pair.Initiate(fromMoon: true);
        RunFor(pair, TimeSpan.FromMinutes(35));
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
        Assert.InRange(pair.EventsA.OfType<IkeSaRekeyed>().Count(), 3, 4);
        Assert.Single(pair.A.IkeSas);
        Assert.Single(pair.B.IkeSas);
    }

    /// <summary>
    /// reauth_time: a new IKE SA (new IKE_SA_INIT and IKE_AUTH, no INITIAL_CONTACT) re-creates both CHILD SAs, and only
    /// then is the old IKE SA deleted: on both sides each new CHILD SA is installed before the old one is removed.
    /// </summary>
    [Fact]
    public void ReauthenticationIsMakeBeforeBreak()
    {
        var pair = new Scenario { MoonIkeRekey = TimeSpan.Zero, MoonReauth = TimeSpan.FromMinutes(30) }.Build();
        pair.Initiate(fromMoon: true);
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        var first = Assert.Single(pair.A.IkeSas);
        Assert.Equal(2, first.Children.Count);
        Assert.InRange(first.ReauthAt, pair.Now + TimeSpan.FromMinutes(27), pair.Now + TimeSpan.FromMinutes(30)); // rand_time = over_time = 10%

        RunFor(pair, TimeSpan.FromMinutes(40)); // CHILD SAs rekey at ~1 h: not yet
        var second = Assert.Single(pair.A.IkeSas);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(2, second.Children.Count);
        Assert.Single(pair.B.IkeSas);
        Assert.Equal(2, pair.EventsA.OfType<IkeSaUp>().Count());
        Assert.Equal(2, pair.EventsB.OfType<IkeSaUp>().Count());
        Assert.Equal(first.Id, Assert.Single(pair.EventsA.OfType<IkeSaDown>()).IkeSaId);
        Assert.True(Assert.Single(pair.EventsB.OfType<IkeSaDown>()).ClosedByPeer); // moon deleted the old SA
        foreach (var events in new[] { pair.EventsA, pair.EventsB })
        {
            foreach (var name in new[] { "net", "net2" })
            {
                var installs = events.Select((e, i) => (e, i)).Where(x => x.e is ChildSaInstall c && c.ChildName == name).Select(x => x.i).ToList();
                var removes = events.Select((e, i) => (e, i)).Where(x => x.e is ChildSaRemove r && r.ChildName == name).Select(x => x.i).ToList();
                Assert.Equal(2, installs.Count);
                Assert.Single(removes);
                Assert.True(installs[1] < removes[0], $"{name}: the new CHILD SA must be installed before the old one is removed");
            }
        }

        // The new SAs agree, and they came from a full IKE_SA_INIT/IKE_AUTH.
        Assert.Equal(2, pair.Log.Count(l => l.StartsWith("A->B IKE_SA_INIT request", StringComparison.Ordinal)));
        var b = pair.B.IkeSas.Single();
        Assert.Equal((second.SpiI, second.SpiR), (b.SpiI, b.SpiR));
        Assert.Equal(second.Children.Select(c => c.OutboundSpi).Order(), b.Children.Select(c => c.InboundSpi).Order());
    }

    /// <summary>The peer does not answer the reauthentication: the old SA stays (and is retried) until its hard lifetime.</summary>
    [Fact]
    public void FailedReauthenticationKeepsTheOldSaUntilItExpires()
    {
        var pair = new Scenario { MoonIkeRekey = TimeSpan.Zero, MoonReauth = TimeSpan.FromHours(1), MoonOverTime = TimeSpan.FromMinutes(10) }.Build();
        pair.Initiate(fromMoon: true);
        var first = Assert.Single(pair.A.IkeSas);
        pair.Filter = (fromA, t) => fromA && IkeMessage.Decode(t.Datagram).ExchangeType == ExchangeType.IkeSaInit ? 0 : 1;
        RunFor(pair, TimeSpan.FromMinutes(80));
        Assert.Empty(pair.A.IkeSas);
        Assert.True(pair.EventsA.OfType<Alert>().Count(a => a.Message.Contains("reauthentication failed", StringComparison.Ordinal)) >= 2);
        var down = pair.EventsA.OfType<IkeSaDown>().Single(d => d.IkeSaId == first.Id);
        Assert.Equal(first.EstablishedAt!.Value + TimeSpan.FromMinutes(70), down.Time);
    }

    private static (EnginePair Pair, long First, long Second) TwoIkeSas(UniquePolicy moon, UniquePolicy sun)
    {
        var pair = new Scenario { MoonUnique = moon, SunUnique = sun }.Build();
        pair.Initiate(fromMoon: true);
        var first = pair.A.IkeSas.Single().Id;
        var second = pair.A.Initiate(pair.Now, "moon-sun", "net", reuseIkeSa: false);
        pair.Deliver();
        RunFor(pair, TimeSpan.FromMinutes(1));
        return (pair, first, second);
    }

    [Fact]
    public void UniqueNoReplacesOnInitialContact()
    {
        // moon sends INITIAL_CONTACT (unique = no): sun drops the older SA silently, as the peer says it lost it.
        var (pair, _, second) = TwoIkeSas(UniquePolicy.No, UniquePolicy.No);
        Assert.Single(pair.B.IkeSas);
        Assert.Contains(pair.EventsB.OfType<IkeSaDown>(), d => d.Reason.Contains("INITIAL_CONTACT", StringComparison.Ordinal));
        Assert.Contains(pair.A.IkeSas, s => s.Id == second);
    }

    [Fact]
    public void UniqueNeverKeepsBoth()
    {
        var (pair, first, second) = TwoIkeSas(UniquePolicy.Never, UniquePolicy.Never);
        Assert.Equal(2, pair.A.IkeSas.Count);
        Assert.Equal(2, pair.B.IkeSas.Count);
        Assert.Equal([first, second], pair.A.IkeSas.Select(s => s.Id).Order());
    }

    [Fact]
    public void UniqueReplaceDeletesTheOlderSa()
    {
        // moon does not send INITIAL_CONTACT (never); sun's unique = replace deletes the older SA with a Delete.
        var (pair, first, second) = TwoIkeSas(UniquePolicy.Never, UniquePolicy.Replace);
        Assert.Single(pair.B.IkeSas);
        Assert.Equal(second, Assert.Single(pair.A.IkeSas).Id);
        Assert.True(pair.EventsA.OfType<IkeSaDown>().Single(d => d.IkeSaId == first).ClosedByPeer);
    }

    [Fact]
    public void UniqueKeepRefusesTheNewerSa()
    {
        var (pair, first, second) = TwoIkeSas(UniquePolicy.Never, UniquePolicy.Keep);
        Assert.Single(pair.B.IkeSas);
        Assert.Equal(first, Assert.Single(pair.A.IkeSas).Id);
        Assert.Contains(pair.EventsA.OfType<IkeSaDown>(), d => d.IkeSaId == second && !d.WasEstablished);
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("unique = keep", StringComparison.Ordinal));
    }
}
