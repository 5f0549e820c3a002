using System.Net;
using Oakley.Iana;

namespace Oakley.Config.Import;

/// <summary>
/// Converts one resolved ipsec.conf conn into a swanctl.conf connection with one child of the same name, as
/// strongSwan's own migration guide maps the keywords (connection-level keywords here, authentication in
/// <c>ConnConverter.Auth.cs</c>, the child in <c>ConnConverter.Child.cs</c>, lifetimes in
/// <c>ConnConverter.Lifetimes.cs</c>). What has no equivalent, or one Oakley does not load, becomes a note; a value
/// only strongSwan loads is written commented out next to where it belongs.
/// </summary>
internal static partial class ConnConverter
{
    /// <summary>The connection's section, and the pools it defines (virtual IPs served to the peer).</summary>
    public static (SwanctlNode Connection, List<SwanctlNode> Pools) Convert(ConnContext ctx, IReadOnlyList<IpsecSetting> setup)
    {
        var node = new SwanctlNode(ctx.Name);
        if (ctx.Name != ctx.Conn.Name)
        {
            ctx.NoteConn($"renamed to '{ctx.Name}' (swanctl.conf section names hold letters, digits, '-' and '_' only)");
        }

        var pools = new List<SwanctlNode>();
        Version(ctx, node);
        Addresses(ctx, node);
        Proposals(ctx, node, "ike", ProtocolId.Ike, "proposals");
        VirtualIps(ctx, node, pools);
        Dpd(ctx, node);
        IkeOptions(ctx, node, setup);
        Lifetimes(ctx, node, out var childLifetimes);
        Auth(ctx, node, setup);
        Child(ctx, node.Section("children").Section(ctx.Name), childLifetimes);
        PubkeyWithoutCredential(ctx, node);
        KnownWithoutEquivalent(ctx);
        foreach (var unused in ctx.Unused)
        {
            ctx.Note(unused, "not converted (a keyword this converter does not know)");
        }

        node.CommentedOut = ctx.DisabledReason is not null;
        foreach (var pool in pools)
        {
            pool.CommentedOut = node.CommentedOut;
        }

        return (node, pools);
    }

