using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Host;
using Oakley.Host.Vici;

namespace Oakley.Cli;

public static class Program
{
    private const string DefaultControl = ViciSocketOption.Default; // strongSwan's: swanctl finds the daemon without --uri
    private const string DefaultConfig = "/etc/swanctl/swanctl.conf";

    public static int Main(string[] args) => Commands().Parse(args).Invoke();

    /// <summary>Every verb and its options (Main parses the command line with them).</summary>
    internal static RootCommand Commands()
    {
        var root = new RootCommand("Oakley: an IKEv2 daemon with a userspace ESP data plane (strongSwan-compatible configuration)");
        var control = new Option<string>("--control") { Description = "control socket path", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("OAKLEY_CONTROL") ?? DefaultControl };
        var json = new Option<bool>("--json") { Description = "print JSON (stable; see docs/cli.md)" };
        root.Subcommands.Add(DaemonCommand(control));
        AddClientVerbs(root, control, json);
        AddTools(root);
        root.Subcommands.Add(ImportCommand.Create());
        return root;
    }

    /// <summary><c>oakley daemon</c> and its options.</summary>
    private static Command DaemonCommand(Option<string> control)
    {
        var daemon = new Command("daemon", "run the IKE daemon in the foreground");
        var config = new Option<string>("--config") { Description = "swanctl.conf to load", DefaultValueFactory = _ => DefaultConfig };
        var port = new Option<int>("--port") { Description = "IKE port", DefaultValueFactory = _ => 500 };
        var nattPort = new Option<int>("--natt-port") { Description = "NAT-T port (non-ESP marker)", DefaultValueFactory = _ => 4500 };
        var keylog = new Option<string?>("--keylog") { Description = "write Wireshark IKEv2/ESP decryption tables (ikev2_decryption_table, esp_sa) into this directory; contains keys" };
        var retransmitTimeout = new Option<double>("--retransmit-timeout") { Description = "seconds before the first retransmission (strongSwan charon.retransmit_timeout)", DefaultValueFactory = _ => 4 };
        var retransmitBase = new Option<double>("--retransmit-base") { Description = "retransmission back-off base (charon.retransmit_base)", DefaultValueFactory = _ => 1.8 };
        var retransmitTries = new Option<int>("--retransmit-tries") { Description = "retransmissions before giving up (charon.retransmit_tries)", DefaultValueFactory = _ => 5 };
        var tun = new Option<string>("--tun") { Description = "TUN device of the ESP data plane (needs CAP_NET_ADMIN; without it the daemon negotiates but carries no traffic)", DefaultValueFactory = _ => "oakley0" };
        var mtu = new Option<int>("--mtu") { Description = "MTU of the TUN device", DefaultValueFactory = _ => 1400 };
        var fragmentSize = new Option<int>("--fragment-size") { Description = "largest IP datagram of an IKE fragment (charon.fragment_size; 0: 1280 for IPv4, 1232 for IPv6)", DefaultValueFactory = _ => 0 };
        var cookieThreshold = new Option<int>("--cookie-threshold") { Description = "half-open IKE SAs from which on COOKIEs are demanded (charon.cookie_threshold, 10; 0 = never)", DefaultValueFactory = _ => 10 };
        var cookieThresholdIp = new Option<int>("--cookie-threshold-ip") { Description = "half-open IKE SAs of one IP from which on it must return COOKIEs (charon.cookie_threshold_ip, 3; 0 = never)", DefaultValueFactory = _ => 3 };
        var blockThreshold = new Option<int>("--block-threshold") { Description = "half-open IKE SAs of one IP from which on its IKE_SA_INITs are dropped (charon.block_threshold, 5; 0 = never)", DefaultValueFactory = _ => 5 };
        var initLimitHalfOpen = new Option<int>("--init-limit-half-open") { Description = "half-open IKE SAs from which on every IKE_SA_INIT is dropped (charon.init_limit_half_open, 0 = no limit)", DefaultValueFactory = _ => 0 };
        var settingsFile = new Option<string?>("--settings") { Description = "strongswan.conf whose charon.* settings to use (dos_protection, cookie_threshold, cookie_threshold_ip, block_threshold, init_limit_half_open, half_open_timeout, retransmit_*, fragment_size, max_packet, keep_alive) and the levels of its charon.filelog and charon.syslog loggers; options given on the command line win" };
        daemon.Options.Add(config);
        daemon.Options.Add(control);
        daemon.Options.Add(port);
        daemon.Options.Add(nattPort);
        daemon.Options.Add(keylog);
        daemon.Options.Add(retransmitTimeout);
        daemon.Options.Add(retransmitBase);
        daemon.Options.Add(retransmitTries);
        daemon.Options.Add(cookieThreshold);
        daemon.Options.Add(cookieThresholdIp);
        daemon.Options.Add(blockThreshold);
        daemon.Options.Add(initLimitHalfOpen);
        daemon.Options.Add(settingsFile);
        daemon.Options.Add(fragmentSize);
        daemon.Options.Add(tun);
        daemon.Options.Add(mtu);
        var keepAlive = new Option<double>("--keep-alive") { Description = "seconds between NAT keepalives while behind a NAT (strongSwan charon.keep_alive; 0 disables)", DefaultValueFactory = _ => 20 };
        daemon.Options.Add(keepAlive);
        var metrics = MetricsOption();
        var metricsChildSas = new Option<int>("--metrics-child-sas") { Description = "CHILD SAs with ESP byte/packet series of their own in the metrics; the others are summed into one overflow series", DefaultValueFactory = _ => 100 };
        daemon.Options.Add(metrics);
        daemon.Options.Add(metricsChildSas);
        var logLevel = LogLevelOption();
        var debug = new Option<bool>("--debug") { Description = "log at debug level (short for --log-level debug; --log-level wins if both are given)" };
        var vici = new Option<string?>("--vici") { Description = "the control socket as a VICI URI (unix:///path; the same socket as --control, which also speaks VICI); default unix:///var/run/charon.vici, or charon.plugins.vici.socket of --settings" };
        daemon.Options.Add(vici);
        daemon.Options.Add(logLevel);
        daemon.Options.Add(debug);
        daemon.SetAction(async (pr, cancel) =>
        {
            // Precedence: built-in defaults, then --settings (strongswan.conf charon.*), then options given explicitly.
            bool Given(Option o) => pr.GetResult(o) is { Implicit: false };
            Engine.EngineSettings Overrides(Engine.EngineSettings s) => s with
            {
                RetransmitTimeout = Given(retransmitTimeout) ? TimeSpan.FromSeconds(pr.GetValue(retransmitTimeout)) : s.RetransmitTimeout,
                RetransmitBase = Given(retransmitBase) ? pr.GetValue(retransmitBase) : s.RetransmitBase,
                RetransmitTries = Given(retransmitTries) ? pr.GetValue(retransmitTries) : s.RetransmitTries,
                CookieThreshold = Given(cookieThreshold) ? pr.GetValue(cookieThreshold) : s.CookieThreshold,
                CookieThresholdIp = Given(cookieThresholdIp) ? pr.GetValue(cookieThresholdIp) : s.CookieThresholdIp,
                BlockThreshold = Given(blockThreshold) ? pr.GetValue(blockThreshold) : s.BlockThreshold,
                InitLimitHalfOpen = Given(initLimitHalfOpen) ? pr.GetValue(initLimitHalfOpen) : s.InitLimitHalfOpen,
                FragmentSize = Given(fragmentSize) ? pr.GetValue(fragmentSize) : s.FragmentSize,
                KeepAliveInterval = Given(keepAlive) ? TimeSpan.FromSeconds(Math.Max(0, pr.GetValue(keepAlive))) : s.KeepAliveInterval,
            };
            var commandLineLevel = CommandLineLevel(pr.GetValue(logLevel), pr.GetValue(debug));
            if (DaemonLogs(commandLineLevel, pr.GetValue(settingsFile)) is not { } logSetup)
            {
                return 1;
            }

            string socket;
            try
            {
                socket = ViciSocketOption.Resolve(Given(control) ? pr.GetValue(control) : null, pr.GetValue(vici), Environment.GetEnvironmentVariable("OAKLEY_CONTROL"), pr.GetValue(settingsFile));
            }
            catch (Exception e) when (e is StartupException or ConfigException)
            {
                Console.Error.WriteLine(e is StartupException ? $"oakley: {e.Message}" : e.Message);
                return 1;
            }

            return await RunDaemonAsync(pr.GetValue(config)!, socket, pr.GetValue(port), pr.GetValue(nattPort), pr.GetValue(keylog), pr.GetValue(tun)!, pr.GetValue(mtu),
                pr.GetValue(settingsFile), Overrides, logSetup, commandLineLevel, (pr.GetValue(metrics), Math.Max(0, pr.GetValue(metricsChildSas))));
        });
        return daemon;
    }

