using System.Globalization;
using Oakley.Crypto.Tls;
using Oakley.Engine;

namespace Oakley.Config;

/// <summary>
/// strongSwan's <c>charon.plugins.eap-tls</c>: <c>fragment_size</c> (the largest EAP-TLS message, default 1024),
/// <c>min_version</c> and <c>max_version</c> (<c>1.2</c> or <c>1.3</c>; Oakley's EAP-TLS speaks no older TLS, and
/// its default maximum is 1.3 where strongSwan 5.9's is 1.2: the highest version both sides offer is used).
/// </summary>
public static class EapTlsSettings
{
    public static EngineSettings Apply(SettingsSection root, EngineSettings baseline)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(baseline);
        if (root.Section("charon")?.Section("plugins")?.Section("eap-tls") is not { } tls)
        {
            return baseline;
        }

        var settings = baseline with
        {
            EapTlsFragmentSize = FragmentSize(tls, baseline.EapTlsFragmentSize),
            EapTlsMinVersion = Version(tls, "min_version", baseline.EapTlsMinVersion),
            EapTlsMaxVersion = Version(tls, "max_version", baseline.EapTlsMaxVersion),
        };
        if (settings.EapTlsMinVersion > settings.EapTlsMaxVersion)
        {
            throw new ConfigException(tls.Value("min_version")?.Location ?? tls.Location, "charon.plugins.eap-tls.min_version is above max_version");
        }

        return settings;
    }

    private static int FragmentSize(SettingsSection tls, int fallback)
    {
        if (tls.Value("fragment_size") is not { } v)
        {
            return fallback;
        }

        // A fragment must hold the EAP and EAP-TLS headers and some TLS data; an EAP message is at most 65535 bytes.
        return int.TryParse(v.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 64 and <= 65535
            ? n
            : throw new ConfigException(v.Location, $"charon.plugins.eap-tls.fragment_size = '{v.Value}' is not a size from 64 to 65535");
    }

    private static TlsVersion Version(SettingsSection tls, string key, TlsVersion fallback) => tls.Value(key) is not { } v ? fallback : v.Value.Trim() switch
    {
        "1.2" => TlsVersion.Tls12,
        "1.3" => TlsVersion.Tls13,
        "1.0" or "1.1" => throw new ConfigException(v.Location, $"charon.plugins.eap-tls.{key} = {v.Value.Trim()} is not supported: Oakley's EAP-TLS speaks TLS 1.2 and 1.3"),
        _ => throw new ConfigException(v.Location, $"invalid value for 'charon.plugins.eap-tls.{key}': '{v.Value}' (1.2 or 1.3)"),
    };
}
