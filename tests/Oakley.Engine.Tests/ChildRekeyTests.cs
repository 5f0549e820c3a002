using Oakley.Engine;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// CHILD SA lifetimes and rekeying (RFC 7296 §1.3.3, §2.8, §2.8.1, §2.25) as message scripts through the in-memory
/// pair with simulated time: rekey from either side, a simultaneous rekey, hard expiry, and a rekey of an SA the
/// peer does not know.
/// </summary>
public class ChildRekeyTests
{
    private static EnginePair Pair(TimeSpan moonRekey, TimeSpan sunRekey, TimeSpan? randTime = null, int seed = 1, TimeSpan? moonLife = null,
        ulong moonRekeyBytes = 0, ulong moonLifePackets = 0)
    {
        var pair = new Scenario { Seed = seed }.Build();
        Reconfigure(pair.A, moonRekey, randTime, moonLife, moonRekeyBytes, moonLifePackets);
        Reconfigure(pair.B, sunRekey, randTime, null);
        return pair;
    }

    /// <summary>Replaces the "net" child's lifetimes (life_time defaults to rekey_time + 10%, as in swanctl).</summary>
    private static void Reconfigure(Endpoint e, TimeSpan rekey, TimeSpan? randTime, TimeSpan? life, ulong rekeyBytes = 0, ulong lifePackets = 0)
    {
        var config = e.Configs.Single();
        var net = config.Children.Single(c => c.Name == "net");
        var updated = new IkeConfig
        {
            Name = config.Name,
            LocalAddresses = config.LocalAddresses,
            RemoteAddresses = config.RemoteAddresses,
            Proposals = config.Proposals,
            LocalId = config.LocalId,
            RemoteId = config.RemoteId,
            Children =
            [
                new ChildConfig
                {
                    Name = net.Name, LocalTs = net.LocalTs, RemoteTs = net.RemoteTs, EspProposals = net.EspProposals,
                    RekeyTime = rekey, LifeTime = life ?? rekey * 1.1, RandTime = randTime,
                    RekeyBytes = rekeyBytes, LifeBytes = rekeyBytes / 10 * 11, LifePackets = lifePackets,
                },
                .. config.Children.Where(c => c.Name != "net"),
            ],
        };
        e.Reconfigure(DateTimeOffset.UnixEpoch, [updated], e.Secrets);
    }

    /// <summary>The CHILD SAs a side has installed and not removed, by inbound SPI.</summary>
    private static Dictionary<uint, ChildSaInstall> Live(List<EngineEvent> events)
    {
        var live = new Dictionary<uint, ChildSaInstall>();
        foreach (var e in events)
        {
            switch (e)
            {
                case ChildSaInstall c:
                    live[c.InboundSpi] = c;
                    break;
                case ChildSaRemove r:
                    Assert.True(live.Remove(r.InboundSpi), $"removed {r.InboundSpi:x8} that was not installed");
                    break;
            }
        }

        return live;
    }

