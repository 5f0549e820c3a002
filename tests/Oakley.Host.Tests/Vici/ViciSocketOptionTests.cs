using Oakley.Host.Vici;

namespace Oakley.Host.Tests.Vici;

/// <summary>Which path the one control socket takes: --control / --vici, OAKLEY_CONTROL, charon.plugins.vici.socket, the default.</summary>
public sealed class ViciSocketOptionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-vici-opt-").FullName;

    private string Settings(string body)
    {
        var path = Path.Combine(_dir, "strongswan.conf");
        File.WriteAllText(path, body);
        return path;
    }

    [Fact]
    public void DefaultsToCharonsSocket() => Assert.Equal("/var/run/charon.vici", ViciSocketOption.Resolve(null, null, null, null));

    [Fact]
    public void OptionsWinOverEnvironmentAndSettings()
    {
        var settings = Settings("charon {\n  plugins {\n    vici {\n      socket = unix:///tmp/from-settings.vici\n    }\n  }\n}\n");
        Assert.Equal("/tmp/a.vici", ViciSocketOption.Resolve(null, "unix:///tmp/a.vici", "/tmp/env", settings));
        Assert.Equal("/tmp/b", ViciSocketOption.Resolve("/tmp/b", null, "/tmp/env", settings));
        Assert.Equal("/tmp/b", ViciSocketOption.Resolve("/tmp/b", "unix:///tmp/b", null, null)); // both, agreeing
        Assert.Equal("/tmp/env", ViciSocketOption.Resolve(null, null, "/tmp/env", settings));
        Assert.Equal("/tmp/from-settings.vici", ViciSocketOption.Resolve(null, null, null, settings));
    }

    [Fact]
    public void RefusesOtherSchemesAndDisagreeingOptions()
    {
        Assert.Contains("only unix://", Assert.Throws<StartupException>(() => ViciSocketOption.Resolve(null, "tcp://127.0.0.1:4502", null, null)).Message, StringComparison.Ordinal);
        Assert.Throws<StartupException>(() => ViciSocketOption.Resolve(null, "unix://", null, null));
        Assert.Contains("different sockets", Assert.Throws<StartupException>(() => ViciSocketOption.Resolve("/tmp/x", "unix:///tmp/y", null, null)).Message, StringComparison.Ordinal);
        var settings = Settings("charon {\n  plugins {\n    vici {\n      socket = tcp://0.0.0.0:4502\n    }\n  }\n}\n");
        Assert.Contains("strongswan.conf:4", Assert.Throws<StartupException>(() => ViciSocketOption.Resolve(null, null, null, settings)).Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
