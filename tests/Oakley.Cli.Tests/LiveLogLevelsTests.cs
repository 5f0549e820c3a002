using Microsoft.Extensions.Logging;

namespace Oakley.Cli.Tests;

/// <summary>reload-settings' log levels: the settings' new levels apply to the running outputs; the command line still wins.</summary>
public class LiveLogLevelsTests
{
    private static string Settings(string file, int level) => $$"""
        charon {
          filelog {
            main {
              path = {{file}}
              default = {{level}}
            }
          }
          syslog {
            daemon {
              default = {{level}}
            }
          }
        }
        """;

    [Fact]
    public void AppliesTheSettingsLevelsToTheRunningOutputs()
    {
        using var dir = new TempDir();
        var log = dir.File("charon.log");
        var settings = dir.File("strongswan.conf");
        File.WriteAllText(settings, Settings(log, 1));
        var live = new LiveLogLevels();
        using (var factory = LogSetup.FromSettingsFile(null, settings).CreateFactory(TextWriter.Null, live))
        {
            var logger = factory.CreateLogger("ike");
            logger.LogDebug("before the reload");
            Assert.Equal(LogLevel.Information, live.Console);

            File.WriteAllText(settings, Settings(log, 2));
            var said = live.Apply(LogSetup.FromSettingsFile(null, settings));
            Assert.Equal(LogLevel.Debug, live.Console);
            Assert.Contains($"{log} at Debug", said, StringComparison.Ordinal);
            logger.LogDebug("after the reload");
        }

        var text = File.ReadAllText(log);
        Assert.DoesNotContain("before the reload", text, StringComparison.Ordinal);
        Assert.Contains("after the reload", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCommandLineLevelStillWinsAndNewFilesWaitForARestart()
    {
        using var dir = new TempDir();
        var settings = dir.File("strongswan.conf");
        File.WriteAllText(settings, Settings(dir.File("a.log"), 1));
        var live = new LiveLogLevels();
        using var factory = LogSetup.FromSettingsFile(LogLevel.Warning, settings).CreateFactory(TextWriter.Null, live);
        File.WriteAllText(settings, Settings(dir.File("b.log"), 2));
        var said = live.Apply(LogSetup.FromSettingsFile(LogLevel.Warning, settings));
        Assert.Equal(LogLevel.Warning, live.Console);
        Assert.Contains("b.log is new: opened at the next start", said, StringComparison.Ordinal);
        Assert.Contains("a.log is no longer configured", said, StringComparison.Ordinal);
    }
}
