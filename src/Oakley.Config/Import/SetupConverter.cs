namespace Oakley.Config.Import;

/// <summary>
/// <c>config setup</c> holds daemon settings, not connections: <c>uniqueids</c> becomes each connection's
/// <c>unique</c> and <c>strictcrlpolicy</c> the remote rounds' <c>revocation</c> (both in the connections); the rest
/// belongs in strongswan.conf or has no equivalent, and each gets a note saying which. <c>ca</c> sections become
/// <c>authorities</c>.
/// </summary>
internal static class SetupConverter
{
    private static readonly Dictionary<string, string> Setup = new(StringComparer.Ordinal)
    {
        ["charondebug"] = "log levels belong in strongswan.conf (charon.filelog/charon.syslog, e.g. syslog { daemon { ike = 2 } }); oakley daemon --settings reads them",
        ["cachecrls"] = "strongswan.conf charon.cache_crls; Oakley keeps fetched CRLs in memory until their nextUpdate",
        ["charonstart"] = "starter only: no equivalent",
        ["plutostart"] = "starter only: no equivalent",
        ["plutodebug"] = "pluto's log level: strongswan.conf charon.filelog/charon.syslog",
        ["protostack"] = "Libreswan's kernel stack choice: Oakley's data plane is its own TUN device",
        ["logfile"] = "strongswan.conf charon.filelog { NAME { path = … } }",
        ["logappend"] = "strongswan.conf charon.filelog { NAME { append = … } }",
        ["logtime"] = "strongswan.conf charon.filelog { NAME { time_format = … } }",
        ["plutostderrlog"] = "strongswan.conf charon.filelog",
        ["virtual_private"] = "NAT-T address checks: no equivalent",
        ["virtual-private"] = "NAT-T address checks: no equivalent",
        ["nat_traversal"] = "NAT traversal is always on: no equivalent",
        ["keep_alive"] = "strongswan.conf charon.keep_alive (oakley daemon --keep-alive)",
        ["nat-keepalive"] = "strongswan.conf charon.keep_alive (oakley daemon --keep-alive)",
        ["keep-alive"] = "strongswan.conf charon.keep_alive (oakley daemon --keep-alive)",
        ["interfaces"] = "strongswan.conf charon.interfaces_use; Oakley binds the connections' local addresses",
        ["listen"] = "Oakley binds the connections' local addresses (or all of them for %any)",
        ["dumpdir"] = "no equivalent",
        ["nhelpers"] = "no equivalent (Oakley's engine has its own thread)",
        ["ikev1-policy"] = "Oakley speaks IKEv2 only",
        ["myid"] = "set local.id in each connection",
        ["klipsdebug"] = "no equivalent",
        ["crlcheckinterval"] = "no equivalent: CRLs are fetched again after their nextUpdate",
        ["strictcrlpolicy"] = "converted into remote.revocation of the certificate connections",
        ["uniqueids"] = "converted into each connection's unique",
    };

    public static void NoteSetup(IReadOnlyList<IpsecSetting> setup, ImportNotes notes)
    {
        foreach (var setting in setup)
        {
            if (setting.Key is "uniqueids" or "strictcrlpolicy")
            {
                continue;
            }

            var why = Setup.GetValueOrDefault(setting.Key, "no swanctl.conf equivalent");
            notes.Add(setting.Location, $"config setup: {setting.Key}={setting.Value}: not converted: {why}");
        }
    }

    /// <summary><c>ca NAME</c> → <c>authorities.NAME</c> (<c>cacert</c>, <c>crluri</c>, <c>ocspuri</c>).</summary>
    public static SwanctlNode? Authorities(IReadOnlyList<IpsecSection> cas, ImportNotes notes)
    {
        var resolved = ConnResolver.Resolve(cas, notes);
        var node = new SwanctlNode("authorities");
        foreach (var ca in resolved.Where(c => !c.Name.Equals("%default", StringComparison.Ordinal)))
        {
            if (ca["auto"]?.Value is not ("add" or "start" or "route"))
            {
                continue;
            }

            if (ca["cacert"] is null)
            {
                notes.Add(ca.Location, $"ca {ca.Name}: no cacert: not converted (an authority names its CA certificate)");
                continue;
            }

            var section = node.Section(SwanctlWriter.SafeName(ca.Name));
            var crls = new List<string>();
            var ocsp = new List<string>();
            foreach (var setting in ca.Settings.Values.OrderBy(s => s.Location.Line))
            {
                switch (setting.Key)
                {
                    case "cacert":
                        var name = Path.GetFileName(setting.Value);
                        section.Set("cacert", name);
                        notes.Add(setting.Location, $"ca {ca.Name}: copy {(Path.IsPathRooted(setting.Value) ? setting.Value : "/etc/ipsec.d/cacerts/" + setting.Value)} to /etc/swanctl/x509ca/{name}");
                        break;
                    case "crluri" or "crluri1" or "crluri2":
                        crls.Add(setting.Value);
                        break;
                    case "ocspuri" or "ocspuri1" or "ocspuri2":
                        ocsp.Add(setting.Value);
                        break;
                    case "auto":
                        break;
                    default:
                        notes.Add(setting.Location, $"ca {ca.Name}: {setting.Key}={setting.Value}: not converted ({(setting.Key == "certuribase" ? "hash-and-URL is refused by Oakley" : "no authorities equivalent Oakley loads")})");
                        break;
                }
            }

            if (crls.Count > 0)
            {
                section.Set("crl_uris", string.Join(", ", crls));
            }

            if (ocsp.Count > 0)
            {
                section.Set("ocsp_uris", string.Join(", ", ocsp));
            }
        }

        return node.IsEmpty ? null : node;
    }
}
