using Oakley.Engine;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18) through the in-memory pair with simulated time.</summary>
public class IkeRekeyTests
{
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void TheIkeSaIsRekeyed_ChildSasStay_AndTheNewSaWorks(bool moonInitiates, bool moonRekeys)
    {
        var pair = new Scenario
        {
            MoonIkeRekey = moonRekeys ? TimeSpan.FromMinutes(10) : TimeSpan.FromHours(4),
            SunIkeRekey = moonRekeys ? TimeSpan.FromHours(4) : TimeSpan.FromMinutes(10),
        }.Build();
        pair.Initiate(moonInitiates);
        var before = Assert.Single(pair.A.IkeSas);
        var (spiI, spiR, id) = (before.SpiI, before.SpiR, before.Id);

        pair.AdvanceBy(TimeSpan.FromMinutes(10));
        pair.RunUntilIdle(TimeSpan.FromSeconds(5));

        var a = Assert.Single(pair.A.IkeSas);
        var b = Assert.Single(pair.B.IkeSas);
        Assert.Equal((a.SpiI, a.SpiR), (b.SpiI, b.SpiR));
        Assert.NotEqual(spiI, a.SpiI);
        Assert.NotEqual(spiR, a.SpiR);
        Assert.Equal(id, a.Id);
        Assert.Equal(IkeSaState.Established, a.State);
        // The rekey's initiator is now the "original initiator" of the new SA (§2.18).
        Assert.Equal(moonRekeys, a.IsOriginalInitiator);
        Assert.Single(a.Children);
        Assert.Empty(pair.EventsA.OfType<ChildSaRemove>());
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
        Assert.Single(pair.EventsA.OfType<IkeSaRekeyed>());
        Assert.Single(pair.EventsB.OfType<IkeSaRekeyed>());
        Assert.Contains(pair.Log, l => l.Contains("CREATE_CHILD_SA request #", StringComparison.Ordinal));

        // The new SA carries exchanges with message IDs from 0 and keys both sides agree on: a new CHILD SA
        // (its KEYMAT comes from the new SK_d) and a liveness check.
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        var net2A = Assert.Single(pair.EventsA.OfType<ChildSaInstall>(), c => c.ChildName == "net2");
        var net2B = Assert.Single(pair.EventsB.OfType<ChildSaInstall>(), c => c.ChildName == "net2");
        Assert.Equal(net2A.OutboundEncryptionKey, net2B.InboundEncryptionKey);
        Assert.True(a.SendLivenessCheck(pair.Now));
        pair.Deliver();
        Assert.Single(pair.A.IkeSas);
        Assert.Empty(pair.EventsB.OfType<IkeSaDown>());
    }

