using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// <c>oakley daemon</c>: loads swanctl.conf, runs the IKE host, acts on start_action, serves the control socket
/// (one JSON request per line, one JSON response per line) and deletes its SAs on SIGTERM.
/// </summary>
public sealed class Daemon : IAsyncDisposable
{
    private readonly ILogger _log;
    private readonly string _configPath;
    private readonly string _controlPath;
    private readonly IkeHost _host;
    private readonly Dictionary<long, List<ChildSaInstall>> _children = [];
    private readonly CancellationTokenSource _stop = new();
    private SwanctlConfig _config;
    private Socket? _control;
    private readonly DataPlaneInstaller _installer = new(new SystemEntropy());
    private readonly Esp.EspDataPlane _plane;
    private readonly LocalAddressMonitor _addressMonitor;
    private TunDevice? _tun;
    private EspDataPath? _dataPath;

    private Daemon(SwanctlConfig config, string configPath, string controlPath, EngineSettings settings, ILoggerFactory logs, string? keylog)
    {
        _log = logs.CreateLogger("oakley");
        _config = config;
        _configPath = configPath;
        _controlPath = controlPath;
        var endpoint = new Endpoint(config.Connections.Select(c => c.Ike), config.Secrets, new SystemEntropy(), settings);
        _host = new IkeHost(endpoint, logs.CreateLogger("ike"));
        _plane = new Esp.EspDataPlane(_installer.Databases);
        _addressMonitor = new LocalAddressMonitor(_host, _log);
        _host.EventRaised += Track;
        if (keylog is not null)
        {
            // Opt-in only: the one place keys are written anywhere (Wireshark decryption tables).
            var writer = new KeylogWriter(keylog);
            endpoint.Keylog = writer.WriteIke;
            _host.EventRaised += e =>
            {
                if (e is ChildSaInstall c)
                {
                    writer.WriteEsp(c);
                }
            };
            _log.LogWarning("writing IKE and ESP keys to {Directory} (--keylog): protect that directory", keylog);
        }
    }

    /// <summary>Reads and validates the configuration; throws <see cref="ConfigException"/> with file:line.</summary>
    public static SwanctlConfig LoadConfig(string path) => SwanctlFile.Load(path);

    /// <summary>
    /// Reads the charon.* settings of a strongswan.conf (<c>--settings</c>) over <paramref name="baseline"/>; throws
    /// <see cref="ConfigException"/> with file:line.
    /// </summary>
    public static EngineSettings LoadEngineSettings(string path, EngineSettings baseline)
    {
        var parser = new SettingsParser(File.ReadAllText, Glob);
        return CharonSettings.Apply(parser.ParseFile(path), baseline);
    }

    public static IEnumerable<string> Glob(string pattern)
    {
        var dir = Path.GetDirectoryName(pattern) ?? ".";
        var name = Path.GetFileName(pattern);
        if (!name.Contains('*', StringComparison.Ordinal) && !name.Contains('?', StringComparison.Ordinal))
        {
            return File.Exists(pattern) ? [pattern] : [];
        }

        return Directory.Exists(dir) ? Directory.GetFiles(dir, name).Order(StringComparer.Ordinal) : [];
    }

    public static Daemon Create(string configPath, string controlPath, int port, int nattPort, ILoggerFactory logs, string? keylog = null, EngineSettings? settings = null)
    {
        var config = LoadConfig(configPath);
        var log = logs.CreateLogger("oakley");
        foreach (var w in config.Warnings)
        {
            log.LogWarning("{Warning}", w.ToString());
        }

        var engineSettings = (settings ?? new EngineSettings()) with { IkePort = port, NattPort = nattPort };
        var daemon = new Daemon(config, configPath, controlPath, engineSettings, logs, keylog);
        var addresses = config.Connections.SelectMany(c => c.Ike.LocalAddresses).Distinct().ToList();
        if (addresses.Count == 0 || config.Connections.Any(c => c.Ike.LocalAddresses.Count == 0))
        {
            addresses = [IPAddress.IPv6Any];
        }

        foreach (var a in addresses)
        {
            daemon._host.Bind(new IPEndPoint(a, port), natT: false);
            daemon._host.Bind(new IPEndPoint(a, nattPort), natT: true);
        }

        return daemon;
    }

