using System.Globalization;
using Oakley.Engine;

namespace Oakley.Config;

/// <summary>
/// The <c>charon { }</c> section of a strongswan.conf: the daemon-wide settings Oakley acts on, with strongSwan's
/// names and meanings. Other keys and sections (plugins, logging) are strongSwan's own and are ignored.
/// Errors are <see cref="ConfigException"/>s with file:line.
/// </summary>
public static class CharonSettings
{
    /// <summary>The keys read from <c>charon { }</c>.</summary>
    public static readonly IReadOnlyList<string> Keys =
    [
        "dos_protection", "cookie_threshold", "cookie_threshold_ip", "block_threshold", "init_limit_half_open",
        "half_open_timeout", "retransmit_timeout", "retransmit_base", "retransmit_tries", "fragment_size", "max_packet",
        "keep_alive", "signature_authentication",
    ];

    /// <summary>Returns <paramref name="baseline"/> with every key set in <c>charon { }</c> applied.</summary>
    public static EngineSettings Apply(SettingsSection root, EngineSettings baseline)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(baseline);
        if (root.Section("charon") is not { } charon)
        {
            return baseline;
        }

        return baseline with
        {
            DosProtection = SettingsBool.Read(charon, "dos_protection", baseline.DosProtection, "charon.dos_protection"),
            CookieThreshold = Count(charon, "cookie_threshold", baseline.CookieThreshold),
            CookieThresholdIp = Count(charon, "cookie_threshold_ip", baseline.CookieThresholdIp),
            BlockThreshold = Count(charon, "block_threshold", baseline.BlockThreshold),
            InitLimitHalfOpen = Count(charon, "init_limit_half_open", baseline.InitLimitHalfOpen),
            HalfOpenTimeout = Seconds(charon, "half_open_timeout", baseline.HalfOpenTimeout),
            RetransmitTimeout = Seconds(charon, "retransmit_timeout", baseline.RetransmitTimeout),
            RetransmitBase = Number(charon, "retransmit_base", baseline.RetransmitBase),
            RetransmitTries = Count(charon, "retransmit_tries", baseline.RetransmitTries),
            FragmentSize = Count(charon, "fragment_size", baseline.FragmentSize),
            MaxPacket = Count(charon, "max_packet", baseline.MaxPacket),
            KeepAliveInterval = Seconds(charon, "keep_alive", baseline.KeepAliveInterval),
            SignatureAuthentication = SettingsBool.Read(charon, "signature_authentication", baseline.SignatureAuthentication, "charon.signature_authentication"),
        };
    }

    private static int Count(SettingsSection s, string key, int fallback)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        return int.TryParse(v.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new ConfigException(v.Location, $"charon.{key} = '{v.Value}' is not a non-negative integer");
    }

    private static double Number(SettingsSection s, string key, double fallback)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        return double.TryParse(v.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && double.IsFinite(n)
            ? n
            : throw new ConfigException(v.Location, $"charon.{key} = '{v.Value}' is not a positive number");
    }

    /// <summary>strongSwan reads these as seconds (a plain number; fractions allowed for retransmit_timeout).</summary>
    private static TimeSpan Seconds(SettingsSection s, string key, TimeSpan fallback)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        return double.TryParse(v.Value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n <= TimeSpan.MaxValue.TotalSeconds / 2
            ? TimeSpan.FromSeconds(n)
            : throw new ConfigException(v.Location, $"charon.{key} = '{v.Value}' is not a number of seconds");
    }
}
