using System.Net;

namespace Oakley.Config.Import;

internal static partial class ConnConverter
{
    /// <summary>
    /// <c>authby</c> (used only when neither <c>leftauth</c> nor <c>rightauth</c> is set, as starter does) or the
    /// per-side <c>leftauth</c>/<c>rightauth</c> become <c>local.auth</c>/<c>remote.auth</c>; <c>leftauth2</c> etc. a
    /// second round. XAuth is IKEv1's: such a connection is written commented out.
    /// </summary>
    private static void Auth(ConnContext ctx, SwanctlNode node, IReadOnlyList<IpsecSetting> setup)
    {
        var authby = ctx.Get("authby");
        var local = ctx.Side(true, "auth");
        var remote = ctx.Side(false, "auth");
        string? fallback = null;
        if (local is null && remote is null)
        {
            fallback = AuthBy(ctx, authby);
        }
        else if (authby is not null)
        {
            ctx.Note(authby, $"ignored because {ctx.LocalPrefix}auth/{ctx.RemotePrefix}auth are set (as starter does)");
        }

        var localRound = node.Section("local");
        var remoteRound = node.Section("remote");
        Round(ctx, localRound, true, local is null ? fallback ?? "pubkey" : SideAuth(ctx, local), string.Empty);
        Round(ctx, remoteRound, false, remote is null ? fallback ?? "pubkey" : SideAuth(ctx, remote), string.Empty);
        foreach (var isLocal in new[] { true, false })
        {
            if (ctx.Side(isLocal, "auth2") is { } second)
            {
                var round = node.Section(isLocal ? "local-2" : "remote-2");
                Round(ctx, round, isLocal, SideAuth(ctx, second), "2");
            }
            else
            {
                ctx.Side(isLocal, "id2");
                ctx.Side(isLocal, "cert2");
                ctx.Side(isLocal, "ca2");
            }
        }

        if (authby?.Value.ToLowerInvariant() is "xauthpsk" or "xauthrsasig" && local is null && remote is null)
        {
            // starter: the XAuth server authenticates the other side in a second round (xauth = client|server).
            var server = ctx.Get("xauth")?.Value.Equals("server", StringComparison.OrdinalIgnoreCase) == true;
            var round = node.Section(server ? "remote-2" : "local-2");
            round.Set("auth", "xauth");
            if (ctx.Get("xauth_identity") is { } xauthId)
            {
                round.Set("xauth_id", xauthId.Value);
            }
        }

        EapIdentity(ctx, localRound, remoteRound);
        if (ctx.Get("aaa_identity") is { } aaa)
        {
            remoteRound.Set("aaa_id", aaa.Value, commented: true);
            ctx.Note(aaa, "remote.aaa_id is refused by Oakley (the AAA server's identity is not checked): written commented out");
        }

        if (localRound.Get("id") is null && node.Get("local_addrs") is null && localRound.Get("auth") is not ("pubkey" or "rsa" or "ecdsa"))
        {
            // starter uses the address it initiates from; swanctl's %any has none to take, and Oakley wants one.
            ctx.NoteConn($"no {ctx.LocalPrefix}id and no fixed {ctx.LocalPrefix} address: set local.id (Oakley refuses the connection without it; strongSwan would use the address it initiates from)");
        }

        var strict = setup.LastOrDefault(s => s.Key == "strictcrlpolicy")?.Value.ToLowerInvariant();
        if (strict is "yes" or "ifuri" && remoteRound.Get("auth") is "pubkey" or "rsa" or "ecdsa")
        {
            remoteRound.Set("revocation", strict == "yes" ? "strict" : "ifuri");
        }
    }

    /// <summary>A note for a loaded connection whose local public-key round names no certificate or key (after the child: it may disable it).</summary>
    private static void PubkeyWithoutCredential(ConnContext ctx, SwanctlNode node)
    {
        var local = node.Section("local");
        if (local.Get("auth") is "pubkey" or "rsa" or "ecdsa" && local.Get("certs") is null && local.Get("pubkeys") is null && ctx.DisabledReason is null)
        {
            ctx.NoteConn($"public-key authentication without {ctx.LocalPrefix}cert: put this host's certificate into /etc/swanctl/x509/ and set local.certs (Oakley refuses the round otherwise, unless a certificate there confirms local.id)");
        }
    }

