using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// <c>oakley daemon</c>'s lifecycle: loads swanctl.conf, binds the IKE sockets, opens the data plane, runs the IKE
/// host, the automatic connections (<see cref="ConnectionActions"/>) and the control socket
/// (<see cref="ControlServer"/>, <see cref="ControlCommands"/>), and deletes its SAs on SIGTERM.
/// </summary>
public sealed class Daemon : IAsyncDisposable
{
    private readonly ILogger _log;
    private readonly string _configPath;
    private readonly CancellationTokenSource _stop = new();
    private readonly LocalAddressMonitor _addressMonitor;
    private readonly ConnectionActions _actions;
    private readonly ControlServer _control;
    private readonly LocalBindings _bindings;
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private readonly NamespaceLock _namespace = new();
    private SwanctlConfig _config;
    private TunDevice? _tun;

    private Daemon(SwanctlConfig config, string configPath, string controlPath, EngineSettings settings, ILoggerFactory logs, string? keylog)
    {
        _log = logs.CreateLogger("oakley");
        _config = config;
        _configPath = configPath;
        var endpoint = new Endpoint(config.Connections.Select(c => c.Ike), config.Secrets, new SystemEntropy(), settings);
        Host = new IkeHost(endpoint, logs.CreateLogger("ike"));
        Plane = new Esp.EspDataPlane(Installer.Databases);
        _addressMonitor = new LocalAddressMonitor(Host, _log);
        _actions = new ConnectionActions(Host, Installer, () => _config, _log, _stop.Token);
        _control = new ControlServer(controlPath, new ControlCommands(this).HandleAsync);
        _bindings = new LocalBindings(Host, settings.IkePort, settings.NattPort, _log);
        Host.EventRaised += Track;
        if (keylog is not null)
        {
            // Opt-in only: the one place keys are written anywhere (Wireshark decryption tables).
            var writer = new KeylogWriter(keylog) { Failed = error => _log.LogWarning("--keylog: cannot write the key tables: {Error}", error) };
            endpoint.Keylog = writer.WriteIke;
            Host.EventRaised += e =>
            {
                if (e is ChildSaInstall c)
                {
                    writer.WriteEsp(c);
                }
            };
            _log.LogWarning("writing IKE and ESP keys to {Directory} (--keylog): protect that directory", keylog);
        }
    }

    internal IkeHost Host { get; }

    internal SwanctlConfig Config => _config;

    internal ChildSaTable Children { get; } = new();

    internal DataPlaneInstaller Installer { get; } = new(new SystemEntropy());

    internal Esp.EspDataPlane Plane { get; }

    internal EspDataPath? DataPath { get; private set; }

    /// <summary>Reads and validates the configuration; throws <see cref="ConfigException"/> with file:line.</summary>
    public static SwanctlConfig LoadConfig(string path) => SwanctlFile.Load(path);

    /// <summary>
    /// Reads the charon.* settings of a strongswan.conf (<c>--settings</c>) over <paramref name="baseline"/>; throws
    /// <see cref="ConfigException"/> with file:line.
    /// </summary>
    public static EngineSettings LoadEngineSettings(string path, EngineSettings baseline) =>
        CharonSettings.Apply(SwanctlFile.ReadSettings(path, "strongswan.conf"), baseline);

    public static Daemon Create(string configPath, string controlPath, int port, int nattPort, ILoggerFactory logs, string? keylog = null, EngineSettings? settings = null)
    {
        var config = LoadConfig(configPath);
        var log = logs.CreateLogger("oakley");
        foreach (var w in config.Warnings)
        {
            log.LogWarning("{Warning}", w.ToString());
        }

        var engineSettings = (settings ?? new EngineSettings()) with { IkePort = port, NattPort = nattPort };
        if (keylog is not null)
        {
            KeylogWriter.Check(keylog);
        }

        return new Daemon(config, configPath, controlPath, engineSettings, logs, keylog);
    }

    /// <summary>
    /// Creates the control socket: first, so that a second daemon stops before it touches anything; throws
    /// <see cref="StartupException"/> (another daemon listens there, the directory cannot be created, ...).
    /// </summary>
    public void ClaimControlSocket() => _control.Claim(_log);

