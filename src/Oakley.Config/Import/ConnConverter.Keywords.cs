namespace Oakley.Config.Import;

internal static partial class ConnConverter
{
    /// <summary>Keywords starter or pluto know that have no swanctl.conf equivalent, with why (left/right ones without their prefix).</summary>
    private static readonly Dictionary<string, string> WithoutEquivalent = new(StringComparer.Ordinal)
    {
        ["nexthop"] = "not needed: the route to the peer is the host's",
        ["allowany"] = "swanctl has no fallback to %any for a configured address: list %any in the addresses yourself if you need it",
        ["narrowing"] = "strongSwan and Oakley narrow traffic selectors as responders anyway (RFC 7296 §2.9): nothing to write",
        ["ikedscp"] = "the DSCP of IKE packets (dscp) is ignored by Oakley: not converted",
        ["modeconfig"] = "Mode Config push/pull is IKEv1's: not converted",
        ["modecfgpull"] = "Mode Config push/pull is IKEv1's: not converted",
        ["xauth"] = "XAuth is IKEv1's: not converted",
        ["xauth_identity"] = "XAuth is IKEv1's: not converted",
        ["xauthserver"] = "XAuth is IKEv1's: not converted",
        ["xauthclient"] = "XAuth is IKEv1's: not converted",
        ["modecfgserver"] = "a gateway serves virtual IPs from the pools it names: nothing to write",
        ["mediation"] = "IKEv2 mediation is refused by Oakley: not converted",
        ["mediated_by"] = "IKEv2 mediation is refused by Oakley: not converted",
        ["me_peerid"] = "IKEv2 mediation is refused by Oakley: not converted",
        ["nat-keepalive"] = "NAT keepalives are global: strongswan.conf charon.keep_alive (oakley daemon --keep-alive)",
        ["ikepad"] = "IKEv1 padding: not converted",
        ["ipsec-interface"] = "XFRM interfaces are refused by Oakley (its data plane is its TUN device): not converted",
        ["vti-interface"] = "VTI devices do not exist in Oakley's data plane: not converted",
        ["vti"] = "VTI devices do not exist in Oakley's data plane: not converted",
        ["mtu"] = "the tunnel MTU is the TUN device's (oakley daemon --mtu): not converted",
        ["metric"] = "route metrics are not configurable: not converted",
        ["priority"] = "kernel policy priorities do not exist in Oakley's data plane: not converted",
        ["nic-offload"] = "hardware offload is not built in Oakley: not converted",
        ["sendca"] = "Oakley sends its certificate's intermediates when it has them: not converted",
        ["eap"] = "deprecated by starter: use rightauth=eap-…",
        ["pfsgroup"] = "deprecated by starter: put the group into esp=",
        ["phase2"] = "esp is the only choice Oakley has: nothing to write",
        ["ikev2"] = "handled with keyexchange",
        ["pfs"] = "handled with the ESP proposals",
    };

    /// <summary>Notes for the keywords of <see cref="WithoutEquivalent"/> the conn sets.</summary>
    private static void KnownWithoutEquivalent(ConnContext ctx)
    {
        foreach (var setting in ctx.Unused.ToList())
        {
            var key = setting.Key;
            var bare = key.StartsWith(ctx.LocalPrefix, StringComparison.Ordinal) ? key[ctx.LocalPrefix.Length..]
                : key.StartsWith(ctx.RemotePrefix, StringComparison.Ordinal) ? key[ctx.RemotePrefix.Length..] : key;
            if (key is "ikev2" or "pfs" or "phase2" && ctx.Conn[key] is not null)
            {
                ctx.MarkUsed(key);
                continue;
            }

            if (WithoutEquivalent.TryGetValue(key, out var why) || (bare != key && WithoutEquivalent.TryGetValue(bare, out why)))
            {
                ctx.MarkUsed(key);
                ctx.Note(setting, why);
            }
            else if (bare != key && IsSideKeywordOfTheOtherEnd(bare))
            {
                ctx.MarkUsed(key);
                ctx.Note(setting, $"describes the {(key.StartsWith(ctx.LocalPrefix, StringComparison.Ordinal) ? "local" : "remote")} end, where swanctl.conf has no such setting: not converted");
            }
        }
    }

    /// <summary>Side keywords converted for one end only (e.g. <c>rightupdown</c>: the updown script is run by the local end).</summary>
    private static bool IsSideKeywordOfTheOtherEnd(string bare) =>
        bare is "updown" or "firewall" or "hostaccess" or "sendcert" or "dns" or "sourceip" or "addresspool" or "modecfgclient" or "ikeport" or "protoport";
}
