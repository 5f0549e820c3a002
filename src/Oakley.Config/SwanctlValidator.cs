namespace Oakley.Config;

/// <summary>
/// Checks a parsed swanctl.conf against <see cref="SwanctlKeys"/> before anything is loaded, and collects every
/// problem at once: unknown keys and sections (with the nearest valid name), keys and values that strongSwan accepts
/// but Oakley does not build yet, sections that name a thing (a connection, an authentication round, a child, a
/// secret) defined more than once, and missing authentication. Harmless unbuilt keys become warnings.
/// </summary>
internal sealed class SwanctlValidator
{
    private readonly List<ConfigError> _errors;
    private readonly List<ConfigWarning> _warnings;

    private SwanctlValidator(List<ConfigError> errors, List<ConfigWarning> warnings)
    {
        _errors = errors;
        _warnings = warnings;
    }

    public static void Check(SettingsSection root, List<ConfigError> errors, List<ConfigWarning> warnings) =>
        new SwanctlValidator(errors, warnings).CheckRoot(root);

    private void CheckRoot(SettingsSection root)
    {
        foreach (var v in root.Values)
        {
            Error(v.Location, $"unknown option '{v.Key}'{DidYouMean.Hint(v.Key, SwanctlKeys.Sections)}");
        }

        foreach (var section in root.Sections)
        {
            switch (section.Name)
            {
                case "connections":
                    CheckConnections(section);
                    break;
                case "secrets":
                    CheckSecrets(section);
                    break;
                case "authorities":
                    CheckAuthorities(section);
                    break;
                case "pools":
                    CheckPools(section);
                    break;
                default:
                    Error(section.Location, $"unknown section '{section.Name}'{DidYouMean.Hint(section.Name, SwanctlKeys.Sections)}");
                    break;
            }
        }
    }

    private void CheckConnections(SettingsSection connections)
    {
        foreach (var v in connections.Values)
        {
            Error(v.Location, $"unknown option 'connections.{v.Key}' (a connection is a section: '{v.Key} {{ ... }}')");
        }

        foreach (var conn in connections.Sections)
        {
            // A connection defined twice also repeats its rounds and children: report the connection only.
            var once = DefinedOnce(conn, $"connection '{conn.Name}'");
            var path = $"connections.{conn.Name}";
            CheckValues(conn, path, SwanctlKeys.Connection);
            foreach (var s in conn.Sections)
            {
                if (s.Name == "children")
                {
                    CheckChildren(s, path + ".children", once);
                }
                else if (IsRound(s, "local") || IsRound(s, "remote"))
                {
                    CheckAuthRound(s, $"{path}.{s.Name}", IsRound(s, "local"), once);
                }
                else
                {
                    Error(s.Location, $"invalid section '{path}.{s.Name}'{DidYouMean.Hint(s.Name, ["local", "remote", "children"])}");
                }
            }

            CheckRounds(conn, "local");
            CheckRounds(conn, "remote");
        }
    }

    /// <summary>strongSwan names authentication rounds by a case-insensitive prefix: local, local-2, remote1, ...</summary>
    internal static bool IsRound(SettingsSection s, string side) => s.Name.StartsWith(side, StringComparison.OrdinalIgnoreCase);

    private void CheckRounds(SettingsSection conn, string side)
    {
        // Several rounds are RFC 4739's multiple authentication (local-2, remote-2, ...): each is checked on its own
        // (CheckAuthRound); here only that no two claim the same explicit round number.
        var numbered = conn.Sections.Where(s => IsRound(s, side)).Select(s => (s, s.Value("round"))).Where(p => p.Item2 is not null).ToList();
        foreach (var dup in numbered.GroupBy(p => p.Item2!.Value.Trim()).Where(g => g.Count() > 1).SelectMany(g => g.Skip(1)))
        {
            Error(dup.Item2!.Location, $"'connections.{conn.Name}.{dup.s.Name}': round {dup.Item2.Value} is used twice");
        }
    }

