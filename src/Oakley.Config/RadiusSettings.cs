using System.Globalization;
using System.Text;

namespace Oakley.Config;

/// <summary>
/// One RADIUS server of <c>charon.plugins.eap-radius</c>. <see cref="ToString"/> leaves the secret out: this
/// record may be logged.
/// </summary>
public sealed record RadiusServerSettings(string Name, string Address, byte[] Secret, int AuthPort, int AcctPort, string NasIdentifier,
    int Preference, int RetransmitTries, double RetransmitTimeout, double RetransmitBase)
{
    public override string ToString() => $"{Name} ({Address}, auth {AuthPort}, acct {AcctPort}, preference {Preference})";
}

/// <summary>
/// strongSwan's eap-radius plugin settings in a strongswan.conf (<c>charon.plugins.eap-radius</c>): the servers
/// (the legacy <c>server</c>/<c>secret</c>/<c>port</c> keys win over a <c>servers { }</c> section, as in
/// strongSwan), <c>eap_start</c>, <c>accounting</c> and <c>accounting_interval</c>. Per-server keys fall back to the
/// plugin-wide ones. Bad values are <see cref="ConfigException"/>s with file:line; keys Oakley does not act on are
/// <see cref="Warnings"/>.
/// </summary>
public sealed record RadiusSettings(IReadOnlyList<RadiusServerSettings> Servers, bool EapStart, bool Accounting, TimeSpan AccountingInterval,
    IReadOnlyList<ConfigWarning> Warnings)
{
    private const string Prefix = "charon.plugins.eap-radius";

    /// <summary>strongSwan's keys that Oakley reads but does not act on: a warning each when set.</summary>
    private static readonly string[] Ignored = ["class_group", "filter_id", "source", "sockets", "id_prefix", "dae", "forward", "xauth", "accounting_requires_vip", "accounting_send_class", "accounting_close_on_timeout", "station_id_with_port"];

    public static RadiusSettings None { get; } = new([], false, false, TimeSpan.Zero, []);

    /// <summary>Whether any server is configured (eap-radius connections need one).</summary>
    public bool Enabled => Servers.Count > 0;

    public override string ToString() => $"{Servers.Count} RADIUS server(s), eap_start {EapStart}, accounting {Accounting}";

    public static RadiusSettings Read(SettingsSection root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (root.Section("charon")?.Section("plugins")?.Section("eap-radius") is not { } section)
        {
            return None;
        }

        var warnings = new List<ConfigWarning>();
        foreach (var key in Ignored)
        {
            if (section.Value(key) is { } v)
            {
                warnings.Add(new ConfigWarning(v.Location, $"{Prefix}.{key} is not supported by Oakley and is ignored"));
            }
            else if (section.Section(key) is { } s)
            {
                warnings.Add(new ConfigWarning(s.Location, $"{Prefix}.{key} is not supported by Oakley and is ignored"));
            }
        }

        var servers = new List<RadiusServerSettings>();
        if (section.Value("server") is { } legacy)
        {
            var secret = section.Value("secret") ?? throw new ConfigException(legacy.Location, $"{Prefix}.server is set but {Prefix}.secret is not");
            servers.Add(Server(legacy.Value.Trim(), legacy.Value.Trim(), secret, section, null));
        }
        else if (section.Section("servers") is { } list)
        {
            foreach (var s in list.Sections)
            {
                var address = s.Value("address") ?? throw new ConfigException(s.Location, $"{Prefix}.servers.{s.Name} has no address");
                var secret = s.Value("secret") ?? throw new ConfigException(s.Location, $"{Prefix}.servers.{s.Name} has no secret");
                servers.Add(Server(s.Name, address.Value.Trim(), secret, section, s));
            }
        }

        var accounting = SettingsBool.Read(section, "accounting", false, $"{Prefix}.accounting");
        var interval = Seconds(section, "accounting_interval", TimeSpan.Zero);
        return new RadiusSettings(servers, SettingsBool.Read(section, "eap_start", false, $"{Prefix}.eap_start"), accounting, interval, warnings);
    }

    private static RadiusServerSettings Server(string name, string address, SettingsValue secret, SettingsSection plugin, SettingsSection? server)
    {
        if (address.Length == 0)
        {
            throw new ConfigException(secret.Location, $"{Prefix}: RADIUS server '{name}' has an empty address");
        }

        if (secret.Value.Length == 0)
        {
            throw new ConfigException(secret.Location, $"{Prefix}: RADIUS server '{name}' has an empty secret");
        }

        // strongSwan: servers.<name>.auth_port, then servers.<name>.port, then the plugin's port, then 1812.
        var authPort = Port(server, "auth_port", null) ?? Port(server, "port", null) ?? Port(plugin, "port", null) ?? 1812;
        var acctPort = Port(server, "acct_port", null) ?? 1813;
        var nas = (server?.Value("nas_identifier") ?? plugin.Value("nas_identifier"))?.Value ?? "strongSwan";
        var preference = server is null ? 0 : Integer(server, "preference", 0, int.MinValue, $"{Prefix}.servers.{name}.preference");
        var tries = Integer(server?.Value("retransmit_tries") is null ? plugin : server!, "retransmit_tries", 4, 1, Name(server, "retransmit_tries"));
        var timeout = Number(server?.Value("retransmit_timeout") is null ? plugin : server!, "retransmit_timeout", 2, Name(server, "retransmit_timeout"));
        var @base = Number(server?.Value("retransmit_base") is null ? plugin : server!, "retransmit_base", 1.4, Name(server, "retransmit_base"));
        if (@base < 1)
        {
            var at = (server?.Value("retransmit_base") ?? plugin.Value("retransmit_base"))!.Location;
            throw new ConfigException(at, $"{Name(server, "retransmit_base")} must be at least 1 (each retransmission waits at least as long as the one before)");
        }

        return new RadiusServerSettings(name, address, Encoding.UTF8.GetBytes(secret.Value), authPort, acctPort, nas, preference, tries, timeout, @base);
    }

    private static string Name(SettingsSection? server, string key) => server is null ? $"{Prefix}.{key}" : $"{Prefix}.servers.{server.Name}.{key}";

    private static int? Port(SettingsSection? s, string key, int? fallback)
    {
        if (s?.Value(key) is not { } v)
        {
            return fallback;
        }

        return int.TryParse(v.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 65535
            ? n
            : throw new ConfigException(v.Location, $"{Name(s.Name == "eap-radius" ? null : s, key)} = '{v.Value}' is not a port (1..65535)");
    }

    private static int Integer(SettingsSection s, string key, int fallback, int min, string name)
    {
        if (s.Value(key) is not { } v)
        {
            return fallback;
        }

        return int.TryParse(v.Value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= 1000
            ? n
            : throw new ConfigException(v.Location, min == 1 ? $"{name} = '{v.Value}' is not a count from 1 to 1000" : $"{name} = '{v.Value}' is not an integer up to 1000");
    }

    private static double Number(SettingsSection s, string key, double fallback, string name)
    {
        if (s.Value(key) is not { } v)
        {
            return fallback;
        }

        return double.TryParse(v.Value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= 3600
            ? n
            : throw new ConfigException(v.Location, $"{name} = '{v.Value}' is not a positive number of seconds (at most 3600)");
    }

    private static TimeSpan Seconds(SettingsSection s, string key, TimeSpan fallback)
    {
        if (s.Value(key) is not { } v)
        {
            return fallback;
        }

        return int.TryParse(v.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? TimeSpan.FromSeconds(n)
            : throw new ConfigException(v.Location, $"{Prefix}.{key} = '{v.Value}' is not a whole number of seconds");
    }
}
