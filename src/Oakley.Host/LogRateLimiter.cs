namespace Oakley.Host;

/// <summary>
/// A token bucket for log lines a peer can cause (engine alerts, send failures): up to <c>burst</c> lines at once,
/// then <c>perSecond</c>. What is held back is counted, and the next line that passes says how many were
/// suppressed, so a flood of bad packets costs a few log lines and a counter, never the disk.
/// </summary>
public sealed class LogRateLimiter(int burst, double perSecond)
{
    private double _tokens = burst;
    private DateTimeOffset? _last;

    /// <summary>Lines held back since the last one that passed.</summary>
    public long Suppressed { get; private set; }

    /// <summary>Lines held back in all (for stats).</summary>
    public long SuppressedTotal { get; private set; }

    /// <summary>
    /// Whether a line may be written at <paramref name="now"/>; <paramref name="suppressedBefore"/> is how many were
    /// held back since the previous one that passed (0 usually).
    /// </summary>
    public bool TryAcquire(DateTimeOffset now, out long suppressedBefore)
    {
        if (_last is { } last && now > last)
        {
            _tokens = Math.Min(burst, _tokens + ((now - last).TotalSeconds * perSecond));
        }

        _last = now;
        if (_tokens < 1)
        {
            Suppressed++;
            SuppressedTotal++;
            suppressedBefore = 0;
            return false;
        }

        _tokens -= 1;
        suppressedBefore = Suppressed;
        Suppressed = 0;
        return true;
    }
}
