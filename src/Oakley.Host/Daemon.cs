using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Host.Counters;
using Oakley.Host.Metrics;
using Oakley.Host.Radius;
using Oakley.Host.Vici;

namespace Oakley.Host;

/// <summary>
/// <c>oakley daemon</c>'s lifecycle: loads swanctl.conf, binds the IKE sockets, opens the data plane, runs the IKE
/// host, the data plane (<see cref="DataPlaneHost"/>), the connection supervisor (<see cref="ConnectionSupervisor"/>)
/// and the control socket (<see cref="ControlServer"/>, <see cref="ControlCommands"/>), and deletes its SAs on SIGTERM.
/// </summary>
public sealed class Daemon : IAsyncDisposable
{
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly LocalAddressMonitor _addressMonitor;
    private readonly ConnectionSupervisor _supervisor;
    private readonly ControlServer _control;
    private readonly LocalBindings _bindings;
    private readonly DataPlaneHost _dataPlane;
    private readonly ConfigReload _configuration;
    private readonly ViciServer _vici;

    private readonly HttpRevocationSource _revocation;
    private readonly DnsPublicKeyDirectory? _keyDirectory;
    private readonly RadiusClient? _radius;
    private readonly RadiusAccounting? _accounting;
    private volatile DaemonMetrics? _metrics;
    private MetricsListener? _metricsListener;