    private static string? AuthBy(ConnContext ctx, IpsecSetting? authby)
    {
        var value = authby?.Value.ToLowerInvariant().Split(',')[0];
        switch (value)
        {
            case null:
                return null;
            case "psk" or "secret":
                return "psk";
            case "rsa" or "rsasig" or "ecdsa" or "ecdsasig" or "pubkey" or "rsa-sha2" or "rsa-sha2_256" or "rsa-sha2_384" or "rsa-sha2_512":
                return "pubkey";
            case "xauthpsk" or "xauthrsasig":
                ctx.Disable(authby, "XAuth (IKEv1) is not built in Oakley (a local-2/remote-2 round with auth = xauth)");
                return value == "xauthpsk" ? "psk" : "pubkey";
            case "never":
                return null;
            default:
                ctx.Note(authby!, "not a known authby value; pubkey (the default) is written");
                return "pubkey";
        }
    }

    private static string SideAuth(ConnContext ctx, IpsecSetting setting)
    {
        var value = setting.Value.ToLowerInvariant();
        if (value.StartsWith("xauth", StringComparison.Ordinal))
        {
            ctx.Disable(setting, "XAuth is IKEv1 and not built in Oakley");
            return value;
        }

        if (value is "secret" or "rsasig")
        {
            return value == "secret" ? "psk" : "pubkey";
        }

        if (value == "null")
        {
            ctx.Disable(setting, "NULL authentication (RFC 7619) is not built in Oakley");
        }

        return value;
    }

    /// <summary>One authentication round: auth, id, certs, pubkeys; the CA constraints are notes.</summary>
    private static void Round(ConnContext ctx, SwanctlNode round, bool local, string auth, string suffix)
    {
        round.Set("auth", auth);
        var id = ctx.Side(local, "id" + suffix);
        if (id is not null && id.Value.Length > 0 && !id.Value.Equals("%fromcert", StringComparison.OrdinalIgnoreCase))
        {
            round.Set("id", id.Value);
        }
        else if (!local && suffix.Length == 0 && ctx.Conn[ctx.RemotePrefix] is { } peer && IPAddress.TryParse(peer.Value, out _))
        {
            // starter's default rightid is right's address; swanctl's default remote.id is %any.
            round.Set("id", peer.Value);
        }

        if (ctx.Side(local, "cert" + suffix) is { } cert)
        {
            Certificate(ctx, round, cert, local);
        }

        if (ctx.GetAny((local ? ctx.LocalPrefix : ctx.RemotePrefix) + "sigkey", (local ? ctx.LocalPrefix : ctx.RemotePrefix) + "rsasigkey") is { } sigkey && suffix.Length == 0)
        {
            SigKey(ctx, round, sigkey);
        }

        if (ctx.Side(local, "ca" + suffix) is { } ca)
        {
            ctx.Note(ca, local
                ? "a local CA constraint has no swanctl.conf keyword: not converted"
                : "swanctl names CA certificate files, not DNs: put the CA certificate into x509ca/ (every CA there is trusted) and set remote.cacerts to its file to accept only this CA");
        }

        if (!local && suffix.Length == 0)
        {
            Refused(ctx, round, ctx.Side(false, "groups"), "groups", "authorization groups are not built in Oakley");
            Refused(ctx, round, ctx.Side(false, "certpolicy"), "cert_policy", "certificate policies are not checked by Oakley");
        }
        else if (local && suffix.Length == 0)
        {
            foreach (var key in new[] { "groups", "certpolicy" })
            {
                if (ctx.Side(true, key) is { } ignored)
                {
                    ctx.Note(ignored, "constrains the local side, which swanctl.conf does not: not converted");
                }
            }
        }
    }

    private static void Refused(ConnContext ctx, SwanctlNode round, IpsecSetting? setting, string key, string why)
    {
        if (setting is not null)
        {
            round.Set(key, setting.Value, commented: true);
            ctx.Note(setting, $"remote.{key}: {why}; written commented out");
        }
    }

