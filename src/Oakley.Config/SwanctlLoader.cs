using System.Net;
using Oakley.Config.Credentials;
using Oakley.Engine;
using Oakley.Engine.Certificates;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using static Oakley.Config.SwanctlValues;

namespace Oakley.Config;

/// <summary>
/// Maps a parsed swanctl.conf to engine configuration, with strongSwan's defaults (docs.strongswan.org swanctl.conf
/// reference). The whole file is checked first (<see cref="SwanctlValidator"/>): an unknown key, a key or value not
/// supported yet, or a duplicate definition refuses the file with every error at once, each with file:line; an
/// invalid value is an error with file:line. Keys whose absence cannot matter give warnings.
/// </summary>
public static class SwanctlLoader
{
    /// <summary>
    /// Loads a parsed swanctl.conf; <paramref name="directory"/> is the swanctl directory whose x509/, x509ca/,
    /// private/ … hold the credentials (null: a configuration given as text, without files).
    /// </summary>
    public static SwanctlConfig Load(SettingsSection root, string? directory = null) => Build(SwanctlStore.FromFile(root, directory));

    /// <summary>
    /// The effective configuration of a store. Without <paramref name="inactive"/> every connection must build (the file
    /// path: a connection that does not is an error with file:line); with it, a connection that no longer builds (a pool
    /// or certificate it names was unloaded over VICI) is left out and reported there, and the others load.
    /// </summary>
    public static SwanctlConfig Build(SwanctlStore store, List<InactiveConnection>? inactive = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var result = new SwanctlConfig();
        result.Warnings.AddRange(store.FileWarnings);
        var creds = SwanctlCredentials.Over(store);
        foreach (var authority in store.Authorities)
        {
            creds.AddAuthority(authority);
        }

        result.Secrets.Certificates = creds.BuildStore();
        result.Credentials = creds;
        foreach (var key in store.Keys)
        {
            result.Secrets.AddPrivateKey(key.Key, key.Origin);
        }

        var pools = new SettingsSection("pools", store.Origin);
        pools.Sections.AddRange(store.Pools);
        result.Pools.AddRange(SwanctlPools.Load(pools));
        // A connection whose section and inputs are those of the last build is taken from it: swanctl --load-all of n
        // connections sends n load-conn, and each builds the whole store, so building each anew cost O(n^2) builds.
        var previous = store.Built is { } last && last.Inputs == store.InputsStamp ? last.ByPiece : null;
        var built = new Dictionary<SettingsSection, LoadedConnection>(ReferenceEqualityComparer.Instance);
        foreach (var conn in store.Connections)
        {
            try
            {
                var loaded = previous is not null && previous.TryGetValue(conn, out var known) ? known : LoadConnection(conn, creds, result.Pools);
                result.Connections.Add(loaded);
                built[conn] = loaded;
            }
            catch (ConfigException e) when (inactive is not null)
            {
                inactive.Add(new InactiveConnection(conn.Name, e));
            }
        }

        store.Built = new BuiltConnections(store.InputsStamp, built);
        SwanctlSecrets.Load(store.Secrets, result);
        AddWarnings(store, result);
        return result;
    }

    /// <summary>What does not stop loading but leaves a daemon that cannot do what was probably meant.</summary>
    private static void AddWarnings(SwanctlStore store, SwanctlConfig result)
    {
        var whole = store.Origin;
        if (store.IsEmpty)
        {
            result.Warnings.Add(new ConfigWarning(whole, "the configuration is empty: no connections are loaded"));
        }
        else if (result.Connections.Count == 0)
        {
            result.Warnings.Add(new ConfigWarning(whole, "no connections are defined"));
        }

        var hasKey = result.Secrets.SharedKeyPresence(); // a set, not a scan of every secret for each connection
        foreach (var c in result.Connections.Where(c => c.Ike.LocalAuth.Class == AuthClass.Psk || c.Ike.RemoteAuth.Class == AuthClass.Psk))
        {
            // The engine looks the key up with CredentialStore.FindSharedKey(local id, remote id); with remote id %any it
            // uses the peer's identity, which any entry may name, so only an empty store cannot match then.
            var found = c.Ike.RemoteId is null ? result.Secrets.Count > 0 : hasKey(c.Ike.LocalId, c.Ike.RemoteId);
            if (!found)
            {
                result.Warnings.Add(new ConfigWarning(c.Location, $"connection '{c.Ike.Name}': no shared key found for '{c.Ike.LocalId}' - '{c.Ike.RemoteId?.ToString() ?? "%any"}'"));
            }
        }

        // As the client (a local EAP round) the password must be here; a gateway's may come from RADIUS, so no warning there.
        // EAP-TLS needs no secret, only a certificate. A connection without remote_addrs never initiates: its local EAP
        // round is an EAP-only gateway's (RFC 5998), which authenticates with the client's method, not with a secret.
        foreach (var c in result.Connections.Where(c => c.Ike.LocalAuth is { Class: AuthClass.Eap, EapMethod: not Oakley.Engine.Eap.EapType.Tls } && c.Ike.RemoteAddresses.Count > 0))
        {
            var eapId = c.Ike.LocalAuth.EapId ?? c.Ike.LocalId;
            if (result.Secrets.FindEapSecret(eapId, c.Ike.RemoteId) is null)
            {
                result.Warnings.Add(new ConfigWarning(c.Location, $"connection '{c.Ike.Name}': no EAP secret found for '{eapId}' - '{c.Ike.RemoteId?.ToString() ?? "%any"}'"));
            }
        }
    }