    /// <summary>A connection's rounds of one side in order: by their <c>round</c> number when given, else as written (strongSwan's rule).</summary>
    internal static List<SettingsSection> Rounds(SettingsSection conn, string side) => conn.Sections
        .Where(s => IsRound(s, side))
        .Select((s, i) => (s, i, n: s.Value("round") is { } r && int.TryParse(r.Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : (int?)null))
        .OrderBy(t => t.n ?? int.MaxValue).ThenBy(t => t.i).Select(t => t.s).ToList();

    private void CheckAuthRound(SettingsSection round, string path, bool local, bool checkDuplicates)
    {
        if (checkDuplicates)
        {
            DefinedOnce(round, $"'{path}'");
        }

        CheckValues(round, path, local ? SwanctlKeys.LocalAuth : SwanctlKeys.RemoteAuth);
        CheckEapId(round, path);
        foreach (var s in round.Sections)
        {
            var certificate = s.Name.StartsWith("cert", StringComparison.OrdinalIgnoreCase) || (!local && s.Name.StartsWith("cacert", StringComparison.OrdinalIgnoreCase));
            Error(s.Location, certificate
                ? $"'{path}.{s.Name}' is not supported yet (certificates on PKCS#11 tokens; use certs = FILE)"
                : $"invalid section '{path}.{s.Name}'{DidYouMean.Hint(s.Name, local ? ["cert"] : ["cert", "cacert"])}");
        }

        if (round.Value("round") is { } r && !int.TryParse(r.Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _))
        {
            Error(r.Location, $"invalid value for '{path}.round': '{r.Value}' is not a number");
        }
    }

    private void CheckChildren(SettingsSection children, string path, bool checkDuplicates)
    {
        foreach (var v in children.Values)
        {
            Error(v.Location, $"unknown option '{path}.{v.Key}' (a child is a section: '{v.Key} {{ ... }}')");
        }

        foreach (var child in children.Sections)
        {
            if (checkDuplicates)
            {
                DefinedOnce(child, $"child '{child.Name}' of '{path[..^".children".Length]}'");
            }

            CheckValues(child, $"{path}.{child.Name}", SwanctlKeys.Child);
            foreach (var s in child.Sections)
            {
                Error(s.Location, $"invalid section '{path}.{child.Name}.{s.Name}' (a child has no sections)");
            }
        }
    }

    private void CheckPools(SettingsSection pools)
    {
        foreach (var v in pools.Values)
        {
            Error(v.Location, $"unknown option 'pools.{v.Key}' (a pool is a section: '{v.Key} {{ addrs = ... }}')");
        }

        foreach (var pool in pools.Sections)
        {
            DefinedOnce(pool, $"'pools.{pool.Name}'");
            if (pool.Name is SwanctlPools.Radius or SwanctlPools.Dhcp)
            {
                // A connection's pools = radius / dhcp names strongSwan's external providers, never this section.
                Error(pool.Location, $"'pools.{pool.Name}': the pool name '{pool.Name}' is reserved (pools = {pool.Name} in a connection means addresses from {(pool.Name == SwanctlPools.Radius ? "RADIUS" : "DHCP")})");
            }

            CheckValues(pool, $"pools.{pool.Name}", SwanctlKeys.Pool);
            foreach (var s in pool.Sections)
            {
                Error(s.Location, $"invalid section 'pools.{pool.Name}.{s.Name}' (a pool has no sections)");
            }
        }
    }

    private void CheckAuthorities(SettingsSection authorities)
    {
        foreach (var v in authorities.Values)
        {
            Error(v.Location, $"unknown option 'authorities.{v.Key}' (an authority is a section: '{v.Key} {{ cacert = ... }}')");
        }

        foreach (var authority in authorities.Sections)
        {
            DefinedOnce(authority, $"'authorities.{authority.Name}'");
            CheckValues(authority, $"authorities.{authority.Name}", SwanctlKeys.Authority);
        }
    }

    private void CheckSecrets(SettingsSection secrets)
    {
        foreach (var v in secrets.Values)
        {
            Error(v.Location, $"unknown option 'secrets.{v.Key}' (a secret is a section: 'ike-{v.Key} {{ ... }}')");
        }

        foreach (var s in secrets.Sections)
        {
            DefinedOnce(s, $"'secrets.{s.Name}'");
            var path = $"secrets.{s.Name}";
            var type = SwanctlKeys.SecretTypes.FirstOrDefault(t => s.Name.StartsWith(t.Prefix, StringComparison.Ordinal));
            if (type.Prefix is null)
            {
                var prefixes = SwanctlKeys.SecretTypes.Select(t => t.Prefix).ToList();
                Error(s.Location, $"unknown secret type '{path}' (a secret's section name starts with {string.Join(", ", prefixes[..^1])} or {prefixes[^1]})");
                continue;
            }

            CheckValues(s, path, type.Keys);
            foreach (var sub in s.Sections)
            {
                Error(sub.Location, $"invalid section '{path}.{sub.Name}' (a secret has no sections)");
            }

            if (UnusedSecret(type.Prefix) is { } why)
            {
                _warnings.Add(new ConfigWarning(s.Location, $"'{path}' is not supported yet and is ignored ({type.Kind} secrets: {why})"));
            }
        }
    }

    /// <summary>Why no connection can use a secret of this type (null: one can). XAuth and PPK are refused in connections.</summary>
    private static string? UnusedSecret(string prefix) => prefix switch
    {
        "xauth" => "XAuth is IKEv1 only",
        "ntlm" => "NT hashes for EAP-MSCHAPv2 are not built; give the password in an eap- secret",
        "ppk" => "postquantum preshared keys (RFC 8784) are not built",
        "token" => "PKCS#11 tokens are not built",
        _ => null,
    };

    /// <summary><c>eap_id</c> in a round whose auth is not EAP: strongSwan ignores it, and so do we, but say so.</summary>
    private void CheckEapId(SettingsSection round, string path)
    {
        if (round.Value("eap_id") is { } id && !(round.Value("auth")?.Value.Trim().StartsWith("eap", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            _warnings.Add(new ConfigWarning(id.Location, $"'{path}.eap_id' is ignored: the round's auth is not eap"));
        }
    }

    private void CheckValues(SettingsSection section, string path, IReadOnlyList<KeySpec> keys)
    {
        foreach (var v in section.Values)
        {
            var spec = keys.FirstOrDefault(k => k.Matches(v.Key));
            if (spec is null)
            {
                Error(v.Location, $"unknown option '{path}.{v.Key}'{DidYouMean.Hint(v.Key, keys.Select(k => k.Name))}");
            }
            else if (spec.Kind == KeyKind.Refused && !spec.Fine!(v.Value) || spec.Kind == KeyKind.Read && spec.NotYet?.Invoke(v.Value) == true)
            {
                Error(v.Location, $"'{path}.{v.Key} = {v.Value}' is not supported yet ({spec.Why})");
            }
            else if (spec.Kind == KeyKind.Ignored)
            {
                _warnings.Add(new ConfigWarning(v.Location, $"'{path}.{v.Key}' is not supported yet and is ignored ({spec.Why})"));
            }
        }
    }

    /// <summary>Sections of the same name merge (strongSwan's settings); for a section that names a thing, that hides a duplicate.</summary>
    private bool DefinedOnce(SettingsSection section, string what)
    {
        var first = section.Definitions[0];
        foreach (var again in section.Definitions.Skip(1))
        {
            Error(again, $"{what} is defined twice: at {first.File}:{first.Line} and at {again.File}:{again.Line}");
        }

        return section.Definitions.Count == 1;
    }

    private void Error(SourceLocation at, string message) => _errors.Add(new ConfigError(at, message));
}
