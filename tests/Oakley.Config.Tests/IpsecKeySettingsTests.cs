namespace Oakley.Config.Tests;

/// <summary>strongSwan's ipseckey plugin settings (issue 15): off by default, resolvers from the resolv.conf it names.</summary>
public class IpsecKeySettingsTests
{
    private static SettingsSection Parse(string text) => new SettingsParser(_ => string.Empty, _ => [], _ => false).ParseText(text, "strongswan.conf");

    [Fact]
    public void Enabled_ReadsTheNameserversOfResolvConf()
    {
        var root = Parse("charon {\n  plugins {\n    ipseckey {\n      enable = yes\n    }\n    unbound {\n      resolv_conf = /etc/oakley-resolv.conf\n    }\n  }\n}\n");
        var settings = IpsecKeySettings.Read(root, path => path == "/etc/oakley-resolv.conf" ? "# local unbound\nnameserver 127.0.0.1\nnameserver ::1\nsearch lab\n" : null);
        Assert.True(settings.Enable);
        Assert.Equal(["127.0.0.1:53", "[::1]:53"], settings.Resolvers.Select(r => r.ToString()));
        Assert.False(IpsecKeySettings.Read(Parse("charon {\n}\n"), _ => null).Enable);
    }

    [Fact]
    public void Enabled_WithoutAResolver_IsAnErrorWithFileAndLine()
    {
        var root = Parse("charon {\n  plugins {\n    ipseckey {\n      enable = yes\n    }\n  }\n}\n");
        var missing = Assert.Throws<ConfigException>(() => IpsecKeySettings.Read(root, _ => null));
        Assert.Equal("strongswan.conf:3: error: charon.plugins.ipseckey.enable = yes, but the resolver file /etc/resolv.conf cannot be read", missing.Message);
        var empty = Assert.Throws<ConfigException>(() => IpsecKeySettings.Read(root, _ => "search lab\n"));
        Assert.EndsWith("/etc/resolv.conf names no nameserver", empty.Message, StringComparison.Ordinal);
    }
}
