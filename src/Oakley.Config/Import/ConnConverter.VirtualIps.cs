using System.Net;

namespace Oakley.Config.Import;

internal static partial class ConnConverter
{
    private static readonly string[] ConfigValues = ["%config", "%config4", "%config6", "%cfg", "%modecfg", "%modeconfig"];

    /// <summary>
    /// <c>leftsourceip=%config</c> (the client asks for a virtual IP) becomes <c>vips</c>; <c>rightsourceip</c> with
    /// addresses (and Libreswan's <c>rightaddresspool</c>) becomes a <c>pools</c> section the connection names, which
    /// also carries <c>rightdns</c> / <c>modecfgdns</c>: swanctl serves attributes from pools.
    /// </summary>
    private static void VirtualIps(ConnContext ctx, SwanctlNode node, List<SwanctlNode> pools)
    {
        var remoteV6 = ctx.Conn[ctx.RemotePrefix] is { } r && IPAddress.TryParse(r.Value, out var ra) && ra.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var vips = new List<string>();
        if (ctx.Side(true, "sourceip") is { } own)
        {
            foreach (var value in List(own.Value))
            {
                if (ConfigValues.Contains(value.ToLowerInvariant()))
                {
                    vips.Add(value.EndsWith('6') || (remoteV6 && !value.EndsWith('4')) ? "::" : "0.0.0.0");
                }
                else
                {
                    ctx.Note(own, $"'{value}' is a fixed source address of this host, which swanctl.conf has no keyword for (vips asks the peer for an address): not converted");
                }
            }
        }

        if (ConnContext.IsYes(ctx.Side(true, "modecfgclient")) && vips.Count == 0)
        {
            vips.Add(remoteV6 ? "::" : "0.0.0.0");
        }

        if (vips.Count > 0)
        {
            node.Set("vips", string.Join(", ", vips.Distinct()));
        }

        var names = new List<string>();
        var refused = false;
        var served = ctx.Side(false, "sourceip") ?? ctx.Side(false, "addresspool");
        foreach (var value in served is null ? [] : List(served.Value))
        {
            var lower = value.ToLowerInvariant();
            if (ConfigValues.Contains(lower))
            {
                ctx.Note(served!, "the peer's address comes from elsewhere (an attribute plugin): name its pool in this connection's pools");
            }
            else if (lower == "%radius")
            {
                names.Add("radius");
            }
            else if (lower == "%dhcp" || value.StartsWith('%'))
            {
                var name = lower == "%dhcp" ? "dhcp" : value[1..];
                names.Add(name);
                refused = true;
                ctx.Note(served!, lower == "%dhcp"
                    ? "pools = dhcp (strongSwan's dhcp plugin) is refused by Oakley: written commented out"
                    : $"pool '{name}' is defined outside ipsec.conf (attr-sql): define pools.{name} and uncomment the connection's pools");
            }
            else
            {
                var pool = new SwanctlNode(pools.Count == 0 ? $"{ctx.Name}-pool" : $"{ctx.Name}-pool{pools.Count + 1}");
                pool.Set("addrs", value.Contains('-', StringComparison.Ordinal) || value.Contains('/', StringComparison.Ordinal) ? value : $"{value}-{value}");
                ImportChecks.Pool(ctx, served!, pool);
                pools.Add(pool);
                names.Add(pool.Name);
            }
        }

        Dns(ctx, pools);
        names.AddRange(pools.Select(p => p.Name).Except(names));
        if (names.Count > 0)
        {
            node.Set("pools", string.Join(", ", names), refused);
        }
    }

    private static void Dns(ConnContext ctx, List<SwanctlNode> pools)
    {
        var dns = ctx.Side(false, "dns");
        var libreswanDns = ctx.Get("modecfgdns") ?? ctx.Get("modecfgdns1");
        ctx.MarkUsed("modecfgdns2");
        var servers = new List<string>();
        foreach (var setting in new[] { dns, libreswanDns, ctx.Conn["modecfgdns2"] })
        {
            foreach (var server in setting is null ? [] : List(setting.Value))
            {
                if (IPAddress.TryParse(server, out _))
                {
                    servers.Add(server);
                }
                else
                {
                    ctx.Note(setting!, $"'{server}' is not a DNS server address (%config asks for one, which swanctl does without a keyword): left out");
                }
            }
        }

        if (servers.Count > 0)
        {
            if (pools.Count == 0)
            {
                pools.Add(new SwanctlNode($"{ctx.Name}-pool"));
            }

            pools[0].Set("dns", string.Join(", ", servers.Distinct()));
            ImportChecks.Pool(ctx, dns ?? libreswanDns ?? ctx.Conn["modecfgdns2"]!, pools[0]);
        }

        if (ctx.Side(true, "dns") is { } own)
        {
            ctx.Note(own, "the DNS servers a client asks for need no keyword in swanctl.conf (what the gateway assigns is used): not converted");
        }
    }

    private static IEnumerable<string> List(string value) =>
        value.Trim('{', '}').Split([',', ' '], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
