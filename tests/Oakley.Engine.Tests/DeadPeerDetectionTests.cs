using Oakley.Engine;

namespace Oakley.Engine.Tests;

/// <summary>Dead peer detection (swanctl dpd_delay; RFC 7296 §2.4 liveness checks) with simulated time.</summary>
public class DeadPeerDetectionTests
{
    [Fact]
    public void ASilentPeer_IsDeclaredDead_AfterTheLivenessCheckRunsOutOfRetransmissions()
    {
        var pair = new Scenario { MoonDpdDelay = TimeSpan.FromSeconds(30) }.Build();
        pair.Initiate(true);
        pair.Filter = (fromA, _) => fromA ? 1 : 0; // sun goes silent
        var start = pair.Now;
        pair.RunUntilIdle(TimeSpan.FromMinutes(10));

        var down = Assert.Single(pair.EventsA.OfType<IkeSaDown>());
        Assert.True(down.PeerDead);
        Assert.Contains("Informational", down.Reason, StringComparison.Ordinal);
        Assert.Empty(pair.A.IkeSas);
        // The check starts at dpd_delay and gives up after strongSwan's schedule: 4 s × 1.8^n, five retransmissions.
        var checks = pair.Log.Count(l => l.StartsWith("A->B INFORMATIONAL request", StringComparison.Ordinal));
        Assert.Equal(6, checks);
        Assert.InRange(down.Time - start, TimeSpan.FromSeconds(30 + 165), TimeSpan.FromSeconds(30 + 166));
    }

    [Fact]
    public void ALivePeer_AnswersTheCheck_AndTheSaStays()
    {
        var pair = new Scenario { MoonDpdDelay = TimeSpan.FromSeconds(30) }.Build();
        pair.Initiate(true);
        pair.AdvanceBy(TimeSpan.FromSeconds(30));
        Assert.Contains(pair.Log, l => l.StartsWith("B->A INFORMATIONAL response", StringComparison.Ordinal));
        Assert.Single(pair.A.IkeSas);
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
    }

    [Fact]
    public void InboundTraffic_PostponesTheCheck()
    {
        var pair = new Scenario { MoonDpdDelay = TimeSpan.FromSeconds(30) }.Build();
        pair.Initiate(true);
        var spi = pair.EventsA.OfType<ChildSaInstall>().Single().InboundSpi;
        for (var i = 0; i < 6; i++)
        {
            pair.AdvanceBy(TimeSpan.FromSeconds(20));
            pair.A.NoteInboundTraffic(pair.Now, spi); // ESP arrived in the last 20 s
        }

        Assert.DoesNotContain(pair.Log, l => l.StartsWith("A->B INFORMATIONAL request", StringComparison.Ordinal));
        pair.AdvanceBy(TimeSpan.FromSeconds(30));
        Assert.Contains(pair.Log, l => l.StartsWith("A->B INFORMATIONAL request", StringComparison.Ordinal));
    }

    [Fact]
    public void ThePeerDeletingTheSa_IsReportedAsClosedByPeer()
    {
        var pair = new Scenario().Build();
        pair.Initiate(true);
        pair.B.Terminate(pair.Now);
        pair.Deliver();
        var down = Assert.Single(pair.EventsA.OfType<IkeSaDown>());
        Assert.True(down.ClosedByPeer);
        Assert.False(down.PeerDead);
    }
}