    private Daemon(SwanctlStore store, SwanctlConfig config, string configPath, string controlPath, EngineSettings settings, ILoggerFactory logs, string? keylog, IpsecKeySettings? ipseckey,
        RadiusSettings radius, string? settingsPath, Func<string>? reloadLogLevels)
    {
        _log = logs.CreateLogger("oakley");
        _revocation = new HttpRevocationSource(logs.CreateLogger("revocation"));
        _keyDirectory = ipseckey is { Enable: true } ? new DnsPublicKeyDirectory(ipseckey.Resolvers, logs.CreateLogger("ipseckey")) : null;
        Prepare(config);
        var endpoint = new Endpoint(config.Connections.Select(c => c.Ike), config.Secrets, new SystemEntropy(), settings);
        endpoint.SetPools(config.Pools); // before the engine thread runs: nothing else touches the endpoint yet
        endpoint.Counters = EngineCounters;
        Host = new IkeHost(endpoint, logs.CreateLogger("ike"));
        Radius = radius;
        if (radius.Enabled)
        {
            _radius = new RadiusClient(radius.Servers, logs.CreateLogger("radius"));
            _accounting = radius.Accounting ? new RadiusAccounting(_radius, radius, Counters, logs.CreateLogger("radius")) : null;
            // A RADIUS answer resumes the IKE SA that waits for it on the engine thread (Endpoint.Resume), not at the
            // client's next retransmission.
            endpoint.EapAaa = new EapRadiusAaa(radius, _radius, id => Host.Post((e, now) => e.Resume(now, id)), logs.CreateLogger("radius"), _accounting);
        }
        Plane = new Esp.EspDataPlane(Installer.Databases);
        _addressMonitor = new LocalAddressMonitor(Host, _log);
        _supervisor = new ConnectionSupervisor(Host, Installer, () => _configuration!.Current, _log, _stop.Token);
        _dataPlane = new DataPlaneHost(_log);
        // One socket, two protocols: Oakley's JSON lines and strongSwan's VICI (the first byte tells them apart).
        _control = new ControlServer(controlPath, new ControlCommands(this).HandleAsync, (stream, first, stop) => _vici!.ServeAsync(stream, first, stop));
        _bindings = new LocalBindings(Host, settings.IkePort, settings.NattPort, _log);
        _configuration = new ConfigReload(configPath, store, config, Host, _supervisor, _bindings, _log, Prepare);
        Host.EventRaised += Track;
        _vici = ViciRegistry.Create(this, logs, new IkeCountersSource(IkeCounters), settingsPath, reloadLogLevels); // after Track: its events see the tables Track updated
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

    /// <summary>charon.plugins.eap-radius (no servers: RADIUS is off).</summary>
    internal RadiusSettings Radius { get; }

    /// <summary>The RADIUS client for eap-radius connections and accounting; null without servers.</summary>
    internal RadiusClient? RadiusClient => _radius;

    /// <summary>RADIUS accounting (charon.plugins.eap-radius.accounting), fed the engine's events by <see cref="Track"/>.</summary>
    internal RadiusAccounting? RadiusAccounting => _accounting;

    private (long BytesIn, long PacketsIn, long BytesOut, long PacketsOut)? Counters(uint inboundSpi) =>
        Installer.Counters(inboundSpi) is { } c ? (c.BytesIn, c.PacketsIn, c.BytesOut, c.PacketsOut) : null;

    /// <summary>
    /// A loaded configuration's revocation checks get the daemon's fetcher (CRL distribution points, OCSP) and nonces,
    /// and, with charon.plugins.ipseckey.enable, the DNS lookup of peers' public keys.
    /// </summary>
    private void Prepare(SwanctlConfig config)
    {
        var store = config.Secrets.Certificates;
        store.Revocation = store.Revocation.WithSource(_revocation, new SystemEntropy());
        store.KeyDirectory = _keyDirectory;
    }

    internal SwanctlConfig Config => _configuration.Current;

    /// <summary>start_action, dpd/close_action and the trap policies (VICI install/uninstall).</summary>
    internal ConnectionSupervisor Supervisor => _supervisor;

    /// <summary>The VICI side of the control socket.</summary>
    internal ViciServer ViciServer => _vici;

    internal void LogInfo(string message) => _log.LogInformation("{Message}", message);

    /// <summary>The configuration store that VICI's load-*/unload-* commands change (Vici/ViciConfigCommands and the others).</summary>
    internal IConfigStore Configuration => _configuration;

    internal ChildSaTable Children { get; } = new();

    /// <summary>strongSwan's counters plugin set (VICI get-counters/reset-counters), kept with or without --metrics.</summary>
    internal IkeCounters IkeCounters => EngineCounters.Ike;

    /// <summary>What the engine counts for the metrics and VICI (lock-free; <see cref="IkeCounters"/> inside).</summary>
    internal EngineCounters EngineCounters { get; } = new(new IkeCounters());

    /// <summary>
    /// <c>--metrics</c>: listens for Prometheus scrapes on <paramref name="endpoint"/> (before <see cref="RunAsync"/>);
    /// throws <see cref="StartupException"/> if it cannot. <paramref name="childSaSeries"/>: the CHILD SAs with ESP series of their own.
    /// </summary>
    public void StartMetrics(IPEndPoint endpoint, int childSaSeries)
    {
        var metrics = new DaemonMetrics(EngineCounters, spi => Installer.Counters(spi) is { } c ? new Traffic(c.BytesIn, c.PacketsIn, c.BytesOut, c.PacketsOut) : null, childSaSeries);
        _metricsListener = new MetricsListener(endpoint, async cancel =>
        {
            var snapshot = await Host.Invoke((e, now) => metrics.Read(e, now)).ConfigureAwait(false);
            metrics.Publisher.Publish(snapshot);
            return metrics.Registry;
        }, _log);
        _metrics = metrics;
        _metricsListener.Start();
        _log.LogInformation("metrics on http://{Endpoint}/metrics", MetricsListener.Format(_metricsListener.Endpoint));
    }

    internal ConnectionFailures Failures { get; } = new();

    internal DataPlaneInstaller Installer { get; } = new(new SystemEntropy());

    internal Esp.EspDataPlane Plane { get; }

    internal EspDataPath? DataPath => _dataPlane.DataPath;

    /// <summary>Reads and validates the configuration; throws <see cref="ConfigException"/> with file:line.</summary>
    public static SwanctlConfig LoadConfig(string path) => SwanctlFile.Load(path);

    /// <summary>
    /// Reads the charon.* settings of a strongswan.conf (<c>--settings</c>) over <paramref name="baseline"/>; throws
    /// <see cref="ConfigException"/> with file:line.
    /// </summary>
    public static EngineSettings LoadEngineSettings(string path, EngineSettings baseline)
    {
        var root = SwanctlFile.ReadSettings(path, "strongswan.conf");
        return EapTlsSettings.Apply(root, CharonSettings.Apply(root, baseline));
    }

    /// <summary>The ipseckey plugin settings of a strongswan.conf (<c>--settings</c>); throws <see cref="ConfigException"/> with file:line.</summary>
    public static IpsecKeySettings LoadIpsecKeySettings(string path) =>
        IpsecKeySettings.Read(SwanctlFile.ReadSettings(path, "strongswan.conf"), f => File.Exists(f) ? File.ReadAllText(f) : null);

    /// <summary><c>charon.plugins.resolve.file</c>: where a virtual IP's DNS servers are written instead of asking the resolver daemons (null: not set).</summary>
    public static string? LoadResolveFile(string path) =>
        SwanctlFile.ReadSettings(path, "strongswan.conf").Section("charon")?.Section("plugins")?.Section("resolve")?.Value("file")?.Value.Trim();

    /// <summary>The eap-radius plugin settings of a strongswan.conf (<c>--settings</c>); throws <see cref="ConfigException"/> with file:line.</summary>
    public static RadiusSettings LoadRadiusSettings(string path) => RadiusSettings.Read(SwanctlFile.ReadSettings(path, "strongswan.conf"));

    public static Daemon Create(string configPath, string controlPath, int port, int nattPort, ILoggerFactory logs, string? keylog = null, EngineSettings? settings = null,
        IpsecKeySettings? ipseckey = null, RadiusSettings? radius = null, string? settingsPath = null, Func<string>? reloadLogLevels = null)
    {
        var store = SwanctlFile.LoadStore(configPath);
        var config = SwanctlLoader.Build(store);
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

        foreach (var w in radius?.Warnings ?? [])
        {
            log.LogWarning("{Warning}", w.ToString());
        }

        return new Daemon(store, config, configPath, controlPath, engineSettings, logs, keylog, ipseckey, radius ?? RadiusSettings.None, settingsPath, reloadLogLevels);
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
    public void BindSockets() => _bindings.BindAll(LocalBindings.AddressesOf(Config));

    /// <summary>
    /// Opens the TUN device (one queue per core) and connects it to the ESP data plane (needs CAP_NET_ADMIN;
    /// raw ESP also needs CAP_NET_RAW). Without it the daemon still negotiates but carries no traffic.
    /// </summary>
    public void StartDataPlane(string tunName, int mtu, ICommandRunner? commands = null, string? resolvFile = null)
    {
        if (_dataPlane.Open(tunName, mtu, Plane, Host, commands, resolvFile) is not { } path)
        {
            return;
        }

        _supervisor.Routes = _dataPlane.Routes;
        Installer.ChildInstalled += path.Installed;
        _bindings.Bound += _ => path.RefreshSockets();
    }

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        var endpoints = string.Join(", ", Host.LocalEndpoints.Select(e => e.ToString())
            .Concat(_bindings.Waiting.Select(a => $"{new IPEndPoint(a, _bindings.Port)} (waiting for the address)")));
        Host.Start();
        _ = Task.Run(() => TrafficReport.RunAsync(Host, Installer, _stop.Token));
        _ = Task.Run(() => _addressMonitor.RunAsync(_stop.Token));
        _ = Task.Run(() => _bindings.WaitAsync(_stop.Token));
        if (_accounting is { } accounting)
        {
            _ = Task.Run(() => accounting.RunAsync(Host, _stop.Token));
        }
        _log.LogInformation("oakley daemon listening on {Endpoints}; control socket {Control}", endpoints, _control.Path);
        _control.Serve(_stop.Token);
        await _supervisor.StartAsync().ConfigureAwait(false);
        NotifyReady();
        using var registration = cancel.Register(() => _stop.Cancel());
        var stopped = Task.Delay(Timeout.Infinite, _stop.Token);
        if (await Task.WhenAny(stopped, Host.Completion).ConfigureAwait(false) == Host.Completion)
        {
            // The engine loop ended without being asked to: a bug. No DELETE can be sent; the caller cleans up.
            var cause = Host.Completion.Exception?.InnerException;
            throw new InvalidOperationException($"the engine thread stopped: {cause?.GetType().Name}: {cause?.Message}", cause);
        }

        // SIGTERM: delete our SAs with the peers, and give the deletes a moment to leave (bounded).
        Service?.Notifier.Stopping("deleting the IKE SAs and exiting");
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
    /// The service manager of a systemd unit (NOTIFY_SOCKET; null when not run by one): told READY=1 once the sockets
    /// are bound and the engine and supervisor run, RELOADING=1/READY=1 around each reload, STOPPING=1 at SIGTERM,
    /// and WATCHDOG=1 while the engine thread answers (<see cref="Systemd.ServiceWatchdog"/>). Set before <see cref="RunAsync"/>.
    /// </summary>
    public Systemd.SystemdService? Service { get; set; }

    private void NotifyReady()
    {
        if (Service is not { } service)
        {
            return;
        }

        _configuration.Notifier = service.Notifier;
        service.Notifier.Ready(StatusLine(Host.Endpoint));
        // The probe runs on the engine thread: an answer proves that thread still turns.
        _ = Task.Run(() => service.RunWatchdogAsync(() => Host.Invoke((e, _) => StatusLine(e)), _log, _stop.Token));
    }

    /// <summary>The unit's STATUS= line (systemctl status): SAs, connections, listening endpoints. Engine thread.</summary>
    private string StatusLine(Endpoint endpoint) =>
        $"{endpoint.IkeSas.Count} IKE SA(s), {Config.Connections.Count} connection(s); listening on {string.Join(", ", Host.LocalEndpoints)}";

    /// <summary>load-all (<see cref="ConfigReload.ReloadAsync"/>).</summary>
    internal Task<JsonObject> ReloadAsync() => _configuration.ReloadAsync();

    /// <summary>SIGHUP: reloads like load-all; a configuration that does not load is logged and the old one kept.</summary>
    public Task ReloadOnSignalAsync() => _configuration.ReloadOnSignalAsync();

    /// <summary>
    /// A crash (an exception no code expected): removes what this daemon installed without waiting for anything
    /// (the control socket, its rules and routes); the TUN device goes with the process.
    /// </summary>
    public void CleanUpAfterCrash()
    {
        _control.RemoveAfterCrash();
        _dataPlane.RemoveAfterCrash();
    }

    private void Track(EngineEvent e)
    {
        _accounting?.Handle(e); // first: a removed CHILD SA's final counters are still in the data plane
        _metrics?.Handle(e); // likewise
        Installer.Handle(e);
        _dataPlane.Handle(e);
        _supervisor.Handle(e);
        _addressMonitor.Track(e);

        Children.Handle(e);
        Failures.Handle(e);
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
        CleanUp(_vici.CloseAll);
        if (_metricsListener is not null)
        {
            await _metricsListener.DisposeAsync().ConfigureAwait(false);
        }

        CleanUp(_control.Dispose);
        CleanUp(_dataPlane.StopDataPath);
        try
        {
            await Host.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError("cleaning up the IKE sockets: {Error}", e.Message);
        }

        CleanUp(_dataPlane.Dispose);
        _stop.Dispose();
        _configuration.Dispose();
        _revocation.Dispose();
        _accounting?.Dispose();
        if (_radius is not null)
        {
            await _radius.DisposeAsync().ConfigureAwait(false);
        }
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
