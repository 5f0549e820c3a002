namespace Oakley.Config.Tests;

/// <summary>The config path and includes on a real file system (a temporary directory per test).</summary>
public sealed class SwanctlFileTests : IDisposable
{
    private const string Connection = """
        connections {
          gw {
            local_addrs = 192.0.2.2
            local {
              auth = psk
              id = gw.example
            }
            remote {
              auth = psk
            }
          }
        }
        secrets {
          ike {
            secret = not-a-real-key
          }
        }

        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void MissingFile_SaysSo_WithoutALineNumber()
    {
        var path = Path.Combine(_dir, "swanctl.conf");
        var ex = Assert.Throws<ConfigException>(() => SwanctlFile.Load(path));
        Assert.Equal($"{path}: no such file", ex.Message);
    }

    [Fact]
    public void Directory_SaysItIsADirectory()
    {
        var ex = Assert.Throws<ConfigException>(() => SwanctlFile.Load(_dir));
        Assert.Equal($"{_dir} is a directory (expected swanctl.conf)", ex.Message);
        var settings = Assert.Throws<ConfigException>(() => SwanctlFile.ReadSettings(_dir, "strongswan.conf"));
        Assert.Equal($"{_dir} is a directory (expected strongswan.conf)", settings.Message);
    }

    [Fact]
    public void ValidFile_Loads_WithGlobIncludes_SkippingDirectoriesAndEmptyMatches()
    {
        var main = Write("swanctl.conf", "include conf.d/*.conf\ninclude nothing.d/*.conf\n");
        Write("conf.d/gw.conf", Connection);
        Directory.CreateDirectory(Path.Combine(_dir, "conf.d", "old.conf")); // a directory a pattern matches: skipped, as in strongSwan
        var config = SwanctlFile.Load(main);
        Assert.Equal("gw", Assert.Single(config.Connections).Ike.Name);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void IncludeOfAMissingFile_IsAnError_AtTheInclude()
    {
        var main = Write("swanctl.conf", "# sites\ninclude site.conf\n");
        var ex = Assert.Throws<ConfigException>(() => SwanctlFile.Load(main));
        Assert.Equal($"{main}:2:1: error: included file 'site.conf' does not exist\n    include site.conf\n    ^", ex.Message);
    }

    [Fact]
    public void IncludeOfADirectory_IsAnError_ThatSuggestsAPattern()
    {
        var main = Write("swanctl.conf", "include conf.d\n");
        Directory.CreateDirectory(Path.Combine(_dir, "conf.d"));
        var ex = Assert.Throws<ConfigException>(() => SwanctlFile.Load(main));
        Assert.Equal($"{main}:1:1: error: included 'conf.d' is a directory (include its files with a pattern such as 'conf.d/*.conf')\n    include conf.d\n    ^", ex.Message);
    }

    [Fact]
    public void IncludedFiles_GiveTheirOwnFileAndLine()
    {
        var main = Write("swanctl.conf", "include conf.d/*.conf\n");
        var gw = Write("conf.d/gw.conf", Connection.Replace("local_addrs", "local_adrs", StringComparison.Ordinal));
        var ex = Assert.Throws<ConfigException>(() => SwanctlFile.Load(main));
        Assert.Equal($"{gw}:3: error: unknown option 'connections.gw.local_adrs' (did you mean 'local_addrs'?)", ex.Message);
    }

    [Fact]
    public void EmptyFile_LoadsWithAWarning()
    {
        var main = Write("swanctl.conf", string.Empty);
        var config = SwanctlFile.Load(main);
        Assert.Empty(config.Connections);
        Assert.Equal([$"{main}: warning: the configuration is empty: no connections are loaded"], config.Warnings.Select(w => w.ToString()));
    }
}