    /// <summary>Both sides hold exactly one "net" CHILD SA, the same pair of SPIs crosswise, with matching keys.</summary>
    private static ChildSaInstall AssertOneMatchingChild(EnginePair pair)
    {
        var a = Assert.Single(Live(pair.EventsA).Values, c => c.ChildName == "net");
        var b = Assert.Single(Live(pair.EventsB).Values, c => c.ChildName == "net");
        Assert.Equal(a.OutboundSpi, b.InboundSpi);
        Assert.Equal(a.InboundSpi, b.OutboundSpi);
        Assert.Equal(a.OutboundEncryptionKey, b.InboundEncryptionKey);
        Assert.Equal(a.InboundEncryptionKey, b.OutboundEncryptionKey);
        Assert.Equal(Assert.Single(pair.A.IkeSas).Children.Count, Live(pair.EventsA).Count);
        Assert.Equal(Assert.Single(pair.B.IkeSas).Children.Count, Live(pair.EventsB).Count);
        Assert.Equal(Live(pair.EventsA).Count, pair.A.ChildSaCount); // the O(1) count oakley stats shows follows rekeys
        Assert.Equal(Live(pair.EventsB).Count, pair.B.ChildSaCount);
        return a;
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void TheSideWithTheShorterRekeyTime_Rekeys_AndTheOldSaGoes(bool moonInitiates, bool moonRekeys)
    {
        var pair = Pair(moonRekeys ? TimeSpan.FromMinutes(10) : TimeSpan.FromHours(1), moonRekeys ? TimeSpan.FromHours(1) : TimeSpan.FromMinutes(10), TimeSpan.Zero);
        pair.Initiate(moonInitiates);
        var first = AssertOneMatchingChild(pair);

        pair.AdvanceBy(TimeSpan.FromMinutes(10));
        var second = AssertOneMatchingChild(pair);
        Assert.NotEqual(first.InboundSpi, second.InboundSpi);
        Assert.NotEqual(first.OutboundEncryptionKey, second.OutboundEncryptionKey);
        // The install events say which SA a rekey replaces, on both sides (VICI's child-rekey rests on this).
        Assert.Null(first.RekeysInboundSpi);
        Assert.Equal(first.InboundSpi, second.RekeysInboundSpi);
        var sunSecond = Assert.Single(Live(pair.EventsB).Values, c => c.ChildName == "net");
        Assert.Equal(first.OutboundSpi, sunSecond.RekeysInboundSpi);
        Assert.Contains(pair.Log, l => l.StartsWith(moonRekeys ? "A->B" : "B->A", StringComparison.Ordinal) && l.Contains("CREATE_CHILD_SA request", StringComparison.Ordinal));
        // The old SA was deleted with an INFORMATIONAL exchange by the side that rekeyed, after the new one existed.
        Assert.Contains(pair.Log, l => l.StartsWith(moonRekeys ? "A->B" : "B->A", StringComparison.Ordinal) && l.Contains("INFORMATIONAL request", StringComparison.Ordinal));

        // And again 10 minutes later: rekeying keeps going, one SA at a time, the IKE SA untouched.
        pair.AdvanceBy(TimeSpan.FromMinutes(10));
        var third = AssertOneMatchingChild(pair);
        Assert.NotEqual(second.InboundSpi, third.InboundSpi);
        Assert.Equal(second.InboundSpi, third.RekeysInboundSpi);
        Assert.Single(pair.A.IkeSas);
    }

    [Fact]
    public void RandTime_SpreadsTheRekeyBeforeRekeyTime()
    {
        var pair = Pair(TimeSpan.FromMinutes(10), TimeSpan.FromHours(1), TimeSpan.FromMinutes(5));
        pair.Initiate(true);
        var installed = Assert.Single(Assert.Single(pair.A.IkeSas).Children);
        Assert.InRange(installed.RekeyAt, pair.Now + TimeSpan.FromMinutes(5), pair.Now + TimeSpan.FromMinutes(10));
        Assert.Equal(pair.Now + TimeSpan.FromMinutes(11), installed.ExpireAt);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void SimultaneousRekeys_LeaveExactlyOneSa(int seed)
    {
        // Same rekey_time, no rand_time: both sides start the rekey at the same instant (§2.8.1).
        var pair = Pair(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10), TimeSpan.Zero, seed);
        pair.Initiate(seed % 2 == 0);
        var first = AssertOneMatchingChild(pair);

        pair.AdvanceBy(TimeSpan.FromMinutes(10));
        pair.RunUntilIdle(TimeSpan.FromSeconds(30));
        Assert.Equal(2, pair.Log.Count(l => l.Contains("CREATE_CHILD_SA request", StringComparison.Ordinal)));
        var survivor = AssertOneMatchingChild(pair);
        Assert.NotEqual(first.InboundSpi, survivor.InboundSpi);
        Assert.Equal(first.InboundSpi, survivor.RekeysInboundSpi); // the surviving SA of a collision rekeys the old one too
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(4, false)]
    public void SimultaneousRekeys_WhereOneResponseIsLost_StillLeaveExactlyOneSa(int seed, bool loseMoonsResponse)
    {
        // Both rekey at once; one side's response is lost, so the other side finishes first and (if its SA won) deletes
        // the old one. The late side learns the outcome only from its retransmission: if its new SA has the lowest
        // nonce it is redundant and must still be deleted, although the old SA is already gone (§2.8.1).
        var pair = Pair(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10), TimeSpan.Zero, seed);
        pair.Initiate(seed % 2 == 0);
        var first = AssertOneMatchingChild(pair);
        var seen = 0;
        pair.Filter = (fromA, t) => fromA == loseMoonsResponse && EnginePair.Describe(t.Datagram).StartsWith("CREATE_CHILD_SA response", StringComparison.Ordinal) && seen++ == 0 ? 0 : 1;

        pair.AdvanceBy(TimeSpan.FromMinutes(10));
        pair.RunUntilIdle(TimeSpan.FromSeconds(30));
        var survivor = AssertOneMatchingChild(pair);
        Assert.NotEqual(first.InboundSpi, survivor.InboundSpi);
    }