    private static void Version(ConnContext ctx, SwanctlNode node)
    {
        var keyexchange = ctx.Get("keyexchange");
        var ikev2 = ctx.Get("ikev2");
        ctx.Version = keyexchange?.Value.ToLowerInvariant() switch
        {
            "ikev1" => 1,
            "ikev2" => 2,
            "ike" or null => 0,
            _ => -1,
        };
        if (ctx.Version < 0)
        {
            ctx.Note(keyexchange!, "not ike, ikev1 or ikev2; IKEv2 is written");
            ctx.Version = 2;
        }

        if (keyexchange is null && ikev2 is not null)
        {
            // Libreswan: ikev2=insist|yes (IKEv2 only), no|never (IKEv1 only), permit|propose (both).
            ctx.Version = ikev2.Value.ToLowerInvariant() switch
            {
                "insist" or "yes" => 2,
                "no" or "never" => 1,
                _ => 0,
            };
        }
        else if (keyexchange is null && ctx.File.IsLibreswan)
        {
            ctx.Version = 2; // Libreswan 4 and later speak IKEv2 unless told otherwise
            ctx.NoteConn("no keyexchange= or ikev2=: version = 2 is written (Libreswan 4 and later default to IKEv2; Libreswan 3 initiated with IKEv1, which Oakley does not speak)");
        }

        if (ctx.Version == 1)
        {
            ctx.Disable(keyexchange ?? ikev2, "IKEv1: Oakley does not speak IKEv1 (version = 1)");
        }

        if (ctx.Version != 0)
        {
            node.Set("version", ctx.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static void Addresses(ConnContext ctx, SwanctlNode node)
    {
        foreach (var local in new[] { true, false })
        {
            var side = ctx.Side(local, string.Empty);
            var key = local ? "local_addrs" : "remote_addrs";
            if (side is null || side.Value.Length == 0)
            {
                if (local && ctx.Conn[ctx.RemotePrefix] is null)
                {
                    ctx.NoteConn("neither left nor right is set");
                }

                continue;
            }

            var value = side.Value;
            var lower = value.ToLowerInvariant();
            if (lower is "%defaultroute" or "%any" or "%defaultroute6")
            {
                // swanctl's default (%any): as initiator the source address is the route's, as starter's %defaultroute.
                continue;
            }

            if (lower is "%any4" or "%any6")
            {
                ctx.Note(side, "the address family restriction is not carried over (Oakley reads %any only)");
                continue;
            }

            if (lower.StartsWith("%group", StringComparison.Ordinal) || lower.StartsWith("%opportunistic", StringComparison.Ordinal) || lower == "%oppo")
            {
                ctx.Disable(side, "opportunistic encryption groups have no swanctl.conf equivalent");
                continue;
            }

            var addresses = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(a => a.TrimStart('%')).ToList();
            if (addresses.All(a => IPAddress.TryParse(a, out _)))
            {
                node.Set(key, string.Join(", ", addresses));
                continue;
            }

            node.Set(key, string.Join(", ", addresses), commented: true);
            ctx.Note(side, $"{key}: host names (and ranges) are loaded by strongSwan, not yet by Oakley: written commented out; put the address in");
        }

        if (ctx.Conn[ctx.RemotePrefix] is { } remote && remote.Value.Equals("%defaultroute", StringComparison.OrdinalIgnoreCase)
            && ctx.Conn[ctx.LocalPrefix] is { } localSide && IPAddress.TryParse(localSide.Value, out _))
        {
            ctx.NoteConn($"{ctx.RemotePrefix}=%defaultroute while {ctx.LocalPrefix} is an address: this file looks written for the {ctx.RemotePrefix} side; convert it with --local {ctx.RemotePrefix}");
        }

        Port(ctx, node, ctx.Side(true, "ikeport"), "local_port");
        Port(ctx, node, ctx.Side(false, "ikeport"), "remote_port");
    }

    private static void Port(ConnContext ctx, SwanctlNode node, IpsecSetting? setting, string key)
    {
        if (setting is null)
        {
            return;
        }

        var refused = key == "local_port" && setting.Value != "500";
        node.Set(key, setting.Value, refused);
        if (refused)
        {
            ctx.Note(setting, "local_port: Oakley's IKE port is the daemon's --port for all connections: written commented out");
        }
    }

    private static void Proposals(ConnContext ctx, SwanctlNode node, string keyword, ProtocolId protocol, string key)
    {
        var setting = protocol == ProtocolId.Ike ? ctx.Get(keyword) : ctx.GetAny(keyword, "phase2alg");
        if (setting is null || setting.Value.Length == 0)
        {
            return;
        }

        var mapped = ProposalMapper.Map(setting.Value, protocol, ctx.File.IsLibreswan);
        foreach (var remark in mapped.Remarks.Where(r => !r.StartsWith("without the strict", StringComparison.Ordinal)))
        {
            ctx.Note(setting, remark);
        }

        node.Set(key, mapped.Value, mapped.OakleyRefusal is not null);
        if (mapped.OakleyRefusal is not null)
        {
            ctx.Note(setting, $"{key} = {mapped.Value} is written commented out: Oakley refuses it ({mapped.OakleyRefusal}), so its defaults apply until you choose algorithms it has");
        }
    }

    private static void Dpd(ConnContext ctx, SwanctlNode node)
    {
        var action = ctx.Get("dpdaction");
        var delay = ctx.Get("dpddelay");
        var timeout = ctx.Get("dpdtimeout");
        var mode = action?.Value.ToLowerInvariant() ?? (ctx.File.IsLibreswan && delay is not null ? "hold" : "none");
        if (mode == "none")
        {
            if (delay is not null)
            {
                ctx.Note(delay, "dpdaction=none (the default): starter runs no DPD, so no dpd_delay is written");
            }

            return;
        }

        node.Set("dpd_delay", Seconds(ctx, delay, 30));
        if (timeout is not null)
        {
            if (ctx.Version == 1)
            {
                node.Set("dpd_timeout", Seconds(ctx, timeout, 150));
            }
            else
            {
                ctx.Note(timeout, "IKEv2 declares a peer dead when its retransmissions run out (strongswan.conf charon.retransmit_*, oakley daemon --retransmit-*), not after dpdtimeout: not converted");
            }
        }
    }

    private static void IkeOptions(ConnContext ctx, SwanctlNode node, IReadOnlyList<IpsecSetting> setup)
    {
        if (ctx.Get("keyingtries") is { } tries)
        {
            node.Set("keyingtries", tries.Value.Equals("%forever", StringComparison.OrdinalIgnoreCase) ? "0" : tries.Value);
        }

        if (ctx.Get("mobike") is { } mobike)
        {
            node.Set("mobike", ConnContext.IsYes(mobike) ? "yes" : "no");
        }

        if (ctx.Get("fragmentation") is { } fragmentation)
        {
            var value = fragmentation.Value.ToLowerInvariant();
            if (value is "yes" or "no" or "accept" or "force")
            {
                node.Set("fragmentation", value);
            }
            else
            {
                ctx.Note(fragmentation, "not yes, no, accept or force: not converted");
            }
        }

        if (ctx.GetAny("forceencaps", "encapsulation") is { } encaps && ConnContext.IsYes(encaps))
        {
            node.Set("encap", "yes");
        }

        var unique = setup.LastOrDefault(s => s.Key == "uniqueids")?.Value.ToLowerInvariant() ?? "yes";
        node.Set("unique", unique switch { "yes" or "replace" => "replace", "keep" => "keep", "never" => "never", _ => "no" });
        if (ctx.Side(true, "sendcert") is { } sendcert)
        {
            node.Set("send_cert", sendcert.Value.ToLowerInvariant() switch { "always" or "yes" => "always", "never" or "no" => "never", _ => "ifasked" });
        }

        if (ctx.Get("aggressive") is { } aggressive && ConnContext.IsYes(aggressive))
        {
            ctx.Note(aggressive, "aggressive mode is IKEv1's; not converted");
        }
    }

    /// <summary>A starter time (<c>30</c>, <c>30s</c>, <c>10m</c>, <c>3h</c>, <c>1d</c>) in seconds; a bad one is noted and the default used.</summary>
    internal static long ParseSeconds(ConnContext ctx, IpsecSetting? setting, long fallback)
    {
        if (setting is null)
        {
            return fallback;
        }

        var text = setting.Value.Trim().ToLowerInvariant();
        var unit = text.Length > 0 ? text[^1] : ' ';
        var factor = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
        var digits = factor == 0 ? text : text[..^1];
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            ctx.Note(setting, $"not a time; the default ({FormatSeconds(fallback)}) is used");
            return fallback;
        }

        return number * (factor == 0 ? 1 : factor);
    }

    private static string Seconds(ConnContext ctx, IpsecSetting? setting, long fallback) => FormatSeconds(ParseSeconds(ctx, setting, fallback));

    /// <summary>Seconds in the largest unit that divides them (swanctl reads the same suffixes).</summary>
    internal static string FormatSeconds(long seconds) => seconds switch
    {
        0 => "0",
        _ when seconds % 86400 == 0 => $"{seconds / 86400}d",
        _ when seconds % 3600 == 0 => $"{seconds / 3600}h",
        _ when seconds % 60 == 0 => $"{seconds / 60}m",
        _ => $"{seconds}s",
    };
}