    /// <summary>
    /// Opens the TUN device (one queue per core) and connects it to the ESP data plane (needs CAP_NET_ADMIN;
    /// raw ESP also needs CAP_NET_RAW). Without it the daemon still negotiates but carries no traffic.
    /// </summary>
    public void StartDataPlane(string tunName, int mtu)
    {
        try
        {
            _tun = TunDevice.Open(tunName, mtu, Environment.ProcessorCount);
        }
        catch (IOException e)
        {
            _log.LogWarning("no ESP data plane: {Error}", e.Message);
            return;
        }

        _dataPath = new EspDataPath(_plane, _host, _tun, _log);
        _installer.ChildInstalled += _dataPath.Installed;
        _dataPath.Start();
        _log.LogInformation("ESP data plane on TUN device {Tun} (mtu {Mtu}, {Queues} queues, raw ESP {Raw})", tunName, mtu, _tun.Queues.Count, _dataPath.RawEsp ? "on" : "off");
    }

    /// <summary>
    /// Once a second (engine thread): CHILD SAs whose inbound packet counter moved are reported to the engine, so
    /// that dead peer detection only asks a peer that has gone quiet, and every CHILD SA's byte and packet counts
    /// feed the volume lifetimes (rekey_bytes, life_packets, ...).
    /// </summary>
    private async Task FeedTrafficAsync()
    {
        var seen = new Dictionary<uint, long>();
        var seenOut = new Dictionary<uint, long>();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await _host.Invoke((e, now) =>
                {
                    foreach (var spi in _installer.InboundSpis)
                    {
                        if (_installer.Counters(spi) is not { } c)
                        {
                            continue;
                        }

                        if (!seen.TryGetValue(spi, out var before) || c.PacketsIn != before)
                        {
                            seen[spi] = c.PacketsIn;
                            if (c.PacketsIn > 0)
                            {
                                e.NoteInboundTraffic(now, spi);
                            }
                        }

                        if (c.PacketsOut > 0 && (!seenOut.TryGetValue(spi, out var sent) || c.PacketsOut != sent))
                        {
                            seenOut[spi] = c.PacketsOut;
                            e.NoteOutboundTraffic(now, spi); // outbound ESP refreshes a NAT mapping: no keepalive needed
                        }

                        e.NoteChildCounters(now, spi, (ulong)Math.Max(c.BytesIn, c.BytesOut), (ulong)Math.Max(c.PacketsIn, c.PacketsOut));
                    }

                    foreach (var gone in seen.Keys.Where(k => _installer.Counters(k) is null).ToList())
                    {
                        seen.Remove(gone);
                        seenOut.Remove(gone);
                    }

                    return 0;
                }).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        _host.Start();
        _ = Task.Run(FeedTrafficAsync);
        _ = Task.Run(() => _addressMonitor.RunAsync(_stop.Token));
        _log.LogInformation("oakley daemon listening on {Endpoints}; control socket {Control}", string.Join(", ", _host.LocalEndpoints), _controlPath);
        StartControl();
        await StartActionsAsync().ConfigureAwait(false);
        using var registration = cancel.Register(() => _stop.Cancel());
        try
        {
            await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // SIGTERM: delete our SAs with the peers, and give the deletes a moment to leave (bounded).
        var count = await _host.Invoke((e, now) => e.Terminate(now)).ConfigureAwait(false);
        if (count > 0)
        {
            _log.LogInformation("deleting {Count} IKE SA(s) before exiting", count);
            for (var i = 0; i < 20 && await _host.Invoke((e, _) => e.IkeSas.Count).ConfigureAwait(false) > 0; i++)
            {
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return 0;
    }

    private async Task StartActionsAsync()
    {
        foreach (var conn in _config.Connections)
        {
            foreach (var (child, policy) in conn.ChildPolicies)
            {
                if (policy.StartAction == ChildAction.Start)
                {
                    await _host.Invoke((e, now) =>
                    {
                        _keyingAttempts[conn.Ike.Name] = (1, child);
                        return e.Initiate(now, conn.Ike.Name, child);
                    }).ConfigureAwait(false);
                }
                else if (policy.StartAction == ChildAction.Trap)
                {
                    await _host.Invoke((_, _) => InstallTrap(conn.Ike, child)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// start_action = trap: a policy without an SA, and routes for its remote selectors; the first matching
    /// packet makes the data plane queue it and ask the engine to initiate (an acquire).
    /// </summary>
    private bool InstallTrap(IkeConfig ike, string childName)
    {
        var child = ike.Children.First(c => c.Name == childName);
        if (_dataPath is null)
        {
            _log.LogWarning("connection {Name}: start_action = trap needs the ESP data plane (no TUN device); child {Child} is not trapped", ike.Name, childName);
            return false;
        }

        var local = ike.LocalAddresses.FirstOrDefault();
        var remote = ike.RemoteAddresses.FirstOrDefault();
        if ((child.LocalTsDynamic && local is null) || (child.RemoteTsDynamic && remote is null) || remote is null)
        {
            _log.LogWarning("connection {Name}: start_action = trap needs concrete local_addrs/remote_addrs for child {Child}; it is not trapped", ike.Name, childName);
            return false;
        }

        var localTs = local is null ? child.LocalTs : child.EffectiveLocalTs(local);
        var remoteTs = child.EffectiveRemoteTs(remote);
        _installer.AddTrap(ike.Name, childName, localTs, remoteTs);
        _dataPath.AddTrapRoutes(TrapRouteKey, localTs, remoteTs);
        _log.LogInformation("connection {Name}: child {Child} trapped: {Local} === {Remote}", ike.Name, childName, string.Join(" ", localTs), string.Join(" ", remoteTs));
        return true;
    }

    /// <summary>Engine thread, on load-all: the traps (and their routes) of the new configuration replace the old ones.</summary>
    private int ReinstallTraps(SwanctlConfig config)
    {
        _installer.ClearTraps();
        _dataPath?.Removed(TrapRouteKey);
        var count = 0;
        foreach (var conn in config.Connections)
        {
            foreach (var (child, policy) in conn.ChildPolicies)
            {
                if (policy.StartAction == ChildAction.Trap && InstallTrap(conn.Ike, child))
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>
    /// swanctl dpd_action (the peer stopped answering) and close_action (the peer deleted the IKE SA): "restart" /
    /// "start" negotiate the children again at once; "trap" relies on the child's trap policy, which stays installed
    /// (a child without start_action = trap gets one now); "clear"/"none" leave it down. Engine thread.
    /// </summary>
    private void ActOnDown(IkeSaDown down)
    {
        var conn = _config.Connections.FirstOrDefault(c => c.Ike.Name == down.Name);
        if (conn is null)
        {
            return;
        }

        foreach (var (child, policy) in conn.ChildPolicies)
        {
            var action = down.PeerDead ? policy.DpdAction : policy.CloseAction;
            if (action is ChildAction.Restart or ChildAction.Start)
            {
                _log.LogInformation("connection {Name}: {Why}, restarting child {Child}", conn.Ike.Name, down.PeerDead ? "peer is dead" : "peer closed the SA", child);
                _keyingAttempts[conn.Ike.Name] = (1, child);
                _host.Post((e, now) => e.Initiate(now, conn.Ike.Name, child));
            }
            else if (action == ChildAction.Trap && policy.StartAction != ChildAction.Trap && !_installer.Traps.Any(t => t.Connection == conn.Ike.Name && t.Name == child))
            {
                InstallTrap(conn.Ike, child);
            }
        }
    }

    /// <summary>Automatic (re)connections in progress: attempts made so far and the child to bring up.</summary>
    private readonly Dictionary<string, (int Attempts, string Child)> _keyingAttempts = [];

    /// <summary>
    /// swanctl keyingtries for automatic connections (start_action = start, dpd_action = restart, close_action =
    /// start): a failed attempt is repeated after a second until keyingtries attempts were made (0: forever).
    /// Engine thread.
    /// </summary>
    private void RetryKeying(IkeSaDown failed)
    {
        if (!_keyingAttempts.TryGetValue(failed.Name, out var state)
            || _config.Connections.FirstOrDefault(c => c.Ike.Name == failed.Name) is not { } conn)
        {
            return;
        }

        if (conn.KeyingTries != 0 && state.Attempts >= conn.KeyingTries)
        {
            _keyingAttempts.Remove(failed.Name);
            _log.LogWarning("connection {Name}: giving up after {Attempts} keying attempt(s) (keyingtries)", failed.Name, state.Attempts);
            return;
        }

        _keyingAttempts[failed.Name] = (state.Attempts + 1, state.Child);
        if (state.Attempts <= 3 || state.Attempts % 60 == 0)
        {
            // Rate-limited: with keyingtries = 0 a peer that stays away would otherwise log every second.
            _log.LogInformation("connection {Name}: keying attempt {Attempt} failed ({Reason}); trying again", failed.Name, state.Attempts, failed.Reason);
        }
        _ = Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ContinueWith(
            _ => _host.Post((e, now) => e.Initiate(now, failed.Name, state.Child)), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>The route owner key of all traps (never an SPI: SPI 0 is reserved).</summary>
    private const uint TrapRouteKey = 0;

    private void Track(EngineEvent e)
    {
        _installer.Handle(e);
        switch (e)
        {
            case IkeSaDown down when down.PeerDead || down.ClosedByPeer:
                ActOnDown(down);
                break;
            case IkeSaDown failed when !failed.WasEstablished:
                RetryKeying(failed);
                break;
            case IkeSaUp up:
                _keyingAttempts.Remove(up.Name);
                _addressMonitor.Wake(); // learn the new SA's path (source address) now, not within the next second
                break;
        }

        if (e is ChildSaRemove gone)
        {
            _dataPath?.Removed(gone.InboundSpi);
        }

        lock (_children)
        {
            switch (e)
            {
                case ChildSaInstall c:
                    if (!_children.TryGetValue(c.IkeSaId, out var list))
                    {
                        _children[c.IkeSaId] = list = [];
                    }

                    list.Add(c);
                    break;
                case ChildSaRemove r when _children.TryGetValue(r.IkeSaId, out var l):
                    l.RemoveAll(c => c.InboundSpi == r.InboundSpi);
                    break;
                case IkeSaAddressesChanged moved when _children.TryGetValue(moved.IkeSaId, out var l):
                    for (var i = 0; i < l.Count; i++)
                    {
                        l[i] = l[i] with { Local = moved.Local, Remote = moved.Remote, UdpEncapsulation = moved.UdpEncapsulation };
                    }

                    break;
                case IkeSaDown d:
                    _children.Remove(d.IkeSaId);
                    break;
            }
        }
    }

    private void StartControl()
    {
        if (File.Exists(_controlPath))
        {
            File.Delete(_controlPath);
        }

        _control = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _control.Bind(new UnixDomainSocketEndPoint(_controlPath));
        _control.Listen(16);
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _control.AcceptAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => ServeAsync(client));
            }
        });
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        using var reader = new StreamReader(stream);
        await using var writer = new StreamWriter(stream) { AutoFlush = true };
        var line = await reader.ReadLineAsync().ConfigureAwait(false);
        if (line is null)
        {
            return;
        }

        JsonObject response;
        try
        {
            var request = JsonNode.Parse(line)!.AsObject();
            response = await HandleAsync(request).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or ConfigException or KeyNotFoundException)
        {
            response = new JsonObject { ["ok"] = false, ["error"] = e.Message };
        }

        await writer.WriteLineAsync(response.ToJsonString()).ConfigureAwait(false);
    }

    private async Task<JsonObject> HandleAsync(JsonObject request)
    {
        var cmd = (string?)request["cmd"] ?? throw new ArgumentException("missing 'cmd'");
        switch (cmd)
        {
            case "initiate":
            {
                var child = (string?)request["child"];
                var ike = (string?)request["ike"] ?? _config.Connections.FirstOrDefault(c => c.Ike.Children.Any(ch => ch.Name == child))?.Ike.Name
                    ?? throw new ArgumentException($"no connection has a child '{child}'");
                var timeout = TimeSpan.FromSeconds((double?)request["timeout"] ?? 30);
                var up = new TaskCompletionSource<EngineEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
                long id = -1;
                void Watch(EngineEvent e)
                {
                    if (e is ChildSaInstall c && c.IkeSaId == id || e is IkeSaDown d && d.IkeSaId == id || (child is null && e is IkeSaUp u && u.IkeSaId == id))
                    {
                        up.TrySetResult(e);
                    }
                }

                _host.EventRaised += Watch;
                try
                {
                    id = await _host.Invoke((e, now) => e.Initiate(now, ike, child)).ConfigureAwait(false);
                    var done = await Task.WhenAny(up.Task, Task.Delay(timeout)).ConfigureAwait(false);
                    if (done != up.Task || up.Task.Result is IkeSaDown)
                    {
                        return new JsonObject { ["ok"] = false, ["error"] = done == up.Task ? ((IkeSaDown)up.Task.Result).Reason : "timed out" };
                    }

                    // What was established, in list-sas's shape (null if the SA went down again meanwhile).
                    var sas = await _host.Invoke((e, now) => ListSas(e, now)).ConfigureAwait(false);
                    var view = sas["ike-sas"]!.AsArray().LastOrDefault(s => (long?)s!["uniqueid"] == id);
                    return new JsonObject { ["ok"] = true, ["ike-sa-id"] = id, ["ike-sa"] = view?.DeepClone() };
                }
                finally
                {
                    _host.EventRaised -= Watch;
                }
            }

            case "terminate":
            {
                var ike = (string?)request["ike"];
                var n = await _host.Invoke((e, now) => e.Terminate(now, ike)).ConfigureAwait(false);
                return new JsonObject { ["ok"] = n > 0, ["terminated"] = n };
            }

            case "rekey":
            {
                var ike = (string?)request["ike"];
                var child = (string?)request["child"];
                var reauth = (bool?)request["reauth"] ?? false;
                var n = await _host.Invoke((e, now) => e.Rekey(now, ike, child, reauth)).ConfigureAwait(false);
                return new JsonObject { ["ok"] = n > 0, ["started"] = n };
            }

            case "list-sas":
                return await _host.Invoke((e, now) => ListSas(e, now)).ConfigureAwait(false);
            case "list-conns":
                return ListConns();
            case "stats":
                return await _host.Invoke((e, _) => Stats(e)).ConfigureAwait(false);
            case "load-all":
            {
                // Keeps the old configuration if the new one does not load (the error says file:line).
                var config = LoadConfig(_configPath);
                _config = config;
                var deleted = await _host.Invoke((e, now) => e.Reconfigure(now, config.Connections.Select(c => c.Ike), config.Secrets)).ConfigureAwait(false);
                await _host.Invoke((_, _) => ReinstallTraps(config)).ConfigureAwait(false);
                return new JsonObject
                {
                    ["ok"] = true,
                    ["connections"] = config.Connections.Count,
                    ["deleted-sas"] = deleted,
                    ["warnings"] = new JsonArray(config.Warnings.Select(w => (JsonNode)w.ToString()).ToArray()),
                };
            }

            default:
                throw new ArgumentException($"unknown command '{cmd}'");
        }
    }

    private JsonObject ListSas(Endpoint e, DateTimeOffset now)
    {
        var sas = new JsonArray();
        foreach (var sa in e.IkeSas)
        {
            List<ChildSaInstall> children;
            lock (_children)
            {
                // An IKE SA and its rekeyed predecessor (still waiting for its delete) share the unique ID: list
                // each CHILD SA under the one that holds it.
                children = _children.TryGetValue(sa.Id, out var l) ? [.. l.Where(c => sa.Children.Any(h => h.InboundSpi == c.InboundSpi))] : [];
            }

            sas.Add(new JsonObject
            {
                ["name"] = sa.Config.Name,
                ["uniqueid"] = sa.Id,
                ["state"] = sa.State.ToString().ToUpperInvariant(),
                ["local-host"] = sa.Local.Address.ToString(),
                ["local-port"] = sa.Local.Port,
                ["local-id"] = sa.Config.LocalId.ToString(),
                ["remote-host"] = sa.Remote.Address.ToString(),
                ["remote-port"] = sa.Remote.Port,
                ["remote-id"] = sa.RemoteIdentity?.ToString(),
                ["initiator"] = sa.IsOriginalInitiator,
                ["nat-local"] = sa.LocalBehindNat,
                ["nat-remote"] = sa.RemoteBehindNat,
                ["encap"] = sa.UdpEncapsulation,
                ["mobike"] = sa.MobikeNegotiated,
                ["initiator-spi"] = sa.SpiI.ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
                ["responder-spi"] = sa.SpiR.ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
                ["proposal"] = sa.Suite?.ToString(),
                ["established"] = sa.EstablishedAt is { } t ? (long)(now - t).TotalSeconds : null,
                ["rekey-time"] = sa.EstablishedAt is { } t2 ? (long)(t2 + sa.Config.RekeyTime - now).TotalSeconds : null,
                ["child-sas"] = new JsonArray(children.Select(c => (JsonNode)ChildJson(c, now)).ToArray()),
            });
        }

        return new JsonObject { ["ok"] = true, ["ike-sas"] = sas };
    }

    private JsonObject ChildJson(ChildSaInstall c, DateTimeOffset now)
    {
        var counters = _installer.Counters(c.InboundSpi);
        return new JsonObject
        {
            ["name"] = c.ChildName,
            ["mode"] = c.TransportMode ? "TRANSPORT" : "TUNNEL",
            ["protocol"] = "ESP",
            ["encap"] = c.UdpEncapsulation,
            ["spi-in"] = c.InboundSpi.ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
            ["spi-out"] = c.OutboundSpi.ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
            ["encr-alg"] = StrongSwanName(c.Encryption),
            ["encr-keysize"] = c.EncryptionKeyBits,
            ["integ-alg"] = c.Integrity == Protocol.Ikev2.IntegId.None ? null : StrongSwanName(c.Integrity),
            ["esn"] = c.Esn,
            ["install-time"] = (long)(now - c.Time).TotalSeconds,
            ["rekey-time"] = (long)(c.Time + c.RekeyTime - now).TotalSeconds,
            ["life-time"] = (long)(c.Time + c.LifeTime - now).TotalSeconds,
            ["local-ts"] = new JsonArray(c.LocalTs.Select(t => (JsonNode)t.ToString()).ToArray()),
            ["remote-ts"] = new JsonArray(c.RemoteTs.Select(t => (JsonNode)t.ToString()).ToArray()),
            ["bytes-in"] = counters?.BytesIn ?? 0,
            ["packets-in"] = counters?.PacketsIn ?? 0,
            ["bytes-out"] = counters?.BytesOut ?? 0,
            ["packets-out"] = counters?.PacketsOut ?? 0,
            ["replay-highest"] = counters?.ReplayTop ?? 0,
        };
    }

    /// <summary>The algorithm names swanctl --list-sas prints, so that both daemons' listings read alike.</summary>
    public static string StrongSwanName(Protocol.Ikev2.EncrId id) => id switch
    {
        Protocol.Ikev2.EncrId.AesCbc => "AES_CBC",
        Protocol.Ikev2.EncrId.AesCtr => "AES_CTR",
        Protocol.Ikev2.EncrId.AesGcm8 => "AES_GCM_8",
        Protocol.Ikev2.EncrId.AesGcm12 => "AES_GCM_12",
        Protocol.Ikev2.EncrId.AesGcm16 => "AES_GCM_16",
        Protocol.Ikev2.EncrId.AesCcm8 => "AES_CCM_8",
        Protocol.Ikev2.EncrId.AesCcm12 => "AES_CCM_12",
        Protocol.Ikev2.EncrId.AesCcm16 => "AES_CCM_16",
        Protocol.Ikev2.EncrId.ChaCha20Poly1305 => "CHACHA20_POLY1305",
        Protocol.Ikev2.EncrId.TripleDes => "3DES_CBC",
        Protocol.Ikev2.EncrId.NullAuthAesGmac => "NULL_AES_GMAC",
        Protocol.Ikev2.EncrId.Null => "NULL",
        _ => id.ToString(),
    };

    public static string StrongSwanName(Protocol.Ikev2.IntegId id) => id switch
    {
        Protocol.Ikev2.IntegId.HmacMd5_96 => "HMAC_MD5_96",
        Protocol.Ikev2.IntegId.HmacSha1_96 => "HMAC_SHA1_96",
        Protocol.Ikev2.IntegId.AesXcbc96 => "AES_XCBC_96",
        Protocol.Ikev2.IntegId.AesCmac96 => "AES_CMAC_96",
        Protocol.Ikev2.IntegId.HmacSha2_256_128 => "HMAC_SHA2_256_128",
        Protocol.Ikev2.IntegId.HmacSha2_384_192 => "HMAC_SHA2_384_192",
        Protocol.Ikev2.IntegId.HmacSha2_512_256 => "HMAC_SHA2_512_256",
        _ => id.ToString(),
    };

    private JsonObject ListConns() => new()
    {
        ["ok"] = true,
        ["connections"] = new JsonArray(_config.Connections.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Ike.Name,
            ["version"] = c.Version == 0 ? "IKEv1/2" : "IKEv2",
            ["local-addrs"] = new JsonArray(c.Ike.LocalAddresses.Select(a => (JsonNode)a.ToString()).ToArray()),
            ["remote-addrs"] = new JsonArray(c.Ike.RemoteAddresses.Select(a => (JsonNode)a.ToString()).ToArray()),
            ["proposals"] = Crypto.Registry.ProposalString.FormatList(c.Ike.Proposals),
            ["local-id"] = c.Ike.LocalId.ToString(),
            ["remote-id"] = c.Ike.RemoteId?.ToString() ?? "%any",
            ["children"] = new JsonArray(c.Ike.Children.Select(ch => (JsonNode)new JsonObject
            {
                ["name"] = ch.Name,
                ["mode"] = ch.TransportMode ? "TRANSPORT" : "TUNNEL",
                ["local-ts"] = new JsonArray(ch.LocalTs.Select(t => (JsonNode)t.ToString()).Concat(ch.LocalTsDynamic ? [(JsonNode)"dynamic"] : []).ToArray()),
                ["remote-ts"] = new JsonArray(ch.RemoteTs.Select(t => (JsonNode)t.ToString()).Concat(ch.RemoteTsDynamic ? [(JsonNode)"dynamic"] : []).ToArray()),
                ["esp-proposals"] = Crypto.Registry.ProposalString.FormatList(ch.EspProposals),
                ["start-action"] = c.ChildPolicies[ch.Name].StartAction.ToString().ToLowerInvariant(),
            }).ToArray()),
        }).ToArray()),
    };

    private JsonObject Stats(Endpoint e) => new()
    {
        ["esp-drops"] = new JsonObject
        {
            ["no-policy"] = _plane.Counters.NoPolicy,
            ["malformed"] = _plane.Counters.Malformed,
            ["unknown-spi"] = _plane.Counters.UnknownSpi,
            ["replay"] = _plane.Counters.Replay,
            ["bad-icv"] = _plane.Counters.BadIcv,
            ["bad-padding"] = _plane.Counters.BadPadding,
            ["dummy"] = _plane.Counters.Dummy,
            ["policy-mismatch"] = _plane.Counters.PolicyMismatch,
            ["sequence-exhausted"] = _plane.Counters.SequenceExhausted,
            ["sa-gone"] = _plane.Counters.SaGone,
            ["acquire-queue-full"] = _dataPath?.AcquireDrops ?? 0,
            ["no-socket"] = _dataPath?.NoSocketDrops ?? 0,
        },
        ["acquires"] = _plane.Counters.Acquires,
        ["ok"] = true,
        ["ike-sas"] = e.IkeSas.Count,
        ["child-sas"] = e.IkeSas.Sum(s => s.Children.Count),
        ["sad-inbound"] = _installer.Databases.Current.InboundCount,
        ["spd-policies"] = _installer.Databases.Current.PolicyCount,
        ["half-open"] = e.HalfOpenCount,
        ["established-total"] = e.Stats.IkeSasEstablished,
        ["datagrams-in"] = e.Stats.DatagramsReceived,
        ["datagrams-out"] = e.Stats.DatagramsSent,
        ["half-open-peak"] = e.Stats.HalfOpenPeak,
        ["half-open-sources"] = e.HalfOpenSources,
        ["cookies-sent"] = e.Stats.CookiesSent,
        ["cookies-accepted"] = e.Stats.CookiesAccepted,
        ["cookies-rejected"] = e.Stats.CookiesRejected,
        ["cookie-secret-rotations"] = e.Stats.CookieSecretRotations,
        ["init-blocked-per-ip"] = e.Stats.InitBlockedPerIp,
        ["init-dropped-half-open-limit"] = e.Stats.InitDroppedHalfOpenLimit,
        ["invalid-ke-sent"] = e.Stats.InvalidKeSent,
        ["no-proposal-chosen-sent"] = e.Stats.NoProposalChosenSent,
        ["fragments-sent"] = e.Stats.FragmentsSent,
        ["fragments-received"] = e.Stats.FragmentsReceived,
        ["messages-reassembled"] = e.Stats.MessagesReassembled,
        ["keepalives-sent"] = e.Stats.KeepalivesSent,
        ["dropped"] = new JsonObject(e.Stats.Dropped.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))),
    };

    /// <summary>Sends one control request and returns the response (used by the CLI verbs).</summary>
    public static async Task<JsonObject> RequestAsync(string controlPath, JsonObject request, CancellationToken cancel)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(controlPath), cancel).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await using var writer = new StreamWriter(stream) { AutoFlush = true };
        using var reader = new StreamReader(stream);
        await writer.WriteLineAsync(request.ToJsonString()).ConfigureAwait(false);
        var line = await reader.ReadLineAsync(cancel).ConfigureAwait(false) ?? throw new IOException("the daemon closed the control connection");
        return JsonNode.Parse(line)!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _control?.Dispose();
        if (File.Exists(_controlPath))
        {
            File.Delete(_controlPath);
        }

        _dataPath?.Dispose();
        await _host.DisposeAsync().ConfigureAwait(false);
        _tun?.Dispose();
        _stop.Dispose();
    }
}
