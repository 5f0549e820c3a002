using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using Oakley.Engine.Pools;

namespace Oakley.Config;

/// <summary>
/// Loads <c>pools { &lt;name&gt; { addrs, dns, nbns, subnet, split_include, split_exclude } }</c> into
/// <see cref="PoolConfig"/>s, and a connection's <c>vips</c> and <c>pools</c>. <c>addrs</c> follows strongSwan's
/// mem_pool: a range <c>from-to</c> hands out every address of it; a CIDR whose address is the network ID leaves out
/// the network ID and the last address; a CIDR with another address (<c>10.1.0.5/24</c>) starts there, keeps the
/// addresses below it for manual use, and leaves out the last address. Errors carry file:line.
/// </summary>
internal static class SwanctlPools
{
    /// <summary>strongSwan's eap-radius provider: <c>pools = radius</c> takes the client's Framed-IP-Address.</summary>
    public const string Radius = "radius";

    /// <summary>strongSwan's dhcp plugin: <c>pools = dhcp</c> (not built).</summary>
    public const string Dhcp = "dhcp";

    public static List<PoolConfig> Load(SettingsSection? pools)
    {
        var result = new List<PoolConfig>();
        foreach (var pool in pools?.Sections ?? [])
        {
            var path = $"pools.{pool.Name}";
            result.Add(new PoolConfig
            {
                Name = pool.Name,
                Addresses = pool.Value("addrs") is { } addrs ? Addrs(addrs, path) : null,
                Dns = AddressList(pool.Value("dns"), path, ipv4Only: false),
                Nbns = AddressList(pool.Value("nbns"), path, ipv4Only: true),
                Subnets = Networks(pool.Value("subnet"), path),
                SplitInclude = Networks(pool.Value("split_include"), path),
                SplitExclude = Networks(pool.Value("split_exclude"), path),
            });
        }

        return result;
    }

    /// <summary>A connection's <c>vips</c>: the addresses we ask for (<c>0.0.0.0</c> and <c>::</c>: any of that family).</summary>
    public static List<IPAddress> Vips(SettingsSection conn)
    {
        if (conn.Value("vips") is not { } v)
        {
            return [];
        }

        var list = new List<IPAddress>();
        foreach (var part in Parts(v))
        {
            if (!TryAddress(part, out var a))
            {
                throw new ConfigException(v.Location, $"'{part}' in connections.{conn.Name}.vips is not an IP address (0.0.0.0 and :: ask for any address)");
            }

            list.Add(a);
        }

        return list;
    }

    /// <summary>A connection's <c>pools</c>: each a section of <c>pools</c>, or <c>radius</c> (the validator refused <c>dhcp</c>).</summary>
    public static List<string> References(SettingsSection conn, IReadOnlyList<PoolConfig> pools)
    {
        if (conn.Value("pools") is not { } v)
        {
            return [];
        }

        var names = Parts(v).ToList();
        foreach (var name in names.Where(n => n != Radius && !pools.Any(p => p.Name == n)))
        {
            var hint = DidYouMean.Hint(name, pools.Select(p => p.Name));
            throw new ConfigException(v.Location, $"connections.{conn.Name}.pools: no pool '{name}' is defined in the pools section{hint}");
        }

        return names;
    }

    /// <summary>
    /// <c>addrs</c> as <see cref="AddressPool.Parse"/> reads it: a network-ID CIDR as it is, a range as it is, another
    /// CIDR as the range strongSwan serves from it. An empty pool (e.g. <c>10.1.0.255/24</c>) is an error.
    /// </summary>
    internal static string Addrs(SettingsValue v, string path)
    {
        var text = v.Value.Trim();
        string normalized;
        if (text.Split('-') is [var from, var to])
        {
            var first = Address(v, path, from.Trim());
            var last = Address(v, path, to.Trim());
            if (first.AddressFamily != last.AddressFamily)
            {
                throw new ConfigException(v.Location, $"{path}.addrs: '{text}' mixes IPv4 and IPv6");
            }

            if (Number(last) < Number(first))
            {
                throw new ConfigException(v.Location, $"{path}.addrs: '{text}' is empty (the first address is above the last)");
            }

            normalized = $"{first}-{last}";
        }
        else
        {
            normalized = FromCidr(v, path, text);
        }

        try
        {
            _ = AddressPool.Parse("check", normalized); // the engine reads the same text at start and on every reload
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new ConfigException(v.Location, $"{path}.addrs: '{text}' is not a CIDR subnet or an address range");
        }

        return normalized;
    }

