namespace Oakley.Config.Tests;

/// <summary>strongSwan's eap-radius plugin settings (charon.plugins.eap-radius).</summary>
public class RadiusSettingsTests
{
    private static SettingsSection Parse(string text) => new SettingsParser(_ => string.Empty, _ => [], _ => false).ParseText(text, "strongswan.conf");

    private static RadiusSettings Read(string plugin) => RadiusSettings.Read(Parse("charon {\n  plugins {\n    eap-radius {\n" + plugin + "    }\n  }\n}\n"));

    [Fact]
    public void Absent_IsNone()
    {
        Assert.False(RadiusSettings.Read(Parse("charon {\n}\n")).Enabled);
    }

    [Fact]
    public void LegacyServer_WithStrongSwanDefaults()
    {
        var s = Read("      server = 192.0.2.10\n      secret = s3cret\n");
        var server = Assert.Single(s.Servers);
        Assert.Equal(("192.0.2.10", 1812, 1813, "strongSwan", 4, 2.0, 1.4), (server.Address, server.AuthPort, server.AcctPort, server.NasIdentifier, server.RetransmitTries, server.RetransmitTimeout, server.RetransmitBase));
        Assert.Equal("s3cret"u8.ToArray(), server.Secret);
        Assert.False(s.EapStart);
        Assert.False(s.Accounting);
        Assert.DoesNotContain("s3cret", server.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", s.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Servers_FallBackToThePluginKeys()
    {
        var s = Read("      port = 11812\n      nas_identifier = gw\n      retransmit_tries = 2\n      eap_start = yes\n      accounting = yes\n      accounting_interval = 300\n"
            + "      servers {\n        primary {\n          address = 192.0.2.10\n          secret = a\n          preference = 10\n          auth_port = 1645\n          acct_port = 1646\n          retransmit_timeout = 0.5\n        }\n"
            + "        backup {\n          address = radius.example\n          secret = b\n          nas_identifier = gw-backup\n        }\n      }\n");
        Assert.True(s.EapStart);
        Assert.True(s.Accounting);
        Assert.Equal(TimeSpan.FromSeconds(300), s.AccountingInterval);
        var (primary, backup) = (s.Servers[0], s.Servers[1]);
        Assert.Equal(("primary", 1645, 1646, 10, "gw", 2, 0.5), (primary.Name, primary.AuthPort, primary.AcctPort, primary.Preference, primary.NasIdentifier, primary.RetransmitTries, primary.RetransmitTimeout));
        Assert.Equal(("backup", "radius.example", 11812, 1813, 0, "gw-backup"), (backup.Name, backup.Address, backup.AuthPort, backup.AcctPort, backup.Preference, backup.NasIdentifier));
    }

    [Theory]
    [InlineData("      server = 192.0.2.10\n      secret = x\n      port = 70000\n", "strongswan.conf:6: error: charon.plugins.eap-radius.port = '70000' is not a port (1..65535)")]
    [InlineData("      server = 192.0.2.10\n", "strongswan.conf:4: error: charon.plugins.eap-radius.server is set but charon.plugins.eap-radius.secret is not")]
    [InlineData("      server = 192.0.2.10\n      secret = x\n      retransmit_tries = 0\n", "strongswan.conf:6: error: charon.plugins.eap-radius.retransmit_tries = '0' is not a count from 1 to 1000")]
    [InlineData("      server = 192.0.2.10\n      secret = x\n      retransmit_timeout = soon\n", "strongswan.conf:6: error: charon.plugins.eap-radius.retransmit_timeout = 'soon' is not a positive number of seconds (at most 3600)")]
    [InlineData("      accounting = maybe\n", "strongswan.conf:4: error: charon.plugins.eap-radius.accounting = 'maybe' is not yes or no")]
    [InlineData("      accounting_interval = 1.5\n", "strongswan.conf:4: error: charon.plugins.eap-radius.accounting_interval = '1.5' is not a whole number of seconds")]
    [InlineData("      servers {\n        a {\n          secret = x\n        }\n      }\n", "strongswan.conf:5: error: charon.plugins.eap-radius.servers.a has no address")]
    [InlineData("      servers {\n        a {\n          address = 192.0.2.1\n          secret = x\n          acct_port = 0\n        }\n      }\n", "strongswan.conf:8: error: charon.plugins.eap-radius.servers.a.acct_port = '0' is not a port (1..65535)")]
    public void BadValues_AreErrorsWithFileAndLine(string plugin, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Read(plugin));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void ClassGroup_IsIgnoredWithAWarning()
    {
        var s = Read("      server = 192.0.2.10\n      secret = x\n      class_group = yes\n");
        var w = Assert.Single(s.Warnings);
        Assert.Equal("strongswan.conf:6: warning: charon.plugins.eap-radius.class_group is not supported by Oakley and is ignored", w.ToString());
    }
}