    private static void Certificate(ConnContext ctx, SwanctlNode round, IpsecSetting cert, bool local)
    {
        var value = cert.Value;
        if (value.StartsWith('%'))
        {
            ctx.Note(cert, "certificates on smartcards (PKCS#11) are refused by Oakley: not converted");
            return;
        }

        if (ctx.File.IsLibreswan && !value.Contains('.', StringComparison.Ordinal) && !value.Contains('/', StringComparison.Ordinal))
        {
            round.Set("certs", value + ".pem", commented: true);
            ctx.Note(cert, $"a Libreswan NSS nickname: export the certificate (certutil -L -n {value} -a > {value}.pem) into /etc/swanctl/x509/ and uncomment certs");
            return;
        }

        var name = Path.GetFileName(value);
        round.Set("certs", name);
        var from = Path.IsPathRooted(value) ? value : "/etc/ipsec.d/certs/" + value;
        ctx.Note(cert, $"copy {from} to /etc/swanctl/x509/{name}" + (local ? " (its private key goes into /etc/swanctl/private/)" : string.Empty));
    }

    private static void SigKey(ConnContext ctx, SwanctlNode round, IpsecSetting sigkey)
    {
        var value = sigkey.Value;
        if (value.StartsWith('%'))
        {
            if (!value.Equals("%cert", StringComparison.OrdinalIgnoreCase))
            {
                ctx.Note(sigkey, value.StartsWith("%dns", StringComparison.OrdinalIgnoreCase)
                    ? "keys from DNS: enable the ipseckey plugin in strongswan.conf (charon.plugins.ipseckey.enable = yes), no swanctl.conf keyword"
                    : "not converted");
            }

            return;
        }

        if (value.StartsWith("0s", StringComparison.Ordinal) || value.StartsWith("0x", StringComparison.Ordinal))
        {
            if (RawRsaKey.ToPem(value, out var why) is not { } pem)
            {
                ctx.Note(sigkey, $"not a raw RSA public key ({why}): not converted");
                return;
            }

            var file = $"{ctx.Name}-{sigkey.Key[..sigkey.Key.IndexOf("sigkey", StringComparison.Ordinal)].Replace("rsa", string.Empty, StringComparison.Ordinal)}.pem";
            ctx.PublicKeys[file] = pem;
            round.Set("pubkeys", file);
            var own = sigkey.Key.StartsWith(ctx.LocalPrefix, StringComparison.Ordinal)
                ? "; its private key is in Libreswan's NSS database: export it (pk12util -o key.p12 -n NAME -d sql:/etc/ipsec.d, openssl pkcs12 -nocerts -nodes) into /etc/swanctl/private/"
                : string.Empty;
            ctx.Note(sigkey, $"a raw RSA public key (RFC 3110): written as /etc/swanctl/pubkey/{file} when run with --pubkeys DIR{own}");
            return;
        }

        var name = Path.GetFileName(value);
        round.Set("pubkeys", name);
        ctx.Note(sigkey, $"copy {(Path.IsPathRooted(value) ? value : "/etc/ipsec.d/certs/" + value)} to /etc/swanctl/pubkey/{name}");
    }

    /// <summary><c>eap_identity</c> belongs to the EAP round: the client's identity on a gateway, our own on a client.</summary>
    private static void EapIdentity(ConnContext ctx, SwanctlNode localRound, SwanctlNode remoteRound)
    {
        if (ctx.Get("eap_identity") is not { } eap)
        {
            return;
        }

        var value = eap.Value.Equals("%identity", StringComparison.OrdinalIgnoreCase) ? "%any" : eap.Value;
        if (remoteRound.Get("auth")?.StartsWith("eap", StringComparison.Ordinal) == true)
        {
            remoteRound.Set("eap_id", value);
        }
        else if (localRound.Get("auth")?.StartsWith("eap", StringComparison.Ordinal) == true && value != "%any")
        {
            localRound.Set("eap_id", value);
        }
        else
        {
            ctx.Note(eap, "no EAP round on either side: not converted");
        }
    }
}