    private static string FromCidr(SettingsValue v, string path, string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            throw new ConfigException(v.Location, $"{path}.addrs: '{text}' is not a CIDR subnet or an address range (e.g. 10.3.0.0/16 or 10.3.0.1-10.3.0.99)");
        }

        var address = Address(v, path, text[..slash]);
        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > bits)
        {
            throw new ConfigException(v.Location, $"{path}.addrs: '{text}' has an invalid prefix length (0 to {bits})");
        }

        var hostBits = bits - prefix;
        var size = BigInteger.One << hostBits;
        var n = Number(address);
        var diff = n & (size - 1); // how far the address is above the network ID
        if (diff == 0)
        {
            return $"{address}/{prefix}";
        }

        // strongSwan's mem_pool: from the given address up to, without, the last address of the subnet (a /31 gives one).
        var last = n - diff + size - (size > 2 ? 2 : 1);
        if (last < n)
        {
            throw new ConfigException(v.Location, $"{path}.addrs: '{text}' is empty (no address above {address} in the subnet but its last one)");
        }

        return $"{address}-{FromNumber(last, bits / 8)}";
    }

    private static List<IPAddress> AddressList(SettingsValue? v, string path, bool ipv4Only)
    {
        var list = new List<IPAddress>();
        foreach (var part in v is null ? [] : Parts(v))
        {
            var a = Address(v!, path, part);
            if (ipv4Only && a.AddressFamily != AddressFamily.InterNetwork)
            {
                // RFC 7296 §3.15.1 defines INTERNAL_IP4_NBNS only.
                throw new ConfigException(v!.Location, $"{path}.{v!.Key}: '{part}' is IPv6; NBNS servers are IPv4 only (INTERNAL_IP4_NBNS)");
            }

            list.Add(a);
        }

        return list;
    }

    /// <summary>Subnets in CIDR notation; a bare address is a host route (/32, /128).</summary>
    private static List<IPNetwork> Networks(SettingsValue? v, string path)
    {
        var list = new List<IPNetwork>();
        foreach (var part in v is null ? [] : Parts(v))
        {
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            var address = Address(v!, path, slash < 0 ? part : part[..slash]);
            var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            var prefix = bits;
            if (slash >= 0 && (!int.TryParse(part[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bits))
            {
                throw new ConfigException(v!.Location, $"{path}.{v!.Key}: '{part}' has an invalid prefix length (0 to {bits})");
            }

            if ((Number(address) & ((BigInteger.One << (bits - prefix)) - 1)) != 0)
            {
                throw new ConfigException(v!.Location, $"{path}.{v!.Key}: '{part}' is not a network address (bits are set after the prefix)");
            }

            list.Add(new IPNetwork(address, prefix));
        }

        return list;
    }

    private static IPAddress Address(SettingsValue v, string path, string text) =>
        TryAddress(text, out var a) ? a : throw new ConfigException(v.Location, $"{path}.{v.Key}: '{text}' is not an IP address");

    /// <summary>A literal address; IPAddress.TryParse alone would take "10.1" as 10.0.0.1 and "5" as 0.0.0.5.</summary>
    private static bool TryAddress(string text, out IPAddress address) =>
        IPAddress.TryParse(text, out address!) && !text.Contains('/', StringComparison.Ordinal)
        && (address.AddressFamily == AddressFamily.InterNetworkV6 ? text.Contains(':', StringComparison.Ordinal) : text.Count(c => c == '.') == 3);

    private static IEnumerable<string> Parts(SettingsValue v) => v.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static BigInteger Number(IPAddress a) => new(a.GetAddressBytes(), isUnsigned: true, isBigEndian: true);

    private static IPAddress FromNumber(BigInteger n, int length)
    {
        var bytes = new byte[length];
        n.TryWriteBytes(bytes.AsSpan(length - n.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return new IPAddress(bytes);
    }
}
