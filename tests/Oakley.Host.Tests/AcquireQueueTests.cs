using Oakley.Engine;
using Oakley.Esp;

namespace Oakley.Host.Tests;

/// <summary>The packets held for a trap while its CHILD SA is negotiated: bounded, one initiate per retry period.</summary>
public class AcquireQueueTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static Policy Trap(string connection, string child) =>
        new(DataPlaneInstaller.ToSelector(TrafficSelectorRange.Parse("192.0.2.0/24")), DataPlaneInstaller.ToSelector(TrafficSelectorRange.Parse("203.0.113.0/24")), null, child)
        {
            Connection = connection,
        };

    [Fact]
    public void Hold_AsksToInitiateOncePerRetryPeriod()
    {
        var time = new ManualTime();
        var queue = new AcquireQueue(time);
        var trap = Trap("gw", "net");
        Assert.True(queue.Hold(trap, [1]));
        time.Now += TimeSpan.FromSeconds(29);
        Assert.False(queue.Hold(trap, [2]));
        Assert.True(queue.Hold(Trap("gw", "lan"), [3])); // another trap asks for its own SA
        time.Now += TimeSpan.FromSeconds(2);
        Assert.True(queue.Hold(trap, [4])); // 31 s after the first: ask again, keep what was held
        Assert.Equal([[1], [2], [4]], queue.Release("gw", "net"));
    }

    [Fact]
    public void Hold_KeepsAtMostTheLimit_AndCountsTheRest()
    {
        var queue = new AcquireQueue(new ManualTime());
        var trap = Trap("gw", "net");
        for (var i = 0; i < AcquireQueue.Limit + 3; i++)
        {
            queue.Hold(trap, [(byte)i]);
        }

        Assert.Equal(3, queue.Drops);
        var held = queue.Release("gw", "net");
        Assert.Equal(Enumerable.Range(0, AcquireQueue.Limit).Select(i => new[] { (byte)i }), held);
        Assert.Empty(queue.Release("gw", "net")); // released once
    }

    [Fact]
    public void Release_TakesOnlyThatChildsPackets_AndCopiesThem()
    {
        var queue = new AcquireQueue(new ManualTime());
        byte[] packet = [7, 7];
        queue.Hold(Trap("gw", "net"), packet);
        queue.Hold(Trap("other", "net"), [8]);
        packet[0] = 0; // the caller's buffer is reused for the next packet
        Assert.Empty(queue.Release("gw", "lan"));
        Assert.Equal([[7, 7]], queue.Release("gw", "net"));
        Assert.Equal([[8]], queue.Release("other", "net"));
    }
}
