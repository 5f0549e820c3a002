using Oakley.Engine;
using Oakley.Engine.Eap;

namespace Oakley.Config.Tests;

/// <summary>swanctl's multiple authentication rounds (RFC 4739): local-2, remote-2, ordered by <c>round</c> or as written.</summary>
public class SwanctlAuthRoundsTests
{
    private const string Conf = """
        connections {
          home {
            remote_addrs = 192.0.2.1
            local {
              auth = psk
              id = moon.example
            }
            local-2 {
              auth = eap-mschapv2
              id = carol@example.org
              eap_id = carol
            }
            remote {
              auth = psk
              id = 192.0.2.1
            }
            remote-2 {
              auth = eap-md5
              id = sun.example
            }
          }
        }
        """;

    private static SwanctlConfig Load(string text) => SwanctlLoader.Load(new SettingsParser(_ => throw new FileNotFoundException(), _ => []).ParseText(text, "swanctl.conf"));

    [Fact]
    public void SecondRounds_LoadWithTheirOwnIdentity()
    {
        var ike = Assert.Single(Load(Conf).Connections).Ike;
        Assert.Equal(AuthClass.Psk, ike.LocalAuth.Class);
        Assert.Equal("moon.example", ike.LocalId.ToString());
        var second = Assert.Single(ike.MoreLocalAuth);
        Assert.Equal((AuthClass.Eap, EapType.MsChapV2, "carol@example.org", "carol"), (second.Class, second.EapMethod, second.RoundId?.ToString(), second.EapId?.ToString()));
        var remote2 = Assert.Single(ike.MoreRemoteAuth);
        Assert.Equal((AuthClass.Eap, EapType.Md5, "sun.example"), (remote2.Class, remote2.EapMethod, remote2.RoundId?.ToString()));
    }

    [Fact]
    public void RoundNumbers_OrderTheRounds_NotThePosition()
    {
        var text = Conf.Replace("local {\n      auth = psk", "local {\n      round = 2\n      auth = psk", StringComparison.Ordinal)
            .Replace("local-2 {\n      auth = eap-mschapv2", "local-2 {\n      round = 1\n      auth = eap-mschapv2", StringComparison.Ordinal);
        var ike = Assert.Single(Load(text).Connections).Ike;
        Assert.Equal(AuthClass.Eap, ike.LocalAuth.Class);
        Assert.Equal(AuthClass.Psk, Assert.Single(ike.MoreLocalAuth).Class);
    }

    [Fact]
    public void ARoundNumberUsedTwice_IsAnErrorWithFileAndLine()
    {
        var text = Conf.Replace("local {\n      auth = psk", "local {\n      round = 1\n      auth = psk", StringComparison.Ordinal)
            .Replace("local-2 {\n      auth = eap-mschapv2", "local-2 {\n      round = 1\n      auth = eap-mschapv2", StringComparison.Ordinal);
        var e = Assert.Throws<ConfigException>(() => Load(text));
        Assert.Contains("swanctl.conf:10: error: 'connections.home.local-2': round 1 is used twice", e.Message, StringComparison.Ordinal);
    }
}
