using Microsoft.Extensions.Logging;

namespace Oakley.Host.Systemd;

/// <summary>
/// The watchdog of a <c>WatchdogSec=</c> unit (sd_watchdog_enabled(3)): every half of WATCHDOG_USEC the engine thread
/// is asked for the daemon's state (a bounded round trip through <see cref="IkeHost.Invoke"/>), and only an answer
/// within a quarter of WATCHDOG_USEC earns a <c>WATCHDOG=1</c>. A process that is alive but whose engine thread hangs
/// (a loop that never returns, a deadlock) stops pinging, and systemd kills and restarts it (Restart=on-abnormal
/// covers a watchdog timeout). Pings are at most three quarters of WATCHDOG_USEC apart while the engine answers. A
/// probe that has not come back is not asked again: a hung engine does not collect a queue of probes. The answer is
/// also the unit's <c>STATUS=</c> line, sent when it changes; without a watchdog the loop runs every 10 s for that
/// alone.
/// </summary>
public sealed class ServiceWatchdog(ServiceNotifier notifier, TimeSpan? watchdog, ILogger log, TimeProvider? time = null)
{
    /// <summary>How often STATUS= is refreshed when the unit has no watchdog.</summary>
    public static readonly TimeSpan StatusPeriod = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Time between two rounds: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises.</summary>
    public TimeSpan Period => watchdog is { } w ? w / 2 : StatusPeriod;

    /// <summary>How long the engine may take to answer a round before the round earns no ping.</summary>
    public TimeSpan AnswerTimeout => Period / 2;

    /// <summary>Rounds that got no answer in time (tests, logs).</summary>
    public int Stalls { get; private set; }

    /// <summary>
    /// Runs until <paramref name="cancel"/>: each round asks <paramref name="probe"/> (which must go through the engine
    /// thread and return the status line) and pings when it answers in time.
    /// </summary>
    public async Task RunAsync(Func<Task<string>> probe, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(probe);
        Task<string>? pending = null;
        string? lastStatus = null;
        var stalledSince = (long?)null;
        while (!cancel.IsCancellationRequested)
        {
            var started = _time.GetTimestamp();
            pending ??= probe();
            if (!await AnsweredAsync(pending, cancel).ConfigureAwait(false))
            {
                if (cancel.IsCancellationRequested)
                {
                    return;
                }

                Stalls++;
                if (pending.IsFaulted)
                {
                    pending = null; // a failed round trip is asked again next round, but earns no ping
                }

                if (stalledSince is null)
                {
                    stalledSince = started;
                    log.LogWarning("the engine thread did not answer within {Timeout} ms: not pinging the systemd watchdog until it does", (long)AnswerTimeout.TotalMilliseconds);
                }
            }
            else
            {
                var status = pending.Result;
                pending = null;
                if (stalledSince is { } since)
                {
                    log.LogWarning("the engine thread answers again after {Seconds:0.0} s", _time.GetElapsedTime(since).TotalSeconds);
                    stalledSince = null;
                }

                if (watchdog is not null)
                {
                    notifier.Watchdog();
                }

                if (status != lastStatus && notifier.Status(status))
                {
                    lastStatus = status;
                }
            }

            var rest = Period - _time.GetElapsedTime(started);
            if (rest > TimeSpan.Zero && !await DelayAsync(rest, cancel).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>Whether <paramref name="pending"/> completed successfully within <see cref="AnswerTimeout"/>.</summary>
    private async Task<bool> AnsweredAsync(Task<string> pending, CancellationToken cancel)
    {
        if (!pending.IsCompleted)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var delay = Task.Delay(AnswerTimeout, _time, timeout.Token);
            await Task.WhenAny(pending, delay).ConfigureAwait(false);
            await timeout.CancelAsync().ConfigureAwait(false);
            try
            {
                await delay.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // the answer came first, or the daemon stops
            }
        }

        return pending.IsCompletedSuccessfully;
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancel)
    {
        try
        {
            await Task.Delay(delay, _time, cancel).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
