using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Cli.Tests;

/// <summary>The daemon's log levels: --log-level, --debug, and the strongswan.conf loggers of --settings.</summary>
public class LogSetupTests
{
    private static SettingsSection Parse(string text) => new SettingsParser(_ => throw new FileNotFoundException(), _ => []).ParseText(text, "strongswan.conf");

    [Theory]
    [InlineData("trace", LogLevel.Trace)]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("info", LogLevel.Information)]
    [InlineData("Information", LogLevel.Information)]
    [InlineData("warning", LogLevel.Warning)]
    [InlineData("warn", LogLevel.Warning)]
    [InlineData("error", LogLevel.Error)]
    [InlineData("none", LogLevel.None)]
    [InlineData("-1", LogLevel.None)]
    [InlineData("0", LogLevel.Warning)]
    [InlineData("1", LogLevel.Information)]
    [InlineData("2", LogLevel.Debug)]
    [InlineData("3", LogLevel.Trace)]
    [InlineData("4", LogLevel.Trace)]
    public void Parse_NamesAndStrongSwanLevels(string text, LogLevel expected)
    {
        Assert.Equal(expected, LogSetup.Parse(text));
    }

    [Theory]
    [InlineData("verbose")]
    [InlineData("5")]
    [InlineData("-2")]
    [InlineData("")]
    public void Parse_Rejects(string text)
    {
        Assert.Null(LogSetup.Parse(text));
    }

    [Fact]
    public void CommandLine_LogLevelAndDebug()
    {
        LogLevel? Level(string args)
        {
            var pr = Program.Commands().Parse(args);
            Assert.Empty(pr.Errors);
            return Program.CommandLineLevel(pr.GetValue<LogLevel?>("--log-level"), pr.GetValue<bool>("--debug"));
        }

        Assert.Null(Level("daemon"));
        Assert.Equal(LogLevel.Debug, Level("daemon --debug"));
        Assert.Equal(LogLevel.Trace, Level("daemon --log-level trace"));
        Assert.Equal(LogLevel.Debug, Level("daemon --log-level 2"));
        Assert.Equal(LogLevel.None, Level("daemon --log-level -1"));
        Assert.Equal(LogLevel.Warning, Level("daemon --debug --log-level warning"));

        var bad = Program.Commands().Parse("daemon --log-level loud");
        Assert.Equal("--log-level 'loud' is not a level: trace, debug, info, warning, error, none, or strongSwan's -1..4", Assert.Single(bad.Errors).Message);
    }

    [Fact]
    public void CommandLine_ConfigDefaultsToSwanctlConf()
    {
        var pr = Program.Commands().Parse("daemon");
        Assert.Empty(pr.Errors);
        Assert.Equal("/etc/swanctl/swanctl.conf", pr.GetValue<string>("--config"));
        Assert.Equal("/tmp/x.conf", Program.Commands().Parse("daemon --config /tmp/x.conf").GetValue<string>("--config"));
    }

    private const string Loggers = """
        charon {
          filelog {
            charon {
              path = /var/log/charon.log
              default = 2
              ike = 4
              append = no
              time_format = %b %e %T
            }
            /var/log/old-style.log {
              default = 3
            }
            stderr {
              default = 0
            }
          }
          syslog {
            identifier = charon-custom
            daemon {
              default = -1
            }
            auth {
            }
          }
        }
        """;

    [Fact]
    public void LoggerSettings_ReadsFilelogAndSyslogLevels()
    {
        var targets = LoggerSettings.Read(Parse(Loggers));
        Assert.Equal(
            [
                (LogTargetKind.File, "charon", "/var/log/charon.log", 2, false),
                (LogTargetKind.File, "/var/log/old-style.log", "/var/log/old-style.log", 3, true),
                (LogTargetKind.Stderr, "stderr", null, 0, true),
                (LogTargetKind.Syslog, "daemon", null, -1, true),
                (LogTargetKind.Syslog, "auth", null, 1, true),
            ],
            targets.Select(t => (t.Kind, t.Name, t.Path, t.Level, t.Append)));
        Assert.Empty(LoggerSettings.Read(Parse("charon {\n  cookie_threshold = 5\n}\n")));
    }

    [Theory]
    [InlineData("filelog {\n    x {\n      path = /tmp/x.log\n      default = loud\n", "strongswan.conf:5: error: charon.filelog.x.default = 'loud' is not a log level (-1 silent, 0 audit, 1 control, 2 controlmore, 3 raw, 4 private)")]
    [InlineData("syslog {\n    daemon {\n      path = x\n      default = 5\n", "strongswan.conf:5: error: charon.syslog.daemon.default = '5' is not a log level (-1 silent, 0 audit, 1 control, 2 controlmore, 3 raw, 4 private)")]
    [InlineData("filelog {\n    x {\n      append = maybe\n      default = 1\n", "strongswan.conf:4: error: charon.filelog.x.append = 'maybe' is not yes or no")]
    public void LoggerSettings_BadValues_AreErrorsWithFileAndLine(string body, string message)
    {
        var ex = Assert.Throws<ConfigException>(() => LoggerSettings.Read(Parse("charon {\n  " + body + "    }\n  }\n}\n")));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Resolve_WithoutCommandLine_ConsoleTakesTheMostVerboseConsoleLogger_FilesTheirOwn()
    {
        var setup = LogSetup.Resolve(null, LoggerSettings.Read(Parse(Loggers)));
        Assert.Equal(LogLevel.Information, setup.Console); // stderr 0 (warning), syslog daemon -1 (none), auth 1 (information): the most verbose
        Assert.True(setup.ConsoleToStderr);
        Assert.Equal([("/var/log/charon.log", LogLevel.Debug, false), ("/var/log/old-style.log", LogLevel.Trace, true)], setup.Files.Select(f => (f.Path, f.Level, f.Append)));
    }

    [Fact]
    public void Resolve_CommandLineWinsOverTheSettings_ForEveryOutput()
    {
        var setup = LogSetup.Resolve(LogLevel.Error, LoggerSettings.Read(Parse(Loggers)));
        Assert.Equal(LogLevel.Error, setup.Console);
        Assert.All(setup.Files, f => Assert.Equal(LogLevel.Error, f.Level));
    }

    [Fact]
    public void Resolve_NothingSet_IsInformationOnStdout()
    {
        Assert.Equal(LogSetup.Default, LogSetup.Resolve(null, []) with { Files = LogSetup.Default.Files });
        Assert.Empty(LogSetup.Resolve(null, []).Files);
        Assert.Equal(LogLevel.Information, LogSetup.Resolve(null, LoggerSettings.Read(Parse("charon {\n  filelog {\n    f {\n      path = /tmp/f.log\n    }\n  }\n}\n"))).Console);
    }

    [Fact]
    public void FromSettingsFile_LogsToTheFilelogPath_AtItsLevel()
    {
        using var dir = new TempDir();
        var log = dir.File("charon.log");
        File.WriteAllText(log, "from before\n");
        var settings = dir.File("strongswan.conf");
        File.WriteAllText(settings, $"charon {{\n  filelog {{\n    main {{\n      path = {log}\n      default = 1\n    }}\n  }}\n}}\n");

        WriteAll(LogSetup.FromSettingsFile(null, settings));
        var lines = File.ReadAllLines(log);
        Assert.Equal("from before", lines[0]); // append = yes is the default
        Assert.Equal(
            [$"info oakley: logging to {log} at level Information (charon.filelog)", "info ike: up", "warn ike: careful"],
            lines[1..].Select(l => Regex.Replace(l, @"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ", string.Empty)));

        // --debug (the command line) wins over default = 1.
        File.Delete(log);
        WriteAll(LogSetup.FromSettingsFile(LogLevel.Debug, settings));
        Assert.Equal([$"info oakley: logging to {log} at level Debug (charon.filelog)", "dbug ike: details", "info ike: up", "warn ike: careful"], File.ReadAllLines(log).Select(l => l[24..]));
    }

    [Fact]
    public void FromSettingsFile_BadLevel_IsAConfigError()
    {
        using var dir = new TempDir();
        var settings = dir.File("strongswan.conf");
        File.WriteAllText(settings, "charon {\n  syslog {\n    daemon {\n      default = high\n    }\n  }\n}\n");
        var ex = Assert.Throws<ConfigException>(() => LogSetup.FromSettingsFile(LogLevel.Debug, settings));
        Assert.StartsWith($"{settings}:4: error: charon.syslog.daemon.default = 'high'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LogFileThatCannotBeOpened_IsAWarning_AndTheRestLogs()
    {
        using var dir = new TempDir();
        var setup = LogSetup.Resolve(null, [new LogTarget(LogTargetKind.File, "x", dir.File("missing/dir/x.log"), 1, true, new SourceLocation("strongswan.conf", 7, 5))]);
        using var errors = new StringWriter();
        using (var factory = setup.CreateFactory(errors))
        {
            factory.CreateLogger("ike").LogInformation("still logging");
        }

        Assert.StartsWith($"strongswan.conf:7: warning: charon.filelog.x: cannot open {dir.File("missing/dir/x.log")} for logging (", errors.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("); not logging there" + Environment.NewLine, errors.ToString(), StringComparison.Ordinal);
    }

    private static void WriteAll(LogSetup setup)
    {
        using var errors = new StringWriter();
        using (var factory = setup.CreateFactory(errors))
        {
            var log = factory.CreateLogger("ike");
            log.LogTrace("bytes");
            log.LogDebug("details");
            log.LogInformation("up");
            log.LogWarning("careful");
        }

        Assert.Equal(string.Empty, errors.ToString());
    }
}