    [Fact]
    public void TheResponderKeepsItsOldSa_WhenALateLivenessResponseArrives_UntilThePeerDeletesIt()
    {
        // Sun (responder of the rekey) has a liveness check pending on the old IKE SA when moon's rekey request
        // arrives; sun's rekey response is lost. The late answer to sun's check must not be taken for the answer to a
        // delete: the old SA has to stay to answer moon's retransmitted rekey request from its cache.
        var pair = new Scenario { SunDpdDelay = TimeSpan.FromSeconds(30) }.Build();
        pair.Initiate(true);
        var (lostCheck, lostRekeyResponse, lostRekeyRetransmission) = (0, 0, 0);
        pair.Filter = (fromA, t) => EnginePair.Describe(t.Datagram) switch
        {
            var d when fromA && d.StartsWith("INFORMATIONAL response", StringComparison.Ordinal) && lostCheck++ == 0 => 0,
            var d when !fromA && d.StartsWith("CREATE_CHILD_SA response", StringComparison.Ordinal) && lostRekeyResponse++ == 0 => 0,
            var d when fromA && d.StartsWith("CREATE_CHILD_SA request", StringComparison.Ordinal) && lostRekeyRetransmission++ == 1 => 0,
            _ => 1,
        };
        pair.AdvanceBy(TimeSpan.FromSeconds(30)); // sun's liveness check; its answer is lost
        var moonSa = Assert.Single(pair.A.IkeSas);
        moonSa.IkeRekeyAt = pair.Now;
        pair.AdvanceBy(TimeSpan.Zero); // moon's rekey; sun answers, the answer is lost
        Assert.Equal(2, pair.B.IkeSas.Count); // old (waiting for moon's delete) and new

        pair.RunUntilIdle(TimeSpan.FromSeconds(30));
        var a = Assert.Single(pair.A.IkeSas);
        var b = Assert.Single(pair.B.IkeSas);
        Assert.Equal((a.SpiI, a.SpiR), (b.SpiI, b.SpiR));
        Assert.NotEqual(moonSa.SpiI, a.SpiI);
        Assert.Single(a.Children);
        Assert.Single(b.Children);
        Assert.DoesNotContain(pair.Log, l => l.Contains("N(InvalidIkeSpi)", StringComparison.Ordinal));
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
        Assert.Empty(pair.EventsB.OfType<IkeSaDown>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AnIkeRekeyCrossingAChildRekey_EndsWithBothDone_AndTheSidesAgree(bool moonRekeysIke)
    {
        // §2.25: each side refuses the other's request with TEMPORARY_FAILURE while its own is in flight, and both
        // retry a few seconds later. Before, the IKE rekey's responder moved its CHILD SAs to the new IKE SA and the
        // CHILD rekey's response then landed on the old one: the new CHILD SA existed on one side only.
        var pair = new Scenario().Build();
        pair.Initiate(true);
        var first = pair.EventsA.OfType<ChildSaInstall>().Single();
        var before = Assert.Single(pair.A.IkeSas);
        var (ikeSide, childSide) = moonRekeysIke ? (pair.A, pair.B) : (pair.B, pair.A);
        ikeSide.IkeSas.Single().IkeRekeyAt = pair.Now;
        childSide.IkeSas.Single().Children.Single().RekeyAt = pair.Now;
        pair.AdvanceBy(TimeSpan.Zero);
        pair.RunUntilIdle(TimeSpan.FromSeconds(30));

        var a = Assert.Single(pair.A.IkeSas);
        var b = Assert.Single(pair.B.IkeSas);
        Assert.Equal((a.SpiI, a.SpiR), (b.SpiI, b.SpiR));
        Assert.NotEqual(before.SpiI, a.SpiI);
        var childA = Assert.Single(a.Children);
        var childB = Assert.Single(b.Children);
        Assert.NotEqual(first.InboundSpi, childA.InboundSpi);
        Assert.Equal(childA.InboundSpi, childB.OutboundSpi);
        Assert.Equal(childA.OutboundSpi, childB.InboundSpi);
        Assert.Equal(pair.EventsA.OfType<ChildSaInstall>().Count() - 1, pair.EventsA.OfType<ChildSaRemove>().Count());
        Assert.Equal(pair.EventsB.OfType<ChildSaInstall>().Count() - 1, pair.EventsB.OfType<ChildSaRemove>().Count());
    }

    [Fact]
    public void RekeysKeepHappening_AndChildRekeysUseTheNewSkD()
    {
        var pair = new Scenario { MoonIkeRekey = TimeSpan.FromMinutes(10) }.Build();
        pair.Initiate(true);
        for (var i = 0; i < 3; i++)
        {
            pair.AdvanceBy(TimeSpan.FromMinutes(10));
            pair.RunUntilIdle(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(3, pair.EventsA.OfType<IkeSaRekeyed>().Count());
        Assert.Single(pair.A.IkeSas);
        Assert.Single(pair.B.IkeSas);
        // A CHILD rekey on the thrice-rekeyed IKE SA: both sides derive the same KEYMAT.
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        var a = Assert.Single(pair.EventsA.OfType<ChildSaInstall>(), c => c.ChildName == "net2");
        var b = Assert.Single(pair.EventsB.OfType<ChildSaInstall>(), c => c.ChildName == "net2");
        Assert.Equal(a.InboundEncryptionKey, b.OutboundEncryptionKey);
    }
}
