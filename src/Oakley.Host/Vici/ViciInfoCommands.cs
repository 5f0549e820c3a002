using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using Oakley.Config;

namespace Oakley.Host.Vici;

/// <summary>
/// version, stats and reload-settings (README), with charon's keys: swanctl --version --daemon, --stats and
/// --reload-settings print them as they print charon's. Oakley has one engine thread where charon has a worker pool:
/// stats reports it as one worker and its queue as the medium-priority queue.
/// </summary>
internal sealed class ViciInfoCommands(Daemon daemon, DateTimeOffset started, string? settingsPath, Func<string>? reloadLogLevels = null)
{
    /// <summary>What Oakley builds in that charon loads as plugins (stats lists them as "loaded plugins").</summary>
    internal static readonly string[] Features =
    [
        "random", "nonce", "x509", "revocation", "pubkey", "pkcs1", "pkcs8", "pem", "openssl", "curve25519", "aes", "sha1", "sha2",
        "hmac", "gcm", "chapoly", "eap-identity", "eap-md5", "eap-mschapv2", "eap-tls", "eap-radius", "ipseckey", "resolve",
        "kernel-libipsec", "socket-default", "vici", "counters",
    ];

    public void Register(ViciCommands commands)
    {
        commands.Add("version", (_, _) => Task.FromResult(Version()));
        commands.Add("stats", (_, _) => StatsAsync());
        commands.Add("reload-settings", (_, _) => Task.FromResult(ReloadSettings()));
    }

    internal static ViciSection Version()
    {
        var version = typeof(ViciInfoCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        var uname = Uname();
        return new ViciSection()
            .Add("daemon", "oakley")
            .Add("version", plus > 0 ? version[..plus] : version)
            .Add("sysname", uname.Sysname)
            .Add("release", uname.Release)
            .Add("machine", uname.Machine);
    }

    /// <summary>uname(2)'s fields as charon reports them; the kernel's files where they exist.</summary>
    private static (string Sysname, string Release, string Machine) Uname()
    {
        static string Read(string path, string fallback)
        {
            try
            {
                return File.Exists(path) ? File.ReadAllText(path).Trim() : fallback;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return fallback;
            }
        }

        var machine = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "x86_64",
            Architecture.Arm64 => "aarch64",
            var a => a.ToString().ToLowerInvariant(),
        };
        return (Read("/proc/sys/kernel/ostype", OperatingSystem.IsLinux() ? "Linux" : RuntimeInformation.OSDescription),
            Read("/proc/sys/kernel/osrelease", Environment.OSVersion.Version.ToString()), machine);
    }

    private async Task<ViciSection> StatsAsync()
    {
        var (total, halfOpen) = await daemon.Host.Invoke((e, _) => (e.IkeSas.Count, e.HalfOpenCount)).ConfigureAwait(false);
        var now = DateTimeOffset.Now;
        var reply = new ViciSection();
        reply.AddSection("uptime").Add("running", Running(now - started)).Add("since", started.ToLocalTime().ToString("MMM dd HH:mm:ss yyyy", CultureInfo.InvariantCulture));
        var workers = reply.AddSection("workers").Add("total", "1").Add("idle", "0");
        workers.AddSection("active").Add("critical", "0").Add("high", "0").Add("medium", "1").Add("low", "0");
        reply.AddSection("queues").Add("critical", "0").Add("high", "0").Add("medium", "0").Add("low", "0");
        reply.Add("scheduled", ViciSaViews.Num(total));
        reply.AddSection("ikesas").Add("total", ViciSaViews.Num(total)).Add("half-open", ViciSaViews.Num(halfOpen));
        reply.AddList("plugins", Features);
        return reply; // no "mem": charon sends it only when built with leak-detective
    }

    /// <summary>strongSwan's %V: the largest unit, "5 seconds", "1 minute", "3 hours", "2 days".</summary>
    internal static string Running(TimeSpan t)
    {
        var (n, unit) = t.TotalDays >= 1 ? ((long)t.TotalDays, "day") : t.TotalHours >= 1 ? ((long)t.TotalHours, "hour")
            : t.TotalMinutes >= 1 ? ((long)t.TotalMinutes, "minute") : ((long)t.TotalSeconds, "second");
        return $"{n} {unit}{(n == 1 ? string.Empty : "s")}";
    }

    /// <summary>
    /// Re-reads the --settings file: a file that no longer parses is refused with its file:line and nothing changes.
    /// The loggers' levels (charon.filelog, charon.syslog, stdout/stderr) apply at once, unless --log-level/--debug set
    /// them; the engine's charon.* settings, new or removed log files and the plugin settings are read at start only,
    /// and the answer's log line says so.
    /// </summary>
    private ViciSection ReloadSettings()
    {
        if (settingsPath is null)
        {
            return ViciCommands.Success();
        }

        string levels;
        try
        {
            _ = Daemon.LoadEngineSettings(settingsPath, new Engine.EngineSettings());
            _ = LoggerSettings.Read(SwanctlFile.ReadSettings(settingsPath, "strongswan.conf"));
            levels = reloadLogLevels?.Invoke() ?? "log levels unchanged (fixed at start)";
        }
        catch (ConfigException e)
        {
            return ViciCommands.Failure(e.Message);
        }

        daemon.LogInfo($"reload-settings: {settingsPath}: {levels}; charon.* engine and plugin settings take effect at the next start");
        return ViciCommands.Success();
    }
}
