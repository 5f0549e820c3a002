using System.Diagnostics;
using Oakley.Host.Systemd;

namespace Oakley.Host.Tests.Systemd;

/// <summary>
/// The watchdog pings only while the engine thread answers: a daemon whose engine thread is blocked stops sending
/// WATCHDOG=1 (so systemd would restart it) and starts again when the thread turns; a probe that never returns is
/// not asked again; without WATCHDOG_USEC there is no ping, only STATUS=.
/// </summary>
public sealed class ServiceWatchdogTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-sdw-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task StalledEngine_StopsThePings_AndTheyResume()
    {
        var conf = Path.Combine(_dir, "swanctl.conf");
        File.WriteAllText(conf, ServiceNotifierTests.Connection);
        using var manager = new FakeUnixSocket(Path.Combine(_dir, "notify"));
        using var service = SystemdService.FromEnvironment(n => n switch { "NOTIFY_SOCKET" => manager.Address, "WATCHDOG_USEC" => "1000000", _ => null }, 1);
        var log = new ListLogger();
        await using var daemon = Daemon.Create(conf, Path.Combine(_dir, "d.ctl"), 0, 0, log);
        daemon.Service = service;
        daemon.ClaimControlSocket();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var run = daemon.RunAsync(stop.Token);
        Assert.NotNull(manager.ReceiveUntil("READY", Wait));
        Assert.NotNull(manager.ReceiveUntil("WATCHDOG", Wait));
        Assert.NotNull(manager.ReceiveUntil("WATCHDOG", Wait));

        // Hang the engine thread. A round already answered may still ping once, within a period (0.5 s): allow 1 s.
        using var gate = new ManualResetEventSlim();
        daemon.Host.Post((_, _) => gate.Wait(TimeSpan.FromSeconds(60)));
        var stalled = Stopwatch.StartNew();
        var late = 0;
        while (stalled.Elapsed < TimeSpan.FromSeconds(4))
        {
            if (manager.Receive(TimeSpan.FromMilliseconds(100)) is { } fields && fields.ContainsKey("WATCHDOG") && stalled.Elapsed > TimeSpan.FromSeconds(1))
            {
                late++;
            }
        }

        Assert.Equal(0, late);
        Assert.Contains(log.Lines, l => l.Message.StartsWith("the engine thread did not answer within 250 ms", StringComparison.Ordinal));

        gate.Set();
        Assert.NotNull(manager.ReceiveUntil("WATCHDOG", Wait));
        Assert.Contains(log.Lines, l => l.Message.StartsWith("the engine thread answers again after", StringComparison.Ordinal));
        await stop.CancelAsync();
        Assert.Equal(0, await run);
    }

    [Fact]
    public async Task ProbeThatNeverReturns_IsAskedOnce_AndEarnsNoPing()
    {
        using var manager = new FakeUnixSocket(Path.Combine(_dir, "notify"));
        using var notifier = ServiceNotifier.Create(manager.Address)!;
        var watchdog = new ServiceWatchdog(notifier, TimeSpan.FromMilliseconds(200), new ListLogger());
        var asked = 0;
        var never = new TaskCompletionSource<string>();
        using var stop = new CancellationTokenSource();
        var run = watchdog.RunAsync(() =>
        {
            Interlocked.Increment(ref asked);
            return never.Task;
        }, stop.Token);

        Assert.Null(manager.Receive(TimeSpan.FromSeconds(1.5)));
        await stop.CancelAsync();
        await run;
        Assert.Equal(1, asked);
        Assert.True(watchdog.Stalls >= 2, $"{watchdog.Stalls} stalls");
    }

    [Fact]
    public async Task WithoutWatchdog_OnlyStatus_WhenItChanges()
    {
        using var manager = new FakeUnixSocket(Path.Combine(_dir, "notify"));
        using var notifier = ServiceNotifier.Create(manager.Address)!;
        var time = new ManualTime();
        var watchdog = new ServiceWatchdog(notifier, null, new ListLogger(), time);
        Assert.Equal(ServiceWatchdog.StatusPeriod, watchdog.Period);
        var answers = new Queue<string>(["a", "a", "b"]);
        using var stop = new CancellationTokenSource();
        var run = watchdog.RunAsync(() => Task.FromResult(answers.Count > 0 ? answers.Dequeue() : "b"), stop.Token);

        Assert.Equal("STATUS=a\n", Text(manager.ReceiveRaw(Wait)));
        for (var i = 0; i < 4; i++)
        {
            time.Advance(ServiceWatchdog.StatusPeriod); // "a" again: nothing; then "b"; then "b" again: nothing
        }

        Assert.Equal("STATUS=b\n", Text(manager.ReceiveRaw(Wait)));
        Assert.Null(manager.ReceiveRaw(TimeSpan.FromMilliseconds(300)));
        await stop.CancelAsync();
        await run;
    }

    private static string? Text(byte[]? bytes) => bytes is null ? null : System.Text.Encoding.UTF8.GetString(bytes);

    /// <summary>A clock the test moves: timers fire when it passes their due time.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly Lock _lock = new();
        private readonly List<(DateTimeOffset Due, TimerCallback Callback, object? State)> _timers = [];
        private DateTimeOffset _now = DateTimeOffset.UnixEpoch;
        private long _ticks;

        public override DateTimeOffset GetUtcNow()
        {
            lock (_lock)
            {
                return _now;
            }
        }

        public override long GetTimestamp()
        {
            lock (_lock)
            {
                return _ticks;
            }
        }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        /// <summary>Waits (bounded) until the loop sleeps on a timer, then moves the clock and fires what is due.</summary>
        public void Advance(TimeSpan by)
        {
            for (var i = 0; i < 200 && Pending == 0; i++)
            {
                Thread.Sleep(50);
            }

            List<(DateTimeOffset, TimerCallback Callback, object? State)> due;
            lock (_lock)
            {
                _now += by;
                _ticks += by.Ticks;
                due = _timers.Where(t => t.Due <= _now).ToList();
                _timers.RemoveAll(t => t.Due <= _now);
            }

            foreach (var t in due)
            {
                t.Callback(t.State);
            }
        }

        private int Pending
        {
            get
            {
                lock (_lock)
                {
                    return _timers.Count;
                }
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                _timers.Add((_now + dueTime, callback, state));
            }

            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