    private static LoadedConnection LoadConnection(SettingsSection conn, SwanctlCredentials creds, IReadOnlyList<Oakley.Engine.Pools.PoolConfig> pools)
    {
        var version = Int(conn, "version", 0, 0, 2);
        var localAddrs = Addresses(conn, "local_addrs");
        // No local/remote section: strongSwan's default round, auth = pubkey.
        var localRounds = SwanctlValidator.Rounds(conn, "local");
        var remoteRounds = SwanctlValidator.Rounds(conn, "remote");
        var localRound = localRounds.FirstOrDefault() ?? new SettingsSection("local", conn.Location);
        var remoteRound = remoteRounds.FirstOrDefault() ?? new SettingsSection("remote", conn.Location);
        var localAuth = SwanctlAuth.Round(localRound, local: true, creds);
        var remoteAuth = SwanctlAuth.Round(remoteRound, local: false, creds);
        var (localId, ownAuth) = LocalIdentity(conn, localRound, localAddrs, localAuth, creds);
        var remoteId = remoteRound.Value("id") is { } rid && rid.Value is not ("%any" or "") ? ParseId(rid) : null;
        var children = new List<ChildConfig>();
        var policies = new Dictionary<string, ChildPolicy>();
        foreach (var child in conn.Section("children")?.Sections ?? [])
        {
            children.Add(LoadChild(child));
            policies[child.Name] = new ChildPolicy(
                Action(child, "start_action", ChildAction.None, ChildAction.None, ChildAction.Start, ChildAction.Trap),
                Action(child, "close_action", ChildAction.None, ChildAction.None, ChildAction.Start, ChildAction.Trap),
                Action(child, "dpd_action", ChildAction.Clear, ChildAction.Clear, ChildAction.Restart, ChildAction.Trap));
        }

        var ike = BuildIke(conn, localAddrs, localId, remoteId, children, ownAuth, remoteAuth, SwanctlPools.References(conn, pools),
            LaterRounds(localRounds, local: true, creds), LaterRounds(remoteRounds, local: false, creds));
        return new LoadedConnection(ike, version, ike.DpdDelay, ike.EffectiveOverTime,
            Int(conn, "keyingtries", 1, 0, int.MaxValue), Enum(conn, "unique", "no", "no", "never", "keep", "replace"), policies, conn.Location);
    }

    /// <summary>
    /// Our identity and round. With certificates, <c>id</c> defaults to the first certificate's subject DN (as in
    /// strongSwan) and, when set, must be confirmed by it; without <c>certs</c>, a certificate of x509/ that confirms
    /// <c>id</c> is used.
    /// </summary>
    private static (Identity Id, AuthConfig Auth) LocalIdentity(SettingsSection conn, SettingsSection round, List<IPAddress> localAddrs, AuthConfig auth, SwanctlCredentials creds)
    {
        var given = round.Value("id") is { } lid ? ParseId(lid) : null;
        if (auth.Class != AuthClass.PublicKey || auth.PublicKeys.Count > 0)
        {
            return (given ?? AddressId(conn, round, localAddrs), auth);
        }

        if (auth.Certificates.Count == 0)
        {
            var found = given is null ? null : creds.EndEntities.FirstOrDefault(c => CertificateIdentity.Confirms(c, given));
            if (found is null)
            {
                throw new ConfigException(round.Location, given is null
                    ? $"connection '{conn.Name}': {round.Name}.auth = pubkey needs {round.Name}.certs (or {round.Name}.pubkeys)"
                    : $"connection '{conn.Name}': {round.Name}.auth = pubkey, and no certificate in x509/ confirms id '{given}' (set {round.Name}.certs)");
            }

            auth = new AuthConfig { Class = AuthClass.PublicKey, Certificates = [found], Schemes = auth.Schemes };
        }

        var cert = auth.Certificates[0];
        if (given is not null && !auth.Certificates.Any(c => CertificateIdentity.Confirms(c, given)))
        {
            throw new ConfigException(round.Value("id")!.Location, $"connection '{conn.Name}': {CertificateIdentity.NotConfirmed(cert, given)}");
        }

        return (given ?? Identity.OfSubject(cert), auth); // strongSwan's default: the certificate's subject DN
    }

