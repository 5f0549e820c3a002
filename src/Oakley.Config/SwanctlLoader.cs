using System.Globalization;
using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Protocol.Ikev2;
using static Oakley.Config.SwanctlValues;

namespace Oakley.Config;

/// <summary>
/// Maps a parsed swanctl.conf to engine configuration, with strongSwan's defaults
/// (docs.strongswan.org swanctl.conf reference). Unsupported keys give warnings with file:line; invalid values
/// are errors with file:line.
/// </summary>
public static class SwanctlLoader
{
    private static readonly HashSet<string> ConnectionKeys = ["version", "local_addrs", "remote_addrs", "local_port", "remote_port", "proposals", "dpd_delay", "rekey_time", "over_time", "keyingtries", "unique", "reauth_time", "rand_time", "send_certreq", "send_cert", "mobike", "fragmentation", "encap", "dpd_timeout"];
    private static readonly HashSet<string> ChildKeys = ["mode", "local_ts", "remote_ts", "esp_proposals", "start_action", "close_action", "dpd_action", "rekey_time", "life_time", "rand_time", "updown", "hostaccess", "policies", "ipcomp", "inactivity", "rekey_bytes", "life_bytes", "rekey_packets", "life_packets", "mark_in", "mark_out", "reqid", "priority", "interface", "copy_df", "copy_ecn", "copy_dscp", "hw_offload"];
    private static readonly HashSet<string> ImplementedConnectionKeys = ["version", "local_addrs", "remote_addrs", "local_port", "remote_port", "proposals", "dpd_delay", "rekey_time", "over_time", "keyingtries", "unique", "encap", "reauth_time", "rand_time", "fragmentation", "mobike"];
    private static readonly HashSet<string> ImplementedChildKeys = ["mode", "local_ts", "remote_ts", "esp_proposals", "start_action", "close_action", "dpd_action", "rekey_time", "life_time", "rand_time", "rekey_bytes", "life_bytes", "rekey_packets", "life_packets"];

    public static SwanctlConfig Load(SettingsSection root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var result = new SwanctlConfig();
        foreach (var section in root.Sections)
        {
            switch (section.Name)
            {
                case "connections":
                    foreach (var conn in section.Sections)
                    {
                        if (LoadConnection(conn, result.Warnings) is { } c)
                        {
                            result.Connections.Add(c);
                        }
                    }

                    foreach (var v in section.Values)
                    {
                        result.Warnings.Add(new ConfigWarning(v.Location, $"'{v.Key}' directly under 'connections' is ignored"));
                    }

                    break;
                case "secrets":
                    SwanctlSecrets.Load(section, result);
                    break;
                case "pools" or "authorities":
                    result.Warnings.Add(new ConfigWarning(section.Location, $"'{section.Name}' is not supported yet and is ignored"));
                    break;
                default:
                    result.Warnings.Add(new ConfigWarning(section.Location, $"unknown section '{section.Name}' is ignored"));
                    break;
            }
        }

        return result;
    }

