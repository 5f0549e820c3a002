using System.Globalization;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host.Vici;

/// <summary>
/// A loaded connection as charon's list-conn event describes it (vici_query.c list_conns, build_auth_cfgs): addresses,
/// version (no local_port/remote_port: charon 5.9.8, Debian 12's, does not send them), rekey/reauth times, unique policy, one <c>local-N</c>/<c>remote-N</c> section per authentication
/// round, and the children with their lifetimes, actions and selectors. Secrets (PSKs, keys) are not part of it.
/// </summary>
internal static class ViciConnViews
{
    public static ViciSection ListConn(LoadedConnection conn)
    {
        var ike = conn.Ike;
        var message = new ViciSection();
        var s = message.AddSection(ike.Name);
        s.AddList("local_addrs", ike.LocalAddresses.Count == 0 ? ["%any"] : ike.LocalAddresses.Select(a => a.ToString()));
        s.AddList("remote_addrs", ike.RemoteAddresses.Count == 0 ? ["%any"] : ike.RemoteAddresses.Select(a => a.ToString()));
        s.Add("version", conn.Version switch { 1 => "IKEv1", 2 => "IKEv2", _ => "IKEv1/2" });
        s.Add("reauth_time", Num((long)ike.ReauthTime.TotalSeconds));
        s.Add("rekey_time", Num((long)ike.RekeyTime.TotalSeconds));
        s.Add("unique", "UNIQUE_" + ike.Unique.ToString().ToUpperInvariant());
        if (ike.DpdDelay > TimeSpan.Zero)
        {
            s.Add("dpd_delay", Num((long)ike.DpdDelay.TotalSeconds));
        }

        var round = 0;
        foreach (var auth in ike.MoreLocalAuth.Prepend(ike.LocalAuth))
        {
            AddAuth(s.AddSection($"local-{++round}"), auth, round == 1 ? ike.LocalId.ToString() : auth.RoundId?.ToString());
        }

        round = 0;
        foreach (var auth in ike.MoreRemoteAuth.Prepend(ike.RemoteAuth))
        {
            AddAuth(s.AddSection($"remote-{++round}"), auth, round == 1 ? ike.RemoteId?.ToString() ?? "%any" : auth.RoundId?.ToString());
        }

        var children = s.AddSection("children");
        foreach (var child in ike.Children)
        {
            var c = children.AddSection(child.Name);
            c.Add("mode", child.TransportMode ? "TRANSPORT" : "TUNNEL");
            c.Add("rekey_time", Num((long)child.RekeyTime.TotalSeconds));
            c.Add("rekey_bytes", child.RekeyBytes.ToString(CultureInfo.InvariantCulture));
            c.Add("rekey_packets", child.RekeyPackets.ToString(CultureInfo.InvariantCulture));
            if (conn.ChildPolicies.TryGetValue(child.Name, out var policy))
            {
                c.Add("dpd_action", Action(policy.DpdAction));
                c.Add("close_action", Action(policy.CloseAction));
            }

            c.AddList("local-ts", child.LocalTs.Select(t => t.ToString()).Concat(child.LocalTsDynamic ? ["dynamic"] : []));
            c.AddList("remote-ts", child.RemoteTs.Select(t => t.ToString()).Concat(child.RemoteTsDynamic ? ["dynamic"] : []));
        }

        return message;
    }

    /// <summary>strongSwan 5.9's action_names (clear, hold, restart); Oakley's trap is charon's hold.</summary>
    private static string Action(ChildAction action) => action switch
    {
        ChildAction.Restart or ChildAction.Start => "restart",
        ChildAction.Trap => "hold",
        _ => "clear",
    };

    private static void AddAuth(ViciSection s, AuthConfig auth, string? id)
    {
        // strongSwan's auth_class_names and eap_type_names
        s.Add("class", auth.Class switch { AuthClass.Psk => "pre-shared key", AuthClass.PublicKey => "public key", _ => "EAP" });
        if (auth.Class != AuthClass.Psk && auth.Class != AuthClass.PublicKey)
        {
            var type = auth.EapRadius ? "RADIUS" : auth.EapDynamic ? "DYNAMIC" : auth.EapMethod switch
            {
                Engine.Eap.EapType.MsChapV2 => "MSCHAPV2",
                Engine.Eap.EapType.Md5 => "MD5",
                Engine.Eap.EapType.Tls => "TLS",
                Engine.Eap.EapType.Ttls => "TTLS",
                Engine.Eap.EapType.Peap => "PEAP",
                Engine.Eap.EapType.Gtc => "GTC",
                null => null,
                var other => other.ToString()!.ToUpperInvariant(),
            };
            if (type is not null)
            {
                s.Add("eap-type", type);
            }
        }

        if (id is not null)
        {
            s.Add("id", id);
        }

        if (auth.EapId is { } eap)
        {
            s.Add("eap_id", eap.ToString());
        }

        s.AddList("groups", Array.Empty<string>());
        s.AddList("certs", auth.Certificates.Select(c => c.SubjectText));
        s.AddList("cacerts", auth.CaCertificates.Select(c => c.SubjectText));
    }

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);
}
