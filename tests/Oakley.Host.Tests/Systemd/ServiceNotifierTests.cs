using Oakley.Host.Systemd;

namespace Oakley.Host.Tests.Systemd;

/// <summary>
/// sd_notify as the daemon speaks it: the messages a fake NOTIFY_SOCKET receives from a running <see cref="Daemon"/>
/// across start, reload (a good and a broken configuration), watchdog and stop; abstract socket names; and what the
/// environment variables mean (WATCHDOG_PID of another process, a malformed WATCHDOG_USEC, no NOTIFY_SOCKET).
/// </summary>
public sealed class ServiceNotifierTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-sdn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal const string Connection = "connections {\n  first {\n    remote_addrs = 192.0.2.2\n    local {\n      auth = psk\n      id = a.example\n    }\n    remote {\n      auth = psk\n    }\n    children {\n      net {\n      }\n    }\n  }\n}\n";

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public async Task Daemon_TellsReadyReloadingWatchdogAndStopping()
    {
        var conf = Path.Combine(_dir, "swanctl.conf");
        File.WriteAllText(conf, Connection);
        using var manager = new FakeUnixSocket(Path.Combine(_dir, "notify"));
        using var service = SystemdService.FromEnvironment(Environment(("NOTIFY_SOCKET", manager.Address), ("WATCHDOG_USEC", "1000000")), 4242);
        Assert.NotNull(service);
        Assert.Equal(TimeSpan.FromSeconds(1), service.Watchdog);
        await using var daemon = Daemon.Create(conf, Path.Combine(_dir, "d.ctl"), 0, 0, new ListLogger());
        daemon.Service = service;
        daemon.ClaimControlSocket();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = daemon.RunAsync(stop.Token);

        var ready = manager.Receive(Wait);
        Assert.NotNull(ready);
        Assert.Equal("1", ready["READY"]);
        Assert.StartsWith("0 IKE SA(s), 1 connection(s)", ready["STATUS"], StringComparison.Ordinal);
        Assert.NotNull(manager.ReceiveUntil("WATCHDOG", Wait));

        await daemon.ReloadAsync();
        var reloading = manager.ReceiveUntil("RELOADING", Wait);
        Assert.NotNull(reloading);
        Assert.True(long.Parse(reloading["MONOTONIC_USEC"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        var reloaded = manager.ReceiveUntil("READY", Wait);
        Assert.NotNull(reloaded);
        Assert.Equal($"reloaded {conf}: 1 connection(s); IKE SAs: 0 unchanged, 0 updated in place, 0 deleted", reloaded["STATUS"]);

        // A configuration that does not load: still READY=1 afterwards (the daemon runs on with the old one).
        File.WriteAllText(conf, "connections {\n  broken {\n");
        await daemon.ReloadOnSignalAsync();
        Assert.NotNull(manager.ReceiveUntil("RELOADING", Wait));
        var failed = manager.ReceiveUntil("READY", Wait);
        Assert.NotNull(failed);
        Assert.Contains("failed", failed["STATUS"], StringComparison.Ordinal);
        Assert.NotNull(manager.ReceiveUntil("WATCHDOG", Wait));

        await stop.CancelAsync();
        Assert.NotNull(manager.ReceiveUntil("STOPPING", Wait));
        Assert.Equal(0, await run);
    }

    [Fact]
    public void AbstractSocket_NamedWithAnAt_Receives()
    {
        var name = $"@oakley-test-{Guid.NewGuid():N}";
        using var manager = new FakeUnixSocket(name);
        using var notifier = ServiceNotifier.Create(name);
        Assert.NotNull(notifier);
        Assert.True(notifier.Ready("up"));
        var fields = manager.Receive(Wait);
        Assert.NotNull(fields);
        Assert.Equal("1", fields["READY"]);
        Assert.Equal("up", fields["STATUS"]);
    }

    [Fact]
    public void Status_WithNewlines_StaysOneLine()
    {
        using var manager = new FakeUnixSocket(Path.Combine(_dir, "notify"));
        using var notifier = ServiceNotifier.Create(manager.Address)!;
        notifier.Status("two\nlines");
        Assert.Equal("STATUS=two lines\n", System.Text.Encoding.UTF8.GetString(manager.ReceiveRaw(Wait)!));
    }

    [Fact]
    public void NoSocket_NothingToSend_AndAGoneManager_IsNoError()
    {
        Assert.Null(SystemdService.FromEnvironment(Environment(), 1));
        Assert.Null(SystemdService.FromEnvironment(Environment(("NOTIFY_SOCKET", "")), 1));
        Assert.Null(SystemdService.FromEnvironment(Environment(("NOTIFY_SOCKET", "relative/path")), 1));
        Assert.Null(SystemdService.FromEnvironment(Environment(("NOTIFY_SOCKET", "vsock:2:1234")), 1));
        using var gone = ServiceNotifier.Create(Path.Combine(_dir, "nobody-listens"));
        Assert.NotNull(gone);
        Assert.False(gone.Ready("up"));
    }

    [Theory]
    [InlineData("4242", "2000000", 2.0)] // our PID
    [InlineData("", "2000000", 2.0)] // no WATCHDOG_PID: ours
    [InlineData("4243", "2000000", null)] // another process's watchdog
    [InlineData("4242", "", null)]
    [InlineData("4242", "0", null)]
    [InlineData("4242", "-5", null)]
    [InlineData("4242", "2s", null)]
    public void Watchdog_IsOurs_OnlyForOurPid_AndAValidUsec(string pid, string usec, double? seconds)
    {
        using var service = SystemdService.FromEnvironment(Environment(("NOTIFY_SOCKET", "/run/nowhere"), ("WATCHDOG_PID", pid), ("WATCHDOG_USEC", usec)), 4242);
        Assert.NotNull(service);
        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, service.Watchdog);
    }
}