    private static LoadedConnection? LoadConnection(SettingsSection conn, List<ConfigWarning> warnings)
    {
        foreach (var v in conn.Values.Where(v => !ConnectionKeys.Contains(v.Key)))
        {
            warnings.Add(new ConfigWarning(v.Location, $"unknown key 'connections.{conn.Name}.{v.Key}' is ignored"));
        }

        foreach (var v in conn.Values.Where(v => ConnectionKeys.Contains(v.Key) && !ImplementedConnectionKeys.Contains(v.Key)))
        {
            warnings.Add(new ConfigWarning(v.Location, $"'connections.{conn.Name}.{v.Key}' is not supported yet and is ignored"));
        }

        var version = Int(conn, "version", 0, 0, 2);
        if (version == 1)
        {
            warnings.Add(new ConfigWarning(conn.Value("version")!.Location, $"connection '{conn.Name}': IKEv1 is not supported yet; the connection is skipped"));
            return null;
        }

        var localAddrs = Addresses(conn, "local_addrs");
        var remoteAddrs = Addresses(conn, "remote_addrs");
        var proposals = Proposals(conn, "proposals", ProtocolId.Ike);

        var local = conn.Sections.Where(s => s.Name.StartsWith("local", StringComparison.Ordinal)).ToList();
        var remote = conn.Sections.Where(s => s.Name.StartsWith("remote", StringComparison.Ordinal)).ToList();
        if (local.Count > 1 || remote.Count > 1)
        {
            warnings.Add(new ConfigWarning(conn.Location, $"connection '{conn.Name}': multiple authentication rounds are not supported yet; only the first local/remote section is used"));
        }

        var localAuth = local.FirstOrDefault();
        var remoteAuth = remote.FirstOrDefault();
        foreach (var a in new[] { localAuth, remoteAuth })
        {
            if (a?.Value("auth") is { } auth && auth.Value != "psk")
            {
                warnings.Add(new ConfigWarning(auth.Location, $"connection '{conn.Name}': auth = {auth.Value} is not supported yet (only psk); the connection is skipped"));
                return null;
            }

            foreach (var v in a?.Values.Where(v => v.Key is not ("auth" or "id")) ?? [])
            {
                warnings.Add(new ConfigWarning(v.Location, $"'{a!.Name}.{v.Key}' is not supported yet and is ignored"));
            }
        }

        if (localAuth?.Value("auth") is null || remoteAuth?.Value("auth") is null)
        {
            // strongSwan's default auth is pubkey, which Oakley does not implement yet.
            warnings.Add(new ConfigWarning(conn.Location, $"connection '{conn.Name}': local and remote need 'auth = psk' (pubkey is not supported yet); the connection is skipped"));
            return null;
        }

        Identity localId;
        if (localAuth.Value("id") is { } lid)
        {
            localId = ParseId(lid);
        }
        else if (localAddrs.FirstOrDefault(a => !a.Equals(IPAddress.Any) && !a.Equals(IPAddress.IPv6Any)) is { } addr)
        {
            localId = new Identity(addr.GetAddressBytes().Length == 4 ? IdentificationType.Ipv4Address : IdentificationType.Ipv6Address, addr.GetAddressBytes());
        }
        else
        {
            throw new ConfigException(localAuth.Location, $"connection '{conn.Name}': set local.id (local_addrs is %any, so there is no address to use as identity)");
        }

        var remoteId = remoteAuth.Value("id") is { } rid && rid.Value is not ("%any" or "") ? ParseId(rid) : null;

        var children = new List<ChildConfig>();
        var policies = new Dictionary<string, ChildPolicy>();
        foreach (var child in conn.Section("children")?.Sections ?? [])
        {
            foreach (var v in child.Values.Where(v => !ChildKeys.Contains(v.Key)))
            {
                warnings.Add(new ConfigWarning(v.Location, $"unknown key 'children.{child.Name}.{v.Key}' is ignored"));
            }

            foreach (var v in child.Values.Where(v => ChildKeys.Contains(v.Key) && !ImplementedChildKeys.Contains(v.Key)))
            {
                warnings.Add(new ConfigWarning(v.Location, $"'children.{child.Name}.{v.Key}' is not supported yet and is ignored"));
            }

            var mode = child.Value("mode");
            var transport = mode?.Value switch
            {
                null or "tunnel" => false,
                "transport" => true,
                _ => throw new ConfigException(mode.Location, $"mode '{mode.Value}' is not supported (tunnel or transport)"),
            };
            var (localTs, localDynamic) = Selectors(child, "local_ts");
            var (remoteTs, remoteDynamic) = Selectors(child, "remote_ts");
            var rekey = Duration(child, "rekey_time", TimeSpan.FromHours(1));
            children.Add(new ChildConfig
            {
                Name = child.Name,
                LocalTs = localTs,
                RemoteTs = remoteTs,
                LocalTsDynamic = localDynamic,
                RemoteTsDynamic = remoteDynamic,
                EspProposals = Proposals(child, "esp_proposals", ProtocolId.Esp),
                TransportMode = transport,
                RekeyTime = rekey,
                // swanctl: life_time defaults to rekey_time + 10%.
                LifeTime = Duration(child, "life_time", rekey * 1.1),
                RandTime = child.Value("rand_time") is null ? null : Duration(child, "rand_time", TimeSpan.Zero),
                RekeyBytes = Volume(child, "rekey_bytes", 0),
                // swanctl: life_* default to rekey_* + 10% (0 stays 0: no limit).
                LifeBytes = Volume(child, "life_bytes", Volume(child, "rekey_bytes", 0) / 10 * 11),
                RekeyPackets = Volume(child, "rekey_packets", 0),
                LifePackets = Volume(child, "life_packets", Volume(child, "rekey_packets", 0) / 10 * 11),
            });
            policies[child.Name] = new ChildPolicy(
                Action(child, "start_action", ChildAction.None, ChildAction.None, ChildAction.Start, ChildAction.Trap),
                Action(child, "close_action", ChildAction.None, ChildAction.None, ChildAction.Start, ChildAction.Trap),
                Action(child, "dpd_action", ChildAction.Clear, ChildAction.Clear, ChildAction.Restart, ChildAction.Trap));
        }

        var ike = new IkeConfig
        {
            Name = conn.Name,
            LocalAddresses = localAddrs,
            RemoteAddresses = remoteAddrs,
            RemotePort = Int(conn, "remote_port", 500, 1, 65535),
            Proposals = proposals,
            LocalId = localId,
            RemoteId = remoteId,
            Children = children,
            SendInitialContact = (conn.Value("unique")?.Value ?? "no") != "never",
            ForceEncapsulation = Enum(conn, "encap", "no", "yes", "no") == "yes",
            Mobike = Enum(conn, "mobike", "yes", "yes", "no", "true", "false") is "yes" or "true",
            RekeyTime = Duration(conn, "rekey_time", TimeSpan.FromHours(4)),
            ReauthTime = Duration(conn, "reauth_time", TimeSpan.Zero),
            OverTime = conn.Value("over_time") is null ? null : Duration(conn, "over_time", TimeSpan.Zero),
            RandTime = conn.Value("rand_time") is null ? null : Duration(conn, "rand_time", TimeSpan.Zero),
            Unique = Enum(conn, "unique", "no", "no", "never", "keep", "replace") switch
            {
                "never" => UniquePolicy.Never,
                "keep" => UniquePolicy.Keep,
                "replace" => UniquePolicy.Replace,
                _ => UniquePolicy.No,
            },
            DpdDelay = Duration(conn, "dpd_delay", TimeSpan.Zero),
            Fragmentation = Enum(conn, "fragmentation", "yes", "yes", "accept", "force", "no") switch
            {
                "no" => Fragmentation.No,
                "accept" => Fragmentation.Accept,
                "force" => Fragmentation.Force,
                _ => Fragmentation.Yes,
            },
        };
        return new LoadedConnection(ike, version, ike.DpdDelay, ike.EffectiveOverTime,
            Int(conn, "keyingtries", 1, 0, int.MaxValue), Enum(conn, "unique", "no", "no", "never", "keep", "replace"), policies, conn.Location);
    }

}
