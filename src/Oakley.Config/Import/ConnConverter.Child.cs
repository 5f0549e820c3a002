using Oakley.Iana;

namespace Oakley.Config.Import;

internal static partial class ConnConverter
{
    /// <summary>The conn's child: selectors, mode, ESP proposals, actions, lifetimes and the kernel-side keywords.</summary>
    private static void Child(ConnContext ctx, SwanctlNode child, ChildLifetimes lifetimes)
    {
        Selectors(ctx, child, true);
        Selectors(ctx, child, false);
        Mode(ctx, child);
        var ah = ctx.Get("ah");
        if (ah is null && ctx.Get("phase2") is { } phase2 && phase2.Value.Equals("ah", StringComparison.OrdinalIgnoreCase))
        {
            ah = ctx.Get("phase2alg") ?? phase2;
        }

        if (ah is not null)
        {
            child.Set("ah_proposals", ah.Key == "phase2" ? "sha256" : ProposalMapper.Map(ah.Value, ProtocolId.Ah, ctx.File.IsLibreswan).Value);
            ctx.Disable(ah, "AH is not built in Oakley (ah_proposals)");
        }
        else
        {
            Proposals(ctx, child, "esp", ProtocolId.Esp, "esp_proposals");
        }

        Actions(ctx, child);
        foreach (var (key, value) in lifetimes.Entries)
        {
            child.Set(key, value);
        }

        KernelOptions(ctx, child);
        var pfs = ctx.Get("pfs");
        if (pfs is not null && !ConnContext.IsYes(pfs) && child.Get("esp_proposals") is { } esp && esp.Contains("modp", StringComparison.Ordinal))
        {
            ctx.Note(pfs, "pfs=no, yet phase2alg names a DH group: the group (PFS) is kept");
        }
        else if (pfs is not null && ConnContext.IsYes(pfs) && ctx.File.IsLibreswan && child.Get("esp_proposals") is null)
        {
            ctx.Note(pfs, "Libreswan's PFS uses the IKE SA's group; swanctl needs the group in esp_proposals (e.g. aes256-sha256-modp2048): not converted");
        }
    }

    /// <summary><c>leftsubnet</c> (a list, each with an optional <c>[proto/port]</c>) plus <c>leftprotoport</c>.</summary>
    private static void Selectors(ConnContext ctx, SwanctlNode child, bool local)
    {
        var subnet = ctx.Side(local, "subnet") ?? ctx.Side(local, "subnets") ?? ctx.Side(local, "subnetwithin");
        var protoport = ctx.Side(local, "protoport");
        var selectors = subnet is null ? ["dynamic"] : List(subnet.Value).ToList();
        if (subnet is not null && selectors.Any(s => s.StartsWith("vhost:", StringComparison.Ordinal) || s.StartsWith("vnet:", StringComparison.Ordinal) || s.StartsWith('%')))
        {
            ctx.Note(subnet, "virtual (vhost:/vnet:/%priv) subnets have no swanctl.conf equivalent: dynamic is written");
            selectors = ["dynamic"];
        }

        if (protoport is not null)
        {
            var suffix = ProtoPort(protoport.Value);
            selectors = selectors.Select(s => s.Contains('[', StringComparison.Ordinal) ? s : s + suffix).ToList();
            if (selectors.Any(s => s.StartsWith("dynamic[", StringComparison.Ordinal)))
            {
                // Oakley reads dynamic without a [proto/port] only: with a fixed address, the host's own /32 means the same.
                var host = ctx.Conn[local ? ctx.LocalPrefix : ctx.RemotePrefix]?.Value;
                if (host is not null && System.Net.IPAddress.TryParse(host, out var address))
                {
                    var bits = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
                    selectors = selectors.Select(s => s.Replace("dynamic[", $"{host}/{bits}[", StringComparison.Ordinal)).ToList();
                }
                else
                {
                    ctx.Disable(protoport, "dynamic[proto/port] (a protocol/port on a side without a fixed address) is not read by Oakley yet");
                }
            }
        }

        if (selectors is not ["dynamic"])
        {
            var key = local ? "local_ts" : "remote_ts";
            if (ctx.DisabledReason is null)
            {
                ImportChecks.Selectors(ctx, subnet ?? protoport!, key, string.Join(",", selectors));
            }

            child.Set(key, string.Join(", ", selectors));
        }
    }

    /// <summary><c>tcp/80</c>, <c>17/1701</c>, <c>udp/%any</c>, <c>tcp</c> → <c>[tcp/80]</c>, <c>[17/1701]</c>, <c>[udp]</c>, <c>[tcp]</c>.</summary>
    internal static string ProtoPort(string value)
    {
        var parts = value.Split('/', 2, StringSplitOptions.TrimEntries);
        var proto = parts[0].ToLowerInvariant();
        if (parts.Length == 1 || parts[1] is "%any" or "0" or "")
        {
            return $"[{proto}]";
        }

        return $"[{proto}/{parts[1].ToLowerInvariant()}]";
    }