    /// <summary>The verbs that talk to a running daemon over its control socket.</summary>
    private static void AddClientVerbs(RootCommand root, Option<string> control, Option<bool> json)
    {
        var initiate = new Command("initiate", "bring up a CHILD SA (and its IKE SA); waits until it is up or failed");
        var child = new Option<string?>("--child") { Description = "CHILD SA name" };
        var ike = new Option<string?>("--ike") { Description = "IKE connection name" };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait", DefaultValueFactory = _ => 30 };
        initiate.Options.Add(child);
        initiate.Options.Add(ike);
        initiate.Options.Add(timeout);
        initiate.Options.Add(control);
        initiate.Options.Add(json);
        initiate.SetAction(async (pr, cancel) => await ControlClient.InitiateAsync(pr.GetValue(control)!, pr.GetValue(child), pr.GetValue(ike), pr.GetValue(timeout), pr.GetValue(json), Console.Out, Console.Error, cancel));
        root.Subcommands.Add(initiate);

        var rekey = new Command("rekey", "rekey the IKE SAs of a connection, or their CHILD SAs of a name, or reauthenticate them (swanctl --rekey)");
        var rekeyIke = new Option<string?>("--ike") { Description = "IKE connection name (all when omitted)" };
        var rekeyChild = new Option<string?>("--child") { Description = "rekey the CHILD SAs of this name instead of the IKE SA" };
        var rekeyReauth = new Option<bool>("--reauth") { Description = "reauthenticate (a new IKE SA, make-before-break) instead of rekeying" };
        rekey.Options.Add(rekeyIke);
        rekey.Options.Add(rekeyChild);
        rekey.Options.Add(rekeyReauth);
        rekey.Options.Add(control);
        rekey.Options.Add(json);
        rekey.SetAction(async (pr, cancel) => await ControlClient.RunAsync(pr.GetValue(control)!, new JsonObject
        {
            ["cmd"] = "rekey", ["ike"] = pr.GetValue(rekeyIke), ["child"] = pr.GetValue(rekeyChild), ["reauth"] = pr.GetValue(rekeyReauth),
        }, pr.GetValue(json), Console.Out, Console.Error, cancel));
        root.Subcommands.Add(rekey);

        var terminate = new Command("terminate", "delete the IKE SAs of a connection");
        var terminateIke = new Option<string?>("--ike") { Description = "IKE connection name (all when omitted)" };
        terminate.Options.Add(terminateIke);
        terminate.Options.Add(control);
        terminate.Options.Add(json);
        terminate.SetAction(async (pr, cancel) => await ControlClient.RunAsync(pr.GetValue(control)!, new JsonObject { ["cmd"] = "terminate", ["ike"] = pr.GetValue(terminateIke) }, pr.GetValue(json), Console.Out, Console.Error, cancel));
        root.Subcommands.Add(terminate);

        var listPools = new Command("list-pools", "list virtual IP pools (swanctl --list-pools)");
        var leases = new Option<bool>("--leases") { Description = "list each pool's leases (address, online/offline, holder)" };
        listPools.Options.Add(leases);
        listPools.Options.Add(control);
        listPools.Options.Add(json);
        listPools.SetAction(async (pr, cancel) => await ControlClient.RunAsync(pr.GetValue(control)!, new JsonObject { ["cmd"] = "list-pools", ["leases"] = pr.GetValue(leases) },
            pr.GetValue(json), Console.Out, Console.Error, cancel));
        root.Subcommands.Add(listPools);

        foreach (var (name, description) in new[] { ("list-sas", "list IKE and CHILD SAs"), ("list-conns", "list loaded connections"), ("list-certs", "list X.509 certificates (swanctl --list-certs)"), ("list-authorities", "list certification authorities"), ("load-all", "reload the configuration"), ("stats", "show daemon counters") })
        {
            var cmd = new Command(name, description);
            cmd.Options.Add(control);
            cmd.Options.Add(json);
            cmd.SetAction(async (pr, cancel) => await ControlClient.RunAsync(pr.GetValue(control)!, new JsonObject { ["cmd"] = name }, pr.GetValue(json), Console.Out, Console.Error, cancel));
            root.Subcommands.Add(cmd);
        }
    }

