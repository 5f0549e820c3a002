using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Oakley.Config;
using Oakley.Host.Systemd;

namespace Oakley.Cli;

/// <summary>A log file of the daemon: a <c>charon.filelog</c> logger with a path.</summary>
internal sealed record LogFile(string Name, string Path, LogLevel Level, bool Append, SourceLocation Location);

/// <summary>
/// The daemon's log outputs and their levels: the console (stdout, or stderr when the settings name only a stderr
/// logger) and the log files of <c>--settings</c>. A level given on the command line (<c>--log-level</c>,
/// <c>--debug</c>) is the level of every output; otherwise the console takes the most verbose level of the settings'
/// stdout, stderr and syslog loggers (syslog: under systemd the console is the journal, written natively with fields:
/// <see cref="JournalLoggerProvider"/>), each file its own, and
/// whatever is not set is Information (strongSwan's default level 1).
/// </summary>
internal sealed record LogSetup(LogLevel Console, bool ConsoleToStderr, IReadOnlyList<LogFile> Files)
{
    public static readonly LogSetup Default = new(LogLevel.Information, false, []);

    /// <summary>
    /// A level as <c>--log-level</c> takes it: trace, debug, info (information), warning (warn), error, critical,
    /// none, or strongSwan's numeric levels -1..4 (<see cref="FromStrongSwan"/>); null if it is neither.
    /// </summary>
    public static LogLevel? Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            return n is >= -1 and <= 4 ? FromStrongSwan(n) : null;
        }

        return t switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warning" or "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "critical" => LogLevel.Critical,
            "none" or "silent" => LogLevel.None,
            _ => null,
        };
    }

    /// <summary>
    /// strongSwan's levels: -1 silent, 0 audit (Oakley has no separate audit class: warnings and errors), 1 control
    /// (information, the default), 2 more control flow (debug), 3 raw data and 4 private data (trace: Oakley never
    /// logs keys or secrets at any level).
    /// </summary>
    public static LogLevel FromStrongSwan(int level) => level switch
    {
        < 0 => LogLevel.None,
        0 => LogLevel.Warning,
        1 => LogLevel.Information,
        2 => LogLevel.Debug,
        _ => LogLevel.Trace,
    };

    /// <summary>Combines the command line (null: not given) with the loggers of the settings file.</summary>
    public static LogSetup Resolve(LogLevel? commandLine, IReadOnlyList<LogTarget> targets)
    {
        var consoleTargets = targets.Where(t => t.Kind != LogTargetKind.File).ToList();
        var console = commandLine
            ?? (consoleTargets.Count > 0 ? consoleTargets.Select(t => FromStrongSwan(t.Level)).Min() : LogLevel.Information);
        var toStderr = targets.Any(t => t.Kind == LogTargetKind.Stderr) && !targets.Any(t => t.Kind == LogTargetKind.Stdout);
        var files = targets.Where(t => t.Kind == LogTargetKind.File)
            .Select(t => new LogFile(t.Name, t.Path!, commandLine ?? FromStrongSwan(t.Level), t.Append, t.Location))
            .ToList();
        return new LogSetup(console, toStderr, files);
    }

    /// <summary>Reads the loggers of a strongswan.conf (<c>--settings</c>); throws <see cref="ConfigException"/> with file:line.</summary>
    public static LogSetup FromSettingsFile(LogLevel? commandLine, string? settingsPath)
    {
        if (settingsPath is null)
        {
            return Resolve(commandLine, []);
        }

        return Resolve(commandLine, LoggerSettings.Read(SwanctlFile.ReadSettings(settingsPath, "strongswan.conf")));
    }

    /// <summary>
    /// Under systemd with standard error connected to the journal (JOURNAL_STREAM names it): journald's socket when it
    /// exists, else the empty string (the stream, with priority prefixes); null when the journal is not our stream.
    /// </summary>
    internal static string? DetectJournal() =>
        !JournalStream.StandardErrorIsJournal() ? null : File.Exists(JournalStream.SocketPath) ? JournalStream.SocketPath : string.Empty;

    /// <summary>
    /// The logger factory for these outputs. A log file that cannot be opened is reported on
    /// <paramref name="errors"/> and left out (strongSwan carries on without it, too).
    /// </summary>
    /// <param name="live">
    /// When given, the levels stay changeable while the daemon runs (reload-settings, <see cref="LiveLogLevels"/>): the
    /// factory passes every level and each output filters by its current level.
    /// </param>
    /// <param name="journalSocket">Tests: the journal socket to log to (as if under systemd); null: <see cref="DetectJournal"/>.</param>
    public ILoggerFactory CreateFactory(TextWriter errors, LiveLogLevels? live = null, string? journalSocket = null)
    {
        var files = new List<FileLoggerProvider>();
        foreach (var f in Files.Where(f => f.Level != LogLevel.None))
        {
            try
            {
                files.Add(new FileLoggerProvider(f.Path, f.Level, f.Append));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.WriteLine($"{f.Location.File}:{f.Location.Line}: warning: charon.filelog.{f.Name}: cannot open {f.Path} for logging ({e.Message}); not logging there");
            }
        }

        var minimum = live is null ? files.Select(f => f.Level).Append(Console).Min() : LogLevel.Trace;
        live?.Attach(Console, files);
        var journal = journalSocket ?? DetectJournal();
        var factory = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(minimum);
            if (journal is { Length: > 0 })
            {
                // Under systemd: the console lines go to the journal natively, with fields (Host/Systemd).
                b.AddProvider(new JournalLoggerProvider(journal, errors));
                ConsoleFilter<JournalLoggerProvider>(b, live);
            }
            else if (journal is not null)
            {
                // The journal's stream but no socket: stderr with the <N> priority prefixes the stream reads.
                b.AddSystemdConsole(o => o.IncludeScopes = false);
                b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                ConsoleFilter<ConsoleLoggerProvider>(b, live);
            }
            else
            {
                b.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss.fff ";
                });
                b.AddConsole(o => o.LogToStandardErrorThreshold = ConsoleToStderr ? LogLevel.Trace : LogLevel.None);
                ConsoleFilter<ConsoleLoggerProvider>(b, live);
            }

            foreach (var f in files)
            {
                b.AddProvider(f);
            }
        });
        var log = factory.CreateLogger("oakley");
        foreach (var f in files)
        {
            log.LogInformation("logging to {Path} at level {Level} (charon.filelog)", f.Path, f.Level);
        }

        return factory;
    }

    /// <summary>The console output's level: fixed, or the live one that reload-settings changes.</summary>
    private void ConsoleFilter<T>(ILoggingBuilder b, LiveLogLevels? live)
        where T : ILoggerProvider
    {
        if (live is null)
        {
            b.AddFilter<T>(null, Console);
        }
        else
        {
            b.AddFilter<T>((_, level) => level >= live.Console);
        }
    }
}

