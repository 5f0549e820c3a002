using System.Net;

namespace Oakley.Config;

/// <summary>
/// strongSwan's ipseckey plugin settings in a strongswan.conf: <c>charon.plugins.ipseckey.enable</c> turns on public
/// keys from DNS (IPSECKEY records, RFC 4025) for peers that send no certificate, and the resolvers are the
/// <c>nameserver</c> lines of <c>charon.plugins.unbound.resolv_conf</c> (default /etc/resolv.conf). strongSwan validates
/// DNSSEC itself with libunbound; Oakley asks those resolvers with the DO bit and accepts only answers they mark
/// authenticated (AD), so they must be validating resolvers the host trusts (a local unbound, for example).
/// </summary>
public sealed record IpsecKeySettings(bool Enable, IReadOnlyList<IPEndPoint> Resolvers)
{
    public static IpsecKeySettings Off { get; } = new(false, []);

    public static IpsecKeySettings Read(SettingsSection root, Func<string, string?> readFile)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(readFile);
        var plugins = root.Section("charon")?.Section("plugins");
        var ipseckey = plugins?.Section("ipseckey");
        if (ipseckey is null || !SettingsBool.Read(ipseckey, "enable", false, "charon.plugins.ipseckey.enable"))
        {
            return Off;
        }

        var resolv = plugins!.Section("unbound")?.Value("resolv_conf");
        var path = resolv?.Value ?? "/etc/resolv.conf";
        var text = readFile(path);
        var at = resolv?.Location ?? ipseckey.Location;
        if (text is null)
        {
            throw new ConfigException(at, $"charon.plugins.ipseckey.enable = yes, but the resolver file {path} cannot be read");
        }

        var resolvers = new List<IPEndPoint>();
        foreach (var line in text.Split('\n'))
        {
            var parts = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["nameserver", var address, ..] && IPAddress.TryParse(address, out var ip))
            {
                resolvers.Add(new IPEndPoint(ip, 53));
            }
        }

        return resolvers.Count > 0 ? new IpsecKeySettings(true, resolvers)
            : throw new ConfigException(at, $"charon.plugins.ipseckey.enable = yes, but {path} names no nameserver");
    }
}
