using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>What <c>oakley daemon</c> was started with (the CLI parses the options into this).</summary>
/// <param name="Overrides">Applies the engine settings given explicitly on the command line over those of <paramref name="SettingsPath"/>.</param>
public sealed record DaemonOptions(string ConfigPath, string ControlPath, int Port, int NattPort, string? Keylog, string Tun, int Mtu,
    string? SettingsPath, Func<EngineSettings, EngineSettings> Overrides)
{
    /// <summary>Runs resolvectl / resolvconf for a virtual IP's DNS servers; null: only /etc/resolv.conf can be written.</summary>
    public ICommandRunner? Commands { get; init; }

    /// <summary>Re-reads and applies the log levels of --settings (VICI reload-settings); returns what is in force. Null: levels are fixed.</summary>
    public Func<string>? ReloadLogLevels { get; init; }

    /// <summary><c>--metrics</c>: where to serve Prometheus scrapes (null: no metrics endpoint).</summary>
    public System.Net.IPEndPoint? Metrics { get; init; }

    /// <summary><c>--metrics-child-sas</c>: how many CHILD SAs get ESP byte/packet series of their own.</summary>
    public int MetricsChildSas { get; init; } = 100;
}

/// <summary>
/// Runs <c>oakley daemon</c> in the foreground and turns every way it can end into one line and an exit code:
/// 0 after SIGTERM/SIGINT/SIGQUIT (the SAs deleted with the peers, everything installed removed), 1 when it
/// cannot start (an invalid configuration, a bad environment: <see cref="StartupException"/>), 70 (EX_SOFTWARE)
/// after an unexpected exception, on any thread (what it installed is removed first). SIGHUP reloads the
/// configuration like load-all. No stack trace reaches the user.
/// </summary>
public static class DaemonRunner
{
    public const int ExitStartup = 1;
    public const int ExitInternal = 70;

    private static volatile Daemon? s_running;

    public static async Task<int> RunAsync(DaemonOptions options, ILoggerFactory logs)
    {
        ArgumentNullException.ThrowIfNull(options);
        AppDomain.CurrentDomain.UnhandledException += OnCrash;
        using var stop = new CancellationTokenSource();
        // Registered first: a signal during start-up must not kill the daemon half-installed.
        var signals = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }.Select(s => PosixSignalRegistration.Create(s, ctx =>
        {
            ctx.Cancel = true;
            stop.Cancel();
        })).Append(PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            if (s_running is { } daemon)
            {
                _ = Task.Run(daemon.ReloadOnSignalAsync);
            }
            else
            {
                logs.CreateLogger("oakley").LogInformation("SIGHUP during start-up or shutdown: ignored (the configuration is read at start)");
            }
        })).ToList();
        try
        {
            return await RunDaemonAsync(options, logs, stop.Token).ConfigureAwait(false);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("oakley: configuration invalid, not starting");
            return ExitStartup;
        }
        catch (StartupException e)
        {
            Console.Error.WriteLine($"oakley: {e.Message}");
            return ExitStartup;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"oakley: internal error, exiting: {e.GetType().Name}: {e.Message}");
            return ExitInternal;
        }
        finally
        {
            signals.ForEach(s => s.Dispose());
            AppDomain.CurrentDomain.UnhandledException -= OnCrash;
        }
    }

    private static async Task<int> RunDaemonAsync(DaemonOptions options, ILoggerFactory logs, CancellationToken stop)
    {
        var settings = new EngineSettings();
        var ipseckey = IpsecKeySettings.Off;
        string? resolveFile = null;
        var radius = RadiusSettings.None;
        if (options.SettingsPath is not null)
        {
            settings = Daemon.LoadEngineSettings(options.SettingsPath, settings);
            ipseckey = Daemon.LoadIpsecKeySettings(options.SettingsPath);
            resolveFile = Daemon.LoadResolveFile(options.SettingsPath);
            radius = Daemon.LoadRadiusSettings(options.SettingsPath);
        }

        var daemon = Daemon.Create(options.ConfigPath, options.ControlPath, options.Port, options.NattPort, logs, options.Keylog, options.Overrides(settings), ipseckey, radius, options.SettingsPath, options.ReloadLogLevels);
        using var service = Systemd.SystemdService.FromProcessEnvironment(); // a systemd unit's NOTIFY_SOCKET and watchdog
        await using (daemon)
        {
            daemon.Service = service;
            // Each step undoes itself on failure and DisposeAsync removes what the earlier ones installed.
            daemon.ClaimControlSocket();
            daemon.BindSockets();
            if (options.Metrics is { } metrics)
            {
                daemon.StartMetrics(metrics, options.MetricsChildSas);
            }

            s_running = daemon;
            try
            {
                daemon.StartDataPlane(options.Tun, options.Mtu, options.Commands, resolveFile);
                return await daemon.RunAsync(stop).ConfigureAwait(false);
            }
            finally
            {
                s_running = null;
            }
        }
    }

    /// <summary>An exception on a thread nothing catches on: one line, clean up, exit (the runtime would print a stack trace).</summary>
    private static void OnCrash(object sender, UnhandledExceptionEventArgs args) =>
        Environment.Exit(ReportCrash(args.ExceptionObject as Exception, s_running));

    /// <summary>Prints the one line of a crash and removes what <paramref name="daemon"/> installed; returns the exit code.</summary>
    internal static int ReportCrash(Exception? e, Daemon? daemon)
    {
        Console.Error.WriteLine($"oakley: internal error, exiting: {e?.GetType().Name}: {e?.Message}");
        try
        {
            daemon?.CleanUpAfterCrash();
        }
        catch (Exception cleanup) when (cleanup is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"oakley: cleaning up after the error failed: {cleanup.Message}");
        }

        return ExitInternal;
    }
}