/// <summary>
/// The daemon's log levels while it runs: reload-settings re-reads the loggers of --settings and applies their levels
/// (a level given on the command line still wins). Outputs cannot be added, removed or moved without a restart:
/// <see cref="Apply"/> says which changes need one.
/// </summary>
internal sealed class LiveLogLevels
{
    private int _console = (int)LogLevel.Information;
    private IReadOnlyList<FileLoggerProvider> _files = [];

    public LogLevel Console => (LogLevel)Volatile.Read(ref _console);

    internal void Attach(LogLevel console, IReadOnlyList<FileLoggerProvider> files)
    {
        Volatile.Write(ref _console, (int)console);
        _files = files;
    }

    /// <summary>Applies the levels of <paramref name="next"/>; returns what is in force now and what needs a restart.</summary>
    public string Apply(LogSetup next)
    {
        Volatile.Write(ref _console, (int)next.Console);
        var parts = new List<string> { $"console at {next.Console}" };
        foreach (var f in next.Files)
        {
            if (_files.FirstOrDefault(p => p.Path == f.Path) is { } provider)
            {
                provider.Level = f.Level;
                parts.Add($"{f.Path} at {f.Level}");
            }
            else
            {
                parts.Add($"{f.Path} is new: opened at the next start");
            }
        }

        parts.AddRange(_files.Where(p => next.Files.All(f => f.Path != p.Path)).Select(p => $"{p.Path} is no longer configured: closed at the next start"));
        return string.Join("; ", parts);
    }
}