    /// <summary>The demo, the benchmarks and the hidden test tools.</summary>
    private static void AddTools(RootCommand root)
    {
        // Hidden: a spoofing IKE_SA_INIT flooder for the DoS interop test (documentation networks only).
        var flood = new Command("flood", "send forged IKE_SA_INIT requests with spoofed sources (tests only)") { Hidden = true };
        var floodTarget = new Option<string>("--target") { Description = "responder IPv4 address", Required = true };
        var floodPort = new Option<int>("--port") { Description = "responder IKE port", DefaultValueFactory = _ => 500 };
        var floodSources = new Option<string>("--sources") { Description = "spoofed source networks", DefaultValueFactory = _ => "198.51.100.0/24,203.0.113.0/24" };
        var floodCount = new Option<int>("--count") { Description = "requests to send", DefaultValueFactory = _ => 50_000 };
        var floodSeconds = new Option<double>("--seconds") { Description = "stop after this long even if not all were sent", DefaultValueFactory = _ => 60 };
        var floodRate = new Option<int>("--rate") { Description = "requests per second (0 = as fast as possible)", DefaultValueFactory = _ => 0 };
        foreach (var o in new Option[] { floodTarget, floodPort, floodSources, floodCount, floodSeconds, floodRate })
        {
            flood.Options.Add(o);
        }

        flood.SetAction(pr => Flood.Run(System.Net.IPAddress.Parse(pr.GetValue(floodTarget)!), pr.GetValue(floodPort), Flood.ParseNetworks(pr.GetValue(floodSources)!),
            pr.GetValue(floodCount), TimeSpan.FromSeconds(pr.GetValue(floodSeconds)), pr.GetValue(floodRate)));
        root.Subcommands.Add(flood);

        // Hidden: EAP-MD5 and accounting through the eap-radius relay against real RADIUS servers (interop tests).
        var radiusCheck = new Command("radius-check", "EAP-MD5 and accounting Start/Stop through charon.plugins.eap-radius (tests only)") { Hidden = true };
        var radiusSettings = new Option<string>("--settings") { Description = "strongswan.conf with charon.plugins.eap-radius", Required = true };
        var radiusUser = new Option<string>("--user") { Description = "EAP identity", Required = true };
        var radiusPassword = new Option<string>("--password") { Description = "EAP-MD5 password", Required = true };
        radiusCheck.Options.Add(radiusSettings);
        radiusCheck.Options.Add(radiusUser);
        radiusCheck.Options.Add(radiusPassword);
        radiusCheck.SetAction(async (pr, cancel) =>
        {
            using var logs = Logs(LogLevel.Information);
            return await RadiusCheck.RunAsync(pr.GetValue(radiusSettings)!, pr.GetValue(radiusUser)!, pr.GetValue(radiusPassword)!, logs.CreateLogger("radius"), Console.Out);
        });
        root.Subcommands.Add(radiusCheck);

        root.Subcommands.Add(SystemdReceive.Command()); // hidden: a stand-in notification/journal socket for tests

        var demo = new Command("demo", "two Oakley peers on loopback negotiate IKE and CHILD SAs");
        demo.SetAction(async (pr, cancel) =>
        {
            using var logs = Logs(LogLevel.Warning);
            return await Demo.RunAsync(logs, TimeSpan.FromSeconds(15));
        });
        root.Subcommands.Add(demo);

        var bench = new Command("bench", "benchmarks that print figures");
        var handshake = new Command("handshake", "full IKE_SA_INIT + IKE_AUTH (PSK, certificates or EAP-MSCHAPv2 with virtual IPs) + CHILD SA handshakes");
        var count = new Option<int>("--count") { Description = "number of handshakes", DefaultValueFactory = _ => 2000 };
        var proposal = new Option<string>("--proposal") { Description = "IKE proposal", DefaultValueFactory = _ => "aes256gcm16-prfsha256-x25519" };
        var inMemory = new Option<bool>("--in-memory") { Description = "hand datagrams over in memory instead of loopback UDP" };
        handshake.Options.Add(count);
        handshake.Options.Add(proposal);
        handshake.Options.Add(inMemory);
        var auth = new Option<string>("--auth")
        {
            Description = "psk; certificates with rsa2048, rsa3072, ecdsa256, ecdsa384 or ed25519 keys; or eap-mschapv2 (remote-access clients with a virtual IP each)",
            DefaultValueFactory = _ => "psk",
        };
        auth.AcceptOnlyFromAmong([.. BenchCredentials.Kinds, BenchRemoteAccess.Kind]);
        handshake.Options.Add(auth);
        var gatewayAuth = new Option<string>("--gateway-auth") { Description = "with eap-mschapv2: how the gateway authenticates itself (psk or a certificate kind)", DefaultValueFactory = _ => "psk" };
        gatewayAuth.AcceptOnlyFromAmong(BenchCredentials.Kinds);
        handshake.Options.Add(gatewayAuth);
        var pool = new Option<int>("--pool") { Description = "with eap-mschapv2: addresses in the gateway's pool (from 198.18.0.0)", DefaultValueFactory = _ => Bench.DefaultPool };
        handshake.Options.Add(pool);
        handshake.SetAction(async (pr, cancel) =>
        {
            if (pr.GetValue(inMemory))
            {
                return Bench.InMemory(pr.GetValue(count), pr.GetValue(proposal)!, pr.GetValue(auth)!, pr.GetValue(gatewayAuth)!, pr.GetValue(pool));
            }

            using var logs = Logs(LogLevel.Warning);
            return await Bench.UdpAsync(pr.GetValue(count), pr.GetValue(proposal)!, pr.GetValue(auth)!, logs.CreateLogger("bench"), pr.GetValue(gatewayAuth)!, pr.GetValue(pool));
        });
        bench.Subcommands.Add(handshake);
        var esp = new Command("esp", "ESP seal and open throughput per core (Gbit/s and Mpps) at 64, 512 and 1400 bytes");
        var seconds = new Option<double>("--seconds") { Description = "measuring time per case", DefaultValueFactory = _ => 1 };
        esp.Options.Add(seconds);
        esp.SetAction(pr => EspBench.Run(TimeSpan.FromSeconds(pr.GetValue(seconds))));
        bench.Subcommands.Add(esp);
        root.Subcommands.Add(bench);
    }

