using Microsoft.Extensions.Logging;

namespace Oakley.Host.Vici;

/// <summary>
/// Builds the daemon's VICI server: every command and event the daemon answers. Each group of commands registers
/// itself here; the configuration-loading commands (load-conn, load-shared, ...) are registered by their own type at
/// the marked place.
/// </summary>
internal static class ViciRegistry
{
    /// <param name="counters">The source of get-counters and reset-counters (the daemon's IkeCounters).</param>
    /// <param name="reloadLogLevels">Applies the log levels of the settings file (reload-settings); null: they are fixed.</param>
    public static ViciServer Create(Daemon daemon, ILoggerFactory logs, IViciCounterSource counters, string? settingsPath = null, Func<string>? reloadLogLevels = null)
    {
        var commands = new ViciCommands();
        var server = new ViciServer(commands, logs.CreateLogger("vici"));
        var log = new ViciLog(server);
        server.AddEvent("log");
        server.AddEvent("control-log");
        logs.AddProvider(log);
        var ids = new ViciChildIds();
        new ViciInfoCommands(daemon, DateTimeOffset.Now, settingsPath, reloadLogLevels).Register(commands);
        new ViciControlCommands(daemon, log, ids).Register(commands);
        new ViciListCommands(daemon, ids).Register(commands, server);
        ViciCounterCommands.Register(commands, counters);
        new ViciEvents(daemon, server, ids).Register();
        ViciLoadCommands.Register(commands, daemon.Configuration, logs.CreateLogger("vici")); // load-conn, unload-conn, load-shared, load-cert, load-pool, ...
        return server;
    }
}
