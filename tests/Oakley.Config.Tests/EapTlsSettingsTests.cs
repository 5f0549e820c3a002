using Oakley.Crypto.Tls;
using Oakley.Engine;

namespace Oakley.Config.Tests;

/// <summary>charon.plugins.eap-tls: fragment_size, min_version and max_version, with file:line errors.</summary>
public class EapTlsSettingsTests
{
    private static EngineSettings Apply(string body) =>
        EapTlsSettings.Apply(new SettingsParser(_ => throw new FileNotFoundException(), _ => []).ParseText("charon {\n  plugins {\n    eap-tls {\n" + body + "\n    }\n  }\n}\n", "strongswan.conf"), new EngineSettings());

    [Fact]
    public void Defaults_AreStrongSwansFragmentSize_AndTls12To13()
    {
        var s = Apply(string.Empty);
        Assert.Equal((1024, TlsVersion.Tls12, TlsVersion.Tls13), (s.EapTlsFragmentSize, s.EapTlsMinVersion, s.EapTlsMaxVersion));
    }

    [Fact]
    public void TheKeys_AreRead()
    {
        var s = Apply("      fragment_size = 512\n      max_version = 1.2");
        Assert.Equal((512, TlsVersion.Tls12, TlsVersion.Tls12), (s.EapTlsFragmentSize, s.EapTlsMinVersion, s.EapTlsMaxVersion));
    }

    [Theory]
    [InlineData("      max_version = 1.1", "strongswan.conf:4: error: charon.plugins.eap-tls.max_version = 1.1 is not supported: Oakley's EAP-TLS speaks TLS 1.2 and 1.3")]
    [InlineData("      min_version = tls13", "strongswan.conf:4: error: invalid value for 'charon.plugins.eap-tls.min_version': 'tls13' (1.2 or 1.3)")]
    [InlineData("      fragment_size = 10", "strongswan.conf:4: error: charon.plugins.eap-tls.fragment_size = '10' is not a size from 64 to 65535")]
    [InlineData("      min_version = 1.3\n      max_version = 1.2", "strongswan.conf:4: error: charon.plugins.eap-tls.min_version is above max_version")]
    public void BadValues_AreErrorsWithFileAndLine(string body, string expected) =>
        Assert.Equal(expected, Assert.Throws<ConfigException>(() => Apply(body)).Message);
}