    private static ILoggerFactory Logs(LogLevel level) => LoggerFactory.Create(b => b.SetMinimumLevel(level).AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "HH:mm:ss.fff ";
    }));

    private static async Task<int> RunDaemonAsync(string configPath, string controlPath, int port, int nattPort, string? keylog, string tun, int mtu,
        string? settingsPath, Func<Engine.EngineSettings, Engine.EngineSettings> overrides, LogSetup logSetup, LogLevel? commandLineLevel,
        (System.Net.IPEndPoint? At, int ChildSas) metrics)
    {
        var live = new LiveLogLevels();
        using var logs = logSetup.CreateFactory(Console.Error, live);
        return await DaemonRunner.RunAsync(new DaemonOptions(configPath, controlPath, port, nattPort, keylog, tun, mtu, settingsPath, overrides)
        {
            Commands = new ProcessRunner(),
            // VICI reload-settings: the loggers' levels of --settings, applied now (throws ConfigException with file:line)
            ReloadLogLevels = () => live.Apply(LogSetup.FromSettingsFile(commandLineLevel, settingsPath)),
            Metrics = metrics.At,
            MetricsChildSas = metrics.ChildSas,
        }, logs);
    }

    /// <summary>--metrics ADDRESS:PORT (off by default); a value that is not one is a usage error naming the option.</summary>
    private static Option<System.Net.IPEndPoint?> MetricsOption() => new("--metrics")
    {
        HelpName = "address:port",
        Description = "serve Prometheus/OpenMetrics metrics at http://ADDRESS:PORT/metrics (e.g. 127.0.0.1:9101, [::1]:9101; off by default)",
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
            if (Host.Metrics.MetricsAddress.Parse(text, out var error) is { } endpoint)
            {
                return endpoint;
            }

            r.AddError(error!);
            return null;
        },
    };

    /// <summary>--log-level: a name (trace, debug, info, warning, error) or strongSwan's numeric level (-1..4).</summary>
    private static Option<LogLevel?> LogLevelOption() => new("--log-level")
    {
        HelpName = "level",
        Description = "trace, debug, info, warning, error or none, or strongSwan's levels -1..4 (default: the charon.filelog/syslog levels of --settings, else info)",
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
            if (LogSetup.Parse(text) is { } level)
            {
                return level;
            }

            r.AddError($"--log-level '{text}' is not a level: trace, debug, info, warning, error, none, or strongSwan's -1..4");
            return null;
        },
    };

    /// <summary>The level the command line asks for: --log-level, else debug for --debug, else none (the settings decide).</summary>
    internal static LogLevel? CommandLineLevel(LogLevel? logLevel, bool debug) => logLevel ?? (debug ? LogLevel.Debug : null);

    /// <summary>The daemon's log outputs (the command line's level over the settings' loggers), or null after a config error.</summary>
    private static LogSetup? DaemonLogs(LogLevel? commandLine, string? settingsPath)
    {
        try
        {
            return LogSetup.FromSettingsFile(commandLine, settingsPath);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("oakley: configuration invalid, not starting");
            return null;
        }
    }
}