    /// <summary>
    /// Binds the IKE and NAT-T ports on the local_addrs (all addresses when a connection has none); an address not
    /// on the host is waited for. Throws <see cref="StartupException"/> for any other bind failure.
    /// </summary>
    public void BindSockets() => _bindings.BindAll(LocalAddresses(_config));

    private static List<IPAddress> LocalAddresses(SwanctlConfig config)
    {
        var addresses = config.Connections.SelectMany(c => c.Ike.LocalAddresses).Distinct().ToList();
        return addresses.Count == 0 || config.Connections.Any(c => c.Ike.LocalAddresses.Count == 0) ? [IPAddress.IPv6Any] : addresses;
    }

    /// <summary>
    /// Opens the TUN device (one queue per core) and connects it to the ESP data plane (needs CAP_NET_ADMIN;
    /// raw ESP also needs CAP_NET_RAW). Without it the daemon still negotiates but carries no traffic.
    /// </summary>
    public void StartDataPlane(string tunName, int mtu)
    {
        // What a killed or crashed Oakley left (its rules and routes carry Oakley's protocol number; the TUN
        // device went with the process, the control socket was handled by ClaimControlSocket) - unless another
        // Oakley is alive in this network namespace: then they are its own.
        if (!_namespace.TryAcquire())
        {
            _log.LogWarning("another Oakley daemon runs in this network namespace: its routing rules are shared, not cleaned up (run one daemon per namespace)");
        }
        else if (TunDevice.RemoveStale() is var stale and > 0)
        {
            _log.LogInformation("removed {Count} routing rule(s)/route table(s) left by an Oakley that did not exit cleanly", stale);
        }

        try
        {
            _tun = TunDevice.Open(tunName, mtu, Environment.ProcessorCount);
        }
        catch (ArgumentException e)
        {
            throw new StartupException($"--tun {tunName}: {e.Message}", e);
        }
        catch (IOException e)
        {
            _log.LogWarning("no ESP data plane: {Error}; IKE and CHILD SAs are negotiated but carry no traffic", e.Message);
            return;
        }

        DataPath = new EspDataPath(Plane, Host, _tun, _log);
        _actions.DataPath = DataPath;
        Installer.ChildInstalled += DataPath.Installed;
        _bindings.Bound += _ => DataPath.RefreshSockets();
        DataPath.Start();
        _log.LogInformation("ESP data plane on TUN device {Tun} (mtu {Mtu}, {Queues} queues, raw ESP {Raw})", tunName, mtu, _tun.Queues.Count, DataPath.RawEsp ? "on" : "off");
    }

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        var endpoints = string.Join(", ", Host.LocalEndpoints.Select(e => e.ToString())
            .Concat(_bindings.Waiting.Select(a => $"{new IPEndPoint(a, _bindings.Port)} (waiting for the address)")));
        Host.Start();
        _ = Task.Run(() => TrafficReport.RunAsync(Host, Installer, _stop.Token));
        _ = Task.Run(() => _addressMonitor.RunAsync(_stop.Token));
        _ = Task.Run(() => _bindings.WaitAsync(_stop.Token));
        _log.LogInformation("oakley daemon listening on {Endpoints}; control socket {Control}", endpoints, _control.Path);
        _control.Serve(_stop.Token);
        await _actions.StartAsync().ConfigureAwait(false);
        using var registration = cancel.Register(() => _stop.Cancel());
        var stopped = Task.Delay(Timeout.Infinite, _stop.Token);
        if (await Task.WhenAny(stopped, Host.Completion).ConfigureAwait(false) == Host.Completion)
        {
            // The engine loop ended without being asked to: a bug. No DELETE can be sent; the caller cleans up.
            var cause = Host.Completion.Exception?.InnerException;
            throw new InvalidOperationException($"the engine thread stopped: {cause?.GetType().Name}: {cause?.Message}", cause);
        }

