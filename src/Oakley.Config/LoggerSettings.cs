using System.Globalization;

namespace Oakley.Config;

/// <summary>Where a strongSwan logger writes.</summary>
public enum LogTargetKind
{
    /// <summary>A file (<c>charon.filelog.&lt;name&gt;</c> with a path).</summary>
    File,

    /// <summary><c>charon.filelog.stdout</c> (or <c>path = stdout</c>).</summary>
    Stdout,

    /// <summary><c>charon.filelog.stderr</c> (or <c>path = stderr</c>).</summary>
    Stderr,

    /// <summary><c>charon.syslog.&lt;facility&gt;</c>.</summary>
    Syslog,
}

/// <summary>
/// One logger of a strongswan.conf: its kind, its section name (the facility for syslog), the file path, its
/// <c>default</c> level (strongSwan's -1 silent, 0 audit, 1 control (the default), 2 more control flow, 3 raw data,
/// 4 private data) and <c>append</c>.
/// </summary>
public sealed record LogTarget(LogTargetKind Kind, string Name, string? Path, int Level, bool Append, SourceLocation Location);

/// <summary>
/// The loggers of a strongswan.conf: <c>charon.filelog.&lt;name&gt; { path, default, append }</c> (strongSwan 5.7+;
/// older files name the section after the path, which is still read) and <c>charon.syslog.&lt;facility&gt; { default }</c>.
/// The per-subsystem levels (<c>ike</c>, <c>cfg</c>, ...) and the formatting keys (<c>time_format</c>,
/// <c>ike_name</c>, ...) are strongSwan's own and are not read. Errors are <see cref="ConfigException"/>s with file:line.
/// </summary>
public static class LoggerSettings
{
    /// <summary>strongSwan's level of a logger that does not set <c>default</c>.</summary>
    public const int DefaultLevel = 1;

    /// <summary>The loggers configured under <c>charon { filelog { } syslog { } }</c>, in file order.</summary>
    public static IReadOnlyList<LogTarget> Read(SettingsSection root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var targets = new List<LogTarget>();
        if (root.Section("charon") is not { } charon)
        {
            return targets;
        }

        if (charon.Section("filelog") is { } filelog)
        {
            foreach (var s in filelog.Sections)
            {
                // strongSwan 5.7+: path = ...; before that the section name was the path.
                var path = s.Value("path")?.Value.Trim() is { Length: > 0 } p ? p : s.Name;
                var kind = path switch
                {
                    "stdout" => LogTargetKind.Stdout,
                    "stderr" => LogTargetKind.Stderr,
                    _ => LogTargetKind.File,
                };
                targets.Add(new LogTarget(kind, s.Name, kind == LogTargetKind.File ? path : null, Level(s, "filelog"), SettingsBool.Read(s, "append", true, $"charon.filelog.{s.Name}.append"), s.Location));
            }
        }

        if (charon.Section("syslog") is { } syslog)
        {
            foreach (var s in syslog.Sections)
            {
                targets.Add(new LogTarget(LogTargetKind.Syslog, s.Name, null, Level(s, "syslog"), true, s.Location));
            }
        }

        return targets;
    }

    private static int Level(SettingsSection s, string group)
    {
        var v = s.Value("default");
        if (v is null)
        {
            return DefaultLevel;
        }

        return int.TryParse(v.Value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n is >= -1 and <= 4
            ? n
            : throw new ConfigException(v.Location, $"charon.{group}.{s.Name}.default = '{v.Value}' is not a log level (-1 silent, 0 audit, 1 control, 2 controlmore, 3 raw, 4 private)");
    }
}
