using Oakley.Host;

namespace Oakley.Host.Tests;

public class LogRateLimiterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Burst_ThenRate_AndTheNextLineSaysHowManyWereHeldBack()
    {
        var limiter = new LogRateLimiter(burst: 3, perSecond: 2);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryAcquire(T0, out var before));
            Assert.Equal(0, before);
        }

        for (var i = 0; i < 100; i++)
        {
            Assert.False(limiter.TryAcquire(T0, out _)); // a flood at one instant: held back
        }

        Assert.False(limiter.TryAcquire(T0 + TimeSpan.FromMilliseconds(400), out _)); // 0.8 of a token
        Assert.True(limiter.TryAcquire(T0 + TimeSpan.FromMilliseconds(500), out var held));
        Assert.Equal(101, held);
        Assert.Equal(101, limiter.SuppressedTotal);

        // Refill is capped at the burst.
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryAcquire(T0 + TimeSpan.FromHours(1), out _));
        }

        Assert.False(limiter.TryAcquire(T0 + TimeSpan.FromHours(1), out _));
    }
}