        // SIGTERM: delete our SAs with the peers, and give the deletes a moment to leave (bounded).
        var count = await Host.Invoke((e, now) => e.Terminate(now)).ConfigureAwait(false);
        if (count > 0)
        {
            _log.LogInformation("deleting {Count} IKE SA(s) before exiting", count);
            for (var i = 0; i < 20 && await Host.Invoke((e, _) => e.IkeSas.Count).ConfigureAwait(false) > 0; i++)
            {
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return 0;
    }

    /// <summary>
    /// load-all: the configuration is read again; SAs whose connection went or changed are deleted, traps are
    /// replaced. Throws <see cref="ConfigException"/> (file:line) and keeps the old configuration if the new one
    /// does not load.
    /// </summary>
    internal async Task<JsonObject> ReloadAsync()
    {
        await _reloading.WaitAsync().ConfigureAwait(false); // load-all and SIGHUP one at a time
        try
        {
            SwanctlConfig config;
            try
            {
                config = LoadConfig(_configPath);
            }
            catch (ConfigException e)
            {
                _log.LogError("reload failed, keeping the old configuration: {Error}", e.Message);
                throw;
            }

            foreach (var w in config.Warnings)
            {
                _log.LogWarning("{Warning}", w.ToString());
            }

            _config = config;
            var deleted = await Host.Invoke((e, now) => e.Reconfigure(now, config.Connections.Select(c => c.Ike), config.Secrets)).ConfigureAwait(false);
            await Host.Invoke((_, _) => _actions.ReinstallTraps(config)).ConfigureAwait(false);
            await Host.Invoke((_, _) =>
            {
                _bindings.Ensure(LocalAddresses(config));
                return 0;
            }).ConfigureAwait(false);
            return new JsonObject
            {
                ["ok"] = true,
                ["connections"] = config.Connections.Count,
                ["deleted-sas"] = deleted,
                ["warnings"] = new JsonArray(config.Warnings.Select(w => (JsonNode)w.ToString()).ToArray()),
            };
        }
        finally
        {
            _reloading.Release();
        }
    }

    /// <summary>SIGHUP: reloads like load-all; a configuration that does not load is logged and the old one kept.</summary>
    public async Task ReloadOnSignalAsync()
    {
        _log.LogInformation("SIGHUP received: reloading {Config}", _configPath);
        try
        {
            var result = await ReloadAsync().ConfigureAwait(false);
            _log.LogInformation("reloaded {Config}: {Connections} connection(s), {Deleted} IKE SA(s) deleted", _configPath, result["connections"]?.ToJsonString(), result["deleted-sas"]?.ToJsonString());
        }
        catch (ConfigException)
        {
            // ReloadAsync logged it.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("reload failed, keeping the old configuration: {Error}", e.Message);
        }
    }

    /// <summary>
    /// A crash (an exception no code expected): removes what this daemon installed without waiting for anything
    /// (the control socket, its rules and routes); the TUN device goes with the process.
    /// </summary>
    public void CleanUpAfterCrash()
    {
        _control.RemoveAfterCrash();
        if (_namespace.Held)
        {
            TunDevice.RemoveStale(); // everything marked as Oakley's in this namespace is this daemon's
        }
    }

    private void Track(EngineEvent e)
    {
        Installer.Handle(e);
        _actions.Handle(e);
        if (e is IkeSaUp)
        {
            _addressMonitor.Wake(); // learn the new SA's path (source address) now, not within the next second
        }

        Children.Handle(e);
    }

    /// <summary>Sends one control request and returns the response (used by the CLI verbs).</summary>
    public static Task<JsonObject> RequestAsync(string controlPath, JsonObject request, CancellationToken cancel) =>
        ControlServer.RequestAsync(controlPath, request, cancel);

    /// <summary>The algorithm names swanctl --list-sas prints, so that both daemons' listings read alike.</summary>
    public static string StrongSwanName(Iana.EncrId id) => StatusViews.StrongSwanName(id);

    public static string StrongSwanName(Iana.IntegId id) => StatusViews.StrongSwanName(id);

    /// <summary>Removes everything the daemon installed; each step runs even if an earlier one failed.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        CleanUp(_control.Dispose);
        CleanUp(() => DataPath?.Dispose());
        try
        {
            await Host.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError("cleaning up the IKE sockets: {Error}", e.Message);
        }

        CleanUp(() => _tun?.Dispose());
        _namespace.Dispose();
        _stop.Dispose();
        _reloading.Dispose();
    }

    private void CleanUp(Action step)
    {
        try
        {
            step();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError("cleaning up: {Error}", e.Message);
        }
    }
}
