using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>What <c>oakley daemon</c> was started with (the CLI parses the options into this).</summary>
/// <param name="Overrides">Applies the engine settings given explicitly on the command line over those of <paramref name="SettingsPath"/>.</param>
public sealed record DaemonOptions(string ConfigPath, string ControlPath, int Port, int NattPort, string? Keylog, string Tun, int Mtu,
    string? SettingsPath, Func<EngineSettings, EngineSettings> Overrides);

/// <summary>
/// Runs <c>oakley daemon</c> in the foreground: loads the settings and the configuration, starts the daemon, and
/// wires the signals (SIGTERM, SIGINT: delete the SAs and exit). Returns the process exit code.
/// </summary>
public static class DaemonRunner
{
    public static async Task<int> RunAsync(DaemonOptions options, ILoggerFactory logs)
    {
        ArgumentNullException.ThrowIfNull(options);
        Daemon daemon;
        try
        {
            var settings = new EngineSettings();
            if (options.SettingsPath is not null)
            {
                settings = Daemon.LoadEngineSettings(options.SettingsPath, settings);
            }

            daemon = Daemon.Create(options.ConfigPath, options.ControlPath, options.Port, options.NattPort, logs, options.Keylog, options.Overrides(settings));
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("oakley: configuration invalid, not starting");
            return 1;
        }

        await using (daemon)
        {
            daemon.StartDataPlane(options.Tun, options.Mtu);
            using var stop = new CancellationTokenSource();
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });
            return await daemon.RunAsync(stop.Token).ConfigureAwait(false);
        }
    }
}