    [Fact]
    public void ARekeyOfAnSaThePeerHasNotInstalledYet_IsRetried_NotReplaced()
    {
        // Moon creates "net2" answering sun's CREATE_CHILD_SA; the answer is lost and moon rekeys the new SA at once.
        // Sun answers CHILD_SA_NOT_FOUND (it has no such SA yet). Moon must not drop its half and start over: sun's
        // retransmission gets the cached answer and installs the SA, which would then have no peer half.
        var pair = Pair(TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.Zero);
        pair.Initiate(true);
        var seen = 0;
        pair.Filter = (fromA, t) => fromA && EnginePair.Describe(t.Datagram).StartsWith("CREATE_CHILD_SA response", StringComparison.Ordinal) && seen++ == 0 ? 0 : 1;
        pair.B.Initiate(pair.Now, "sun-moon", "net2");
        pair.Deliver();
        Assert.Equal(2, Assert.Single(pair.A.IkeSas).Children.Count);
        Assert.Single(Assert.Single(pair.B.IkeSas).Children);
        pair.A.IkeSas.Single().Children.Single(c => c.Config.Name == "net2").RekeyAt = pair.Now;
        pair.AdvanceBy(TimeSpan.Zero);
        Assert.Contains(pair.Log, l => l.StartsWith("A->B CREATE_CHILD_SA request", StringComparison.Ordinal));

        pair.RunUntilIdle(TimeSpan.FromSeconds(30));
        var liveA = Live(pair.EventsA);
        var liveB = Live(pair.EventsB);
        Assert.Equal(["net", "net2"], liveA.Values.Select(c => c.ChildName).Order());
        Assert.Equal(["net", "net2"], liveB.Values.Select(c => c.ChildName).Order());
        foreach (var a in liveA.Values)
        {
            Assert.Equal(a.InboundSpi, liveB[a.OutboundSpi].OutboundSpi);
            Assert.Equal(a.OutboundEncryptionKey, liveB[a.OutboundSpi].InboundEncryptionKey);
        }

        Assert.DoesNotContain(pair.EventsA.OfType<Alert>(), e => e.Message.Contains("unknown to the peer", StringComparison.Ordinal));
    }

    [Fact]
    public void HardLifetime_WithoutRekeying_DeletesTheSaOnBothSides()
    {
        // rekey_time = 0 disables rekeying (swanctl); life_time still ends the SA.
        var pair = Pair(TimeSpan.Zero, TimeSpan.FromHours(1), TimeSpan.Zero, moonLife: TimeSpan.FromMinutes(10));
        pair.Initiate(true);
        AssertOneMatchingChild(pair);
        pair.AdvanceBy(TimeSpan.FromMinutes(10));
        Assert.Empty(Live(pair.EventsA).Values);
        Assert.Empty(Live(pair.EventsB).Values);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("hard lifetime", StringComparison.Ordinal));
        Assert.Single(pair.A.IkeSas); // the IKE SA stays
        Assert.DoesNotContain(pair.Log, l => l.Contains("CREATE_CHILD_SA", StringComparison.Ordinal));
    }

    [Fact]
    public void RekeyBytes_BringsTheRekeyForward_AndLifePacketsEndsTheSa()
    {
        var pair = Pair(TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.Zero, moonRekeyBytes: 1_000_000, moonLifePackets: 5_000);
        pair.Initiate(true);
        var first = AssertOneMatchingChild(pair);

        pair.A.NoteChildCounters(pair.Now, first.InboundSpi, 999_999, 10);
        pair.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.Equal(first.InboundSpi, AssertOneMatchingChild(pair).InboundSpi); // below the limit: nothing

        pair.A.NoteChildCounters(pair.Now, first.InboundSpi, 1_000_000, 11);
        pair.AdvanceBy(TimeSpan.FromSeconds(1));
        var second = AssertOneMatchingChild(pair);
        Assert.NotEqual(first.InboundSpi, second.InboundSpi); // rekeyed at rekey_bytes, long before rekey_time

        pair.A.NoteChildCounters(pair.Now, second.InboundSpi, 10, 5_000);
        pair.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.Empty(Live(pair.EventsA).Values); // life_packets: gone on both sides, not rekeyed
        Assert.Empty(Live(pair.EventsB).Values);
    }

    [Fact]
    public void WithoutEsn_TheSequenceNumberSpaceForcesARekey()
    {
        var pair = Pair(TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.Zero);
        pair.Initiate(true);
        var first = AssertOneMatchingChild(pair);
        pair.A.NoteChildCounters(pair.Now, first.InboundSpi, 1, 0xFF00_0000UL);
        pair.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.NotEqual(first.InboundSpi, AssertOneMatchingChild(pair).InboundSpi);
    }
}
