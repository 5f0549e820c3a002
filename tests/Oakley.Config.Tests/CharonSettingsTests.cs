using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Config.Tests;

/// <summary>strongswan.conf's charon.* DoS and retransmission settings (oakley daemon --settings).</summary>
public class CharonSettingsTests
{
    private static SettingsParser Parser() => new(_ => throw new FileNotFoundException(), _ => []);

    [Fact]
    public void CharonSection_SetsTheDosKnobs_AndLeavesTheRestAtTheirDefaults()
    {
        const string text = """
            charon {
              cookie_threshold = 20
              cookie_threshold_ip = 4
              block_threshold = 8
              init_limit_half_open = 1000
              half_open_timeout = 15
              retransmit_timeout = 2.5
              plugins {
                vici {
                  socket = unix:///run/charon.vici
                }
              }
            }
            """;
        var s = CharonSettings.Apply(Parser().ParseText(text, "strongswan.conf"), new EngineSettings());
        Assert.Equal(20, s.CookieThreshold);
        Assert.Equal(4, s.CookieThresholdIp);
        Assert.Equal(8, s.BlockThreshold);
        Assert.Equal(1000, s.InitLimitHalfOpen);
        Assert.Equal(TimeSpan.FromSeconds(15), s.HalfOpenTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2.5), s.RetransmitTimeout);
        Assert.True(s.DosProtection);
        var defaults = new EngineSettings();
        Assert.Equal(defaults.RetransmitTries, s.RetransmitTries);
        Assert.Equal(defaults.RetransmitBase, s.RetransmitBase);
    }

    [Fact]
    public void Defaults_AreStrongSwans()
    {
        var s = CharonSettings.Apply(Parser().ParseText("charon {\n}\n", "strongswan.conf"), new EngineSettings());
        Assert.Equal((10, 3, 5, 0), (s.CookieThreshold, s.CookieThresholdIp, s.BlockThreshold, s.InitLimitHalfOpen));
        Assert.Equal(TimeSpan.FromSeconds(30), s.HalfOpenTimeout);
        Assert.True(s.DosProtection);
    }

    [Fact]
    public void KeepAlive_IsRead_DefaultIsTwentySeconds()
    {
        var s = CharonSettings.Apply(Parser().ParseText("charon {\n  keep_alive = 5\n}\n", "strongswan.conf"), new EngineSettings());
        Assert.Equal(TimeSpan.FromSeconds(5), s.KeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(20), CharonSettings.Apply(Parser().ParseText("charon {\n}\n", "strongswan.conf"), new EngineSettings()).KeepAliveInterval);
        var ex = Assert.Throws<ConfigException>(() => CharonSettings.Apply(Parser().ParseText("charon {\n  keep_alive = often\n}\n", "strongswan.conf"), new EngineSettings()));
        Assert.Contains("strongswan.conf:2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FragmentSizeAndMaxPacket_AreRead_DefaultsAreStrongSwans()
    {
        var s = CharonSettings.Apply(Parser().ParseText("charon {\n  fragment_size = 1400\n  max_packet = 20000\n}\n", "strongswan.conf"), new EngineSettings());
        Assert.Equal((1400, 20000), (s.FragmentSize, s.MaxPacket));
        var d = CharonSettings.Apply(Parser().ParseText("charon {\n}\n", "strongswan.conf"), new EngineSettings());
        Assert.Equal((0, 10000), (d.FragmentSize, d.MaxPacket)); // 0: 1280 for IPv4, 1232 for IPv6
        var ex = Assert.Throws<ConfigException>(() => CharonSettings.Apply(Parser().ParseText("charon {\n  fragment_size = big\n}\n", "strongswan.conf"), new EngineSettings()));
        Assert.Contains("fragment_size", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no", false)]
    [InlineData("disabled", false)]
    [InlineData("yes", true)]
    [InlineData("1", true)]
    public void DosProtection_TakesStrongSwansBooleans(string value, bool expected)
    {
        var s = CharonSettings.Apply(Parser().ParseText($"charon {{\n  dos_protection = {value}\n}}\n", "strongswan.conf"), new EngineSettings());
        Assert.Equal(expected, s.DosProtection);
    }

    [Theory]
    [InlineData("cookie_threshold = ten", "cookie_threshold")]
    [InlineData("block_threshold = -1", "block_threshold")]
    [InlineData("dos_protection = maybe", "dos_protection")]
    [InlineData("half_open_timeout = 30x", "half_open_timeout")]
    public void BadValues_AreErrorsWithFileAndLine(string line, string key)
    {
        var text = $"# strongswan.conf\ncharon {{\n  {line}\n}}\n";
        var ex = Assert.Throws<ConfigException>(() => CharonSettings.Apply(Parser().ParseText(text, "strongswan.conf"), new EngineSettings()));
        Assert.Equal(3, ex.Location.Line);
        Assert.StartsWith("strongswan.conf:3", ex.Message, StringComparison.Ordinal);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }
}
