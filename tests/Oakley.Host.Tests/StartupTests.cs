using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host.Tests;

/// <summary>Collects log lines (level and formatted message) for assertions.</summary>
internal sealed class ListLogger : ILogger, ILoggerProvider, ILoggerFactory
{
    private readonly List<(LogLevel Level, string Message)> _lines = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
        {
            _lines.Add((logLevel, formatter(state, exception)));
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// Start-up in bad environments without root: local_addrs not on the host, ports in use, the control socket
/// (missing directory, a live daemon, a stale socket, something else at the path), and a reload that fails.
/// The namespace tests (tests/interop/daemon-env.sh) cover the same with the real daemon, TUN and signals.
/// </summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-hst-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IkeHost NewHost() => new(new Endpoint([], new CredentialStore(), new SystemEntropy()), new ListLogger());

    private static int FreePortPair(out int natt)
    {
        // Two free ports on loopback (bound and released: good enough for a test that binds them at once).
        var ike = IkeHost.FreeUdpPort(IPAddress.Loopback);
        do
        {
            natt = IkeHost.FreeUdpPort(IPAddress.Loopback);
        }
        while (natt == ike);
        return ike;
    }

    [Fact]
    public async Task AddressNotOnTheHost_IsWaitedFor_LoggedOnce_AndNotAnError()
    {
        await using var host = NewHost();
        var log = new ListLogger();
        var port = FreePortPair(out var natt);
        var bindings = new LocalBindings(host, port, natt, log);
        var absent = IPAddress.Parse("192.0.2.77"); // documentation address: not on a test machine

        bindings.BindAll([absent, IPAddress.Loopback]);

        Assert.Equal([absent], bindings.Waiting);
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.Loopback, natt)], host.LocalEndpoints);
        Assert.Equal(0, bindings.RetryWaiting()); // still absent: keeps waiting, logs nothing more
        Assert.Equal([absent], bindings.Waiting);
        var waiting = Assert.Single(log.Lines);
        Assert.Equal(LogLevel.Warning, waiting.Level);
        Assert.Equal("local address 192.0.2.77 (local_addrs) is not on this host: waiting for it to appear", waiting.Message);
    }

    [Fact]
    public async Task Reload_BindsTheNewAddresses_AndWaitsForAbsentOnes()
    {
        await using var host = NewHost();
        var log = new ListLogger();
        var port = FreePortPair(out var natt);
        var bindings = new LocalBindings(host, port, natt, log);
        bindings.BindAll([IPAddress.Loopback]);
        var absent = IPAddress.Parse("192.0.2.78");
        var second = IPAddress.Parse("127.0.0.2"); // on lo with the rest of 127.0.0.0/8

        bindings.Ensure([IPAddress.Loopback, second, absent]);
        bindings.Ensure([IPAddress.Loopback, second, absent]); // idempotent: nothing bound twice, logged once

        Assert.Equal(4, host.LocalEndpoints.Count);
        Assert.Contains(new IPEndPoint(second, natt), host.LocalEndpoints);
        Assert.Equal([absent], bindings.Waiting);
        Assert.Single(log.Lines, l => l.Message.Contains("192.0.2.78", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reload_WithWildcardSockets_BindsNothingMore()
    {
        await using var host = NewHost();
        var port = FreePortPair(out var natt);
        var bindings = new LocalBindings(host, port, natt, new ListLogger());
        bindings.BindAll([IPAddress.IPv6Any]);

        bindings.Ensure([IPAddress.Loopback, IPAddress.Parse("192.0.2.78")]);

        Assert.Equal(2, host.LocalEndpoints.Count);
        Assert.Empty(bindings.Waiting);
    }

    [Fact]
    public async Task PortInUse_IsOneLineNamingAddressPortAndCause()
    {
        await using var host = NewHost();
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var bindings = new LocalBindings(host, port, IkeHost.FreeUdpPort(IPAddress.Loopback), new ListLogger());

        var e = Assert.Throws<StartupException>(() => bindings.BindAll([IPAddress.Loopback]));

        Assert.StartsWith($"cannot bind 127.0.0.1:{port}: Address already in use (", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(host.LocalEndpoints);
    }

    [Fact]
    public async Task NattPortInUse_ReleasesTheIkePortItAlreadyBound()
    {
        await using var host = NewHost();
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var natt = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var port = IkeHost.FreeUdpPort(IPAddress.Loopback);
        var bindings = new LocalBindings(host, port, natt, new ListLogger());

        var e = Assert.Throws<StartupException>(() => bindings.BindAll([IPAddress.Loopback]));

        Assert.Contains($"127.0.0.1:{natt}", e.Message, StringComparison.Ordinal);
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        again.Bind(new IPEndPoint(IPAddress.Loopback, port)); // throws if the IKE port were still held
    }

    private ControlServer Server(string path) => new(path, (r, _) => Task.FromResult<System.Text.Json.Nodes.JsonObject?>(new System.Text.Json.Nodes.JsonObject { ["ok"] = true, ["echo"] = r["cmd"]?.DeepClone() }));

    [Fact]
    public async Task ControlSocket_MissingDirectoryIsCreated_AndTheSocketAnswers()
    {
        var path = Path.Combine(_dir, "run", "sub", "oakley.ctl");
        var log = new ListLogger();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using (var server = Server(path))
        {
            server.Claim(log);
            server.Serve(cts.Token);
            var response = await ControlServer.RequestAsync(path, new() { ["cmd"] = "ping" }, cts.Token);
            Assert.Equal("ping", (string?)response["echo"]);
            Assert.Equal(LinuxIo.FileTypeSocket, LinuxIo.FileType(path));
        }

        Assert.Contains(log.Lines, l => l.Message == $"created the directory {Path.Combine(_dir, "run", "sub")} for the control socket");
        Assert.False(File.Exists(path)); // removed on dispose
        await cts.CancelAsync();
    }

    [Fact]
    public void ControlSocket_OfALiveDaemon_IsRefused_AndLeftInPlace()
    {
        var path = Path.Combine(_dir, "live.ctl");
        using var cts = new CancellationTokenSource();
        using var live = Server(path);
        live.Claim(new ListLogger());
        live.Serve(cts.Token);

        var second = Server(path);
        var e = Assert.Throws<StartupException>(() => second.Claim(new ListLogger()));
        second.Dispose(); // must not remove the live daemon's socket

        Assert.Equal($"another daemon is listening on the control socket {path}: stop it first, or give this one another --control", e.Message);
        Assert.Equal(LinuxIo.FileTypeSocket, LinuxIo.FileType(path));
        cts.Cancel();
    }

    [Fact]
    public void ControlSocket_Stale_IsRemovedAndReplaced()
    {
        var path = Path.Combine(_dir, "stale.ctl");
        using (var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // A killed daemon: the file stays, nobody listens (.NET removes the file of a socket it closes, so the
            // file is moved away from under it first).
            dead.Bind(new UnixDomainSocketEndPoint(path + ".tmp"));
            File.Move(path + ".tmp", path);
        }

        Assert.True(File.Exists(path));
        var log = new ListLogger();
        using var server = Server(path);
        server.Claim(log);

        Assert.Contains(log.Lines, l => l.Message == $"removed the stale control socket {path} (left by a daemon that did not exit cleanly)");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        probe.Connect(new UnixDomainSocketEndPoint(path)); // the new socket listens
    }

    [Fact]
    public void ControlSocket_PathHoldingAFile_IsRefused_AndTheFileKept()
    {
        var path = Path.Combine(_dir, "precious");
        File.WriteAllText(path, "not a socket");
        var server = Server(path);

        var e = Assert.Throws<StartupException>(() => server.Claim(new ListLogger()));
        server.Dispose();

        Assert.Equal($"{path} exists and is not a socket: not replacing it (--control chooses another path)", e.Message);
        Assert.Equal("not a socket", File.ReadAllText(path));
    }

    [Fact]
    public void ControlSocket_DirectoryThatCannotBeCreated_IsOneLine()
    {
        var blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "");
        var path = Path.Combine(blocker, "dir", "oakley.ctl"); // a regular file where a directory must go

        var e = Assert.Throws<StartupException>(() => Server(path).Claim(new ListLogger()));

        Assert.StartsWith($"cannot create the directory {Path.Combine(blocker, "dir")} for the control socket {path}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_WithABrokenConfig_KeepsTheOldOne_AndLogsTheError()
    {
        var conf = Path.Combine(_dir, "swanctl.conf");
        File.WriteAllText(conf, "connections {\n  first {\n    remote_addrs = 192.0.2.2\n    local {\n      auth = psk\n      id = a.example\n    }\n    remote {\n      auth = psk\n    }\n    children {\n      net {\n      }\n    }\n  }\n}\n");
        var log = new ListLogger();
        await using var daemon = Daemon.Create(conf, Path.Combine(_dir, "d.ctl"), 500, 4500, log);
        daemon.ClaimControlSocket();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = daemon.RunAsync(stop.Token);

        File.WriteAllText(conf, "connections {\n  second {\n");
        await daemon.ReloadOnSignalAsync();

        Assert.Equal("first", Assert.Single(daemon.Config.Connections).Ike.Name);
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Information && l.Message == $"SIGHUP received: reloading {conf}");
        var error = Assert.Single(log.Lines, l => l.Level == LogLevel.Error);
        Assert.Matches($"^reload failed, keeping the old configuration: {System.Text.RegularExpressions.Regex.Escape(conf)}:[0-9]+: error: .*second", error.Message);

        File.WriteAllText(conf, "connections {\n  third {\n    remote_addrs = 192.0.2.2\n    local {\n      auth = psk\n      id = a.example\n    }\n    remote {\n      auth = psk\n    }\n    children {\n      net {\n      }\n    }\n  }\n}\n");
        await daemon.ReloadOnSignalAsync();
        Assert.Equal("third", Assert.Single(daemon.Config.Connections).Ike.Name);
        Assert.Contains(log.Lines, l => l.Message == $"reloaded {conf}: 1 connection(s); IKE SAs: 0 unchanged, 0 updated in place, 0 deleted");

        await stop.CancelAsync();
        Assert.Equal(0, await run);
    }
}

/// <summary><c>oakley daemon</c>'s outcome when it cannot run: one line on stderr and the documented exit code.</summary>
public sealed class DaemonRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-hst-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config()
    {
        var path = Path.Combine(_dir, "swanctl.conf");
        File.WriteAllText(path, "connections {\n  c {\n    local_addrs = 127.0.0.1\n    remote_addrs = 192.0.2.2\n    local {\n      auth = psk\n      id = a.example\n    }\n    remote {\n      auth = psk\n    }\n    children {\n      net {\n      }\n    }\n  }\n}\n");
        return path;
    }

    private static async Task<(int Code, string Error)> RunAsync(DaemonOptions options)
    {
        var stderr = new StringWriter();
        var before = Console.Error;
        Console.SetError(stderr);
        try
        {
            return (await DaemonRunner.RunAsync(options, new ListLogger()), stderr.ToString());
        }
        finally
        {
            Console.SetError(before);
        }
    }

    [Fact]
    public async Task PortInUse_ExitsWith1_OneLine_AndRemovesTheControlSocket()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var control = Path.Combine(_dir, "d.ctl");

        var (code, error) = await RunAsync(new DaemonOptions(Config(), control, port, IkeHost.FreeUdpPort(IPAddress.Loopback), null, "hst-unused", 1400, null, s => s));

        Assert.Equal(DaemonRunner.ExitStartup, code);
        Assert.StartsWith($"oakley: cannot bind 127.0.0.1:{port}: Address already in use", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(control));
    }

    [Fact]
    public async Task KeylogDirectoryThatCannotBeWritten_ExitsWith1_OneLine()
    {
        var blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "");
        var keylog = Path.Combine(blocker, "keys");

        var (code, error) = await RunAsync(new DaemonOptions(Config(), Path.Combine(_dir, "d.ctl"), 0, 0, keylog, "hst-unused", 1400, null, s => s));

        Assert.Equal(DaemonRunner.ExitStartup, code);
        Assert.StartsWith($"oakley: --keylog {keylog}: ", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task CrashOnAnotherThread_IsOneLine_AndRemovesTheControlSocket()
    {
        var control = Path.Combine(_dir, "crash.ctl");
        await using var daemon = Daemon.Create(Config(), control, 0, 0, new ListLogger());
        daemon.ClaimControlSocket();
        Assert.True(File.Exists(control));
        var stderr = new StringWriter();
        var before = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = DaemonRunner.ReportCrash(new NullReferenceException("oops"), daemon);
        }
        finally
        {
            Console.SetError(before);
        }

        Assert.Equal(DaemonRunner.ExitInternal, code);
        Assert.Equal("oakley: internal error, exiting: NullReferenceException: oops\n", stderr.ToString().Replace("\r", "", StringComparison.Ordinal));
        Assert.False(File.Exists(control));
    }

    [Fact]
    public async Task UnexpectedException_ExitsWith70_OneLineWithoutStackTrace()
    {
        var (code, error) = await RunAsync(new DaemonOptions(Config(), Path.Combine(_dir, "d.ctl"), 0, 0, null, "hst-unused", 1400, null,
            _ => throw new InvalidOperationException("boom")));

        Assert.Equal(DaemonRunner.ExitInternal, code);
        Assert.Equal("oakley: internal error, exiting: InvalidOperationException: boom\n", error.Replace("\r", "", StringComparison.Ordinal));
    }
}