    private static Identity AddressId(SettingsSection conn, SettingsSection localAuth, List<IPAddress> localAddrs)
    {
        if (localAddrs.FirstOrDefault(a => !a.Equals(IPAddress.Any) && !a.Equals(IPAddress.IPv6Any)) is { } addr)
        {
            return new Identity(addr.GetAddressBytes().Length == 4 ? IdentificationType.Ipv4Address : IdentificationType.Ipv6Address, addr.GetAddressBytes());
        }

        throw new ConfigException(localAuth.Location, $"connection '{conn.Name}': set local.id (local_addrs is %any, so there is no address to use as identity)");
    }

    private static ChildConfig LoadChild(SettingsSection child)
    {
        var mode = child.Value("mode");
        var transport = mode?.Value switch
        {
            null or "tunnel" => false,
            "transport" => true,
            _ => throw new ConfigException(mode.Location, $"mode = '{mode.Value}' must be one of: tunnel, transport"),
        };
        var (localTs, localDynamic) = Selectors(child, "local_ts");
        var (remoteTs, remoteDynamic) = Selectors(child, "remote_ts");
        var rekey = Duration(child, "rekey_time", TimeSpan.FromHours(1));
        return new ChildConfig
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
        };
    }

    /// <summary>The rounds after the first (RFC 4739: <c>local-2</c>, <c>remote-2</c>, …), each with its own <c>id</c>.</summary>
    private static List<AuthConfig> LaterRounds(List<SettingsSection> rounds, bool local, SwanctlCredentials creds) =>
        rounds.Skip(1).Select(r => WithRoundId(SwanctlAuth.Round(r, local, creds), r.Value("id") is { } id && id.Value.Trim().Length > 0 ? ParseId(id) : null)).ToList();

    private static AuthConfig WithRoundId(AuthConfig a, Identity? id) => new()
    {
        Class = a.Class, Certificates = a.Certificates, CaCertificates = a.CaCertificates, PublicKeys = a.PublicKeys, Revocation = a.Revocation,
        Schemes = a.Schemes, EapMethod = a.EapMethod, EapDynamic = a.EapDynamic, EapRadius = a.EapRadius, EapId = a.EapId, RoundId = id,
    };

    private static IkeConfig BuildIke(SettingsSection conn, List<IPAddress> localAddrs, Identity localId, Identity? remoteId, List<ChildConfig> children, AuthConfig localAuth, AuthConfig remoteAuth, List<string> pools,
        List<AuthConfig>? moreLocal = null, List<AuthConfig>? moreRemote = null)
    {
        return new IkeConfig
        {
            MoreLocalAuth = moreLocal ?? [],
            MoreRemoteAuth = moreRemote ?? [],
            Vips = SwanctlPools.Vips(conn),
            Pools = pools,
            LocalAuth = localAuth,
            RemoteAuth = remoteAuth,
            SendCert = Enum(conn, "send_cert", "ifasked", "ifasked", "always", "never") switch
            {
                "always" => SendCertPolicy.Always,
                "never" => SendCertPolicy.Never,
                _ => SendCertPolicy.IfAsked,
            },
            SendCertReq = Enum(conn, "send_certreq", "yes", "yes", "no", "true", "false") is "yes" or "true",
            Name = conn.Name,
            LocalAddresses = localAddrs,
            RemoteAddresses = Addresses(conn, "remote_addrs"),
            RemotePort = Int(conn, "remote_port", 500, 1, 65535),
            Proposals = Proposals(conn, "proposals", ProtocolId.Ike),
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
    }
}