    private static void Mode(ConnContext ctx, SwanctlNode child)
    {
        if (ctx.Get("type") is not { } type)
        {
            return;
        }

        switch (type.Value.ToLowerInvariant())
        {
            case "tunnel":
                return;
            case "transport":
                child.Set("mode", "transport");
                return;
            case "pass" or "passthrough":
                child.Set("mode", "pass");
                ctx.Disable(type, "bypass policies (mode = pass) are not built in Oakley");
                return;
            case "drop" or "reject":
                child.Set("mode", "drop");
                ctx.Disable(type, "drop policies (mode = drop) are not built in Oakley");
                return;
            case "transport_proxy":
                child.Set("mode", "transport_proxy");
                ctx.Disable(type, "transport_proxy mode is not built in Oakley");
                return;
            default:
                ctx.Note(type, "not a known type: tunnel (the default) is written");
                return;
        }
    }

    /// <summary><c>auto</c> → <c>start_action</c>, <c>dpdaction</c> → <c>dpd_action</c>, <c>closeaction</c> → <c>close_action</c>.</summary>
    private static void Actions(ConnContext ctx, SwanctlNode child)
    {
        var auto = ctx.Get("auto")?.Value.ToLowerInvariant();
        var start = auto switch { "start" or "up" or "keep" => "start", "route" or "ondemand" => "trap", _ => null };
        if (start is not null)
        {
            child.Set("start_action", start);
        }

        if (auto == "keep")
        {
            ctx.Note(ctx.Conn["auto"]!, "Libreswan's keep (re-establish after the peer deletes) is start_action = start with close_action = start");
            child.Set("close_action", "start");
        }

        var dpd = ctx.Conn["dpdaction"]?.Value.ToLowerInvariant() ?? (ctx.File.IsLibreswan && ctx.Conn["dpddelay"] is not null ? "hold" : null);
        var dpdAction = dpd switch { "restart" => "restart", "hold" => "trap", "clear" => "clear", _ => null };
        if (dpdAction is not null and not "clear")
        {
            child.Set("dpd_action", dpdAction);
        }

        if (ctx.Get("closeaction") is { } close)
        {
            var action = close.Value.ToLowerInvariant() switch { "restart" => "start", "hold" => "trap", "clear" or "none" => null, _ => "?" };
            if (action == "?")
            {
                ctx.Note(close, "not a known closeaction: not converted");
            }
            else if (action is not null)
            {
                child.Set("close_action", action);
            }
        }
    }

    /// <summary>Keywords of the kernel policy and SA that swanctl has and Oakley's own data plane does not (or ignores).</summary>
    private static void KernelOptions(ConnContext ctx, SwanctlNode child)
    {
        if (ctx.Get("compress") is { } compress && ConnContext.IsYes(compress))
        {
            Refuse(ctx, child, compress, "ipcomp", "yes", "IPComp is not built in Oakley; without it the SA is negotiated uncompressed");
        }

        foreach (var (from, to) in new[] { ("mark", "mark_in"), ("mark_in", "mark_in"), ("mark_out", "mark_out") })
        {
            if (ctx.Get(from) is { } mark)
            {
                Refuse(ctx, child, mark, to, mark.Value, "netfilter marks are not applied by Oakley's data plane");
                if (from == "mark")
                {
                    child.Set("mark_out", mark.Value, commented: true);
                }
            }
        }

        if (ctx.Side(true, "updown") is { } updown)
        {
            Refuse(ctx, child, updown, "updown", updown.Value, "updown scripts are not run by Oakley (routes come from its TUN device; add firewall rules yourself)");
        }

        if (ctx.Side(true, "firewall") is { } firewall && ConnContext.IsYes(firewall))
        {
            Refuse(ctx, child, firewall, "updown", "/usr/lib/ipsec/_updown iptables", "leftfirewall=yes is strongSwan's updown script with iptables, which Oakley does not run");
        }

        if (ctx.Side(true, "hostaccess") is { } hostaccess && ConnContext.IsYes(hostaccess))
        {
            Refuse(ctx, child, hostaccess, "hostaccess", "yes", "it qualifies updown only");
        }

        if (ctx.Get("reqid") is { } reqid)
        {
            Refuse(ctx, child, reqid, "reqid", reqid.Value, "kernel XFRM request IDs do not exist in Oakley's data plane");
        }

        if (ctx.GetAny("installpolicy") is { } policy && !ConnContext.IsYes(policy, true))
        {
            Refuse(ctx, child, policy, "policies", "no", "CHILD SAs without policies are not built in Oakley");
        }

        if (ctx.GetAny("sha256_96", "sha2-truncbug") is { } truncated && ConnContext.IsYes(truncated))
        {
            Refuse(ctx, child, truncated, "sha256_96", "yes", "truncated HMAC-SHA-256 (96 bits) is not built in Oakley");
        }

        if (ctx.Get("tfc") is { } tfc)
        {
            Refuse(ctx, child, tfc, "tfc_padding", tfc.Value, "TFC padding is not built in Oakley");
        }

        if (ctx.GetAny("replay_window", "replay-window") is { } replay)
        {
            child.Set("replay_window", replay.Value);
        }

        if (ctx.Get("inactivity") is { } inactivity)
        {
            child.Set("inactivity", FormatSeconds(ParseSeconds(ctx, inactivity, 0)));
        }
    }

    private static void Refuse(ConnContext ctx, SwanctlNode child, IpsecSetting setting, string key, string value, string why)
    {
        child.Set(key, value, commented: true);
        ctx.Note(setting, $"{key} = {value} is written commented out: {why}");
    }
}
