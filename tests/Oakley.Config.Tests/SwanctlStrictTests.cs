using Oakley.Engine;

namespace Oakley.Config.Tests;

/// <summary>
/// swanctl.conf is strict like strongSwan: unknown keys, keys not supported yet, duplicate definitions and empty
/// secrets refuse the whole file with file:line; harmless gaps are warnings. The messages are asserted exactly.
/// </summary>
public class SwanctlStrictTests
{
    // Line numbers below refer to this text: 2 the connection, 3-6 its keys, 7-10 local, 11-14 remote,
    // 16-21 the child net (17 local_ts, 19 esp_proposals), 26-30 secrets.ike-ab (29 secret).
    private const string Responder = """
        connections {
          tunnel {
            version = 2
            local_addrs = 192.0.2.2
            remote_addrs = 192.0.2.1
            proposals = aes256gcm16-prfsha256-x25519
            local {
              auth = psk
              id = b.example
            }
            remote {
              auth = psk
              id = a.example
            }
            children {
              net {
                local_ts = 203.0.113.0/24
                remote_ts = 198.51.100.0/24
                esp_proposals = aes256gcm16
                start_action = trap
              }
            }
          }
        }
        secrets {
          ike-ab {
            id-a = a.example
            id-b = b.example
            secret = "interop-test-psk-not-secret"
          }
        }
        """;

    private static SettingsParser Parser(Dictionary<string, string>? files = null) => new(
        path => files is not null && files.TryGetValue(path, out var t) ? t : throw new FileNotFoundException(path),
        pattern => (files?.Keys ?? Enumerable.Empty<string>()).Where(k => System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(pattern, k)).Order());

    private static SwanctlConfig Load(string text) => SwanctlLoader.Load(Parser().ParseText(text, "swanctl.conf"));

    private static string Edit(string from, string to)
    {
        Assert.Contains(from, Responder, StringComparison.Ordinal);
        return Responder.Replace(from, to, StringComparison.Ordinal);
    }

    private static string Refused(string text) => Assert.Throws<ConfigException>(() => Load(text)).Message;

    [Theory]
    [InlineData("    local_ts = 203.0.113.0/24", "    locl_ts = 203.0.113.0/24", "swanctl.conf:17: error: unknown option 'connections.tunnel.children.net.locl_ts' (did you mean 'local_ts'?)")]
    [InlineData("remote_addrs = 192.0.2.1", "remote_adrs = 192.0.2.1", "swanctl.conf:5: error: unknown option 'connections.tunnel.remote_adrs' (did you mean 'remote_addrs'?)")]
    [InlineData("proposals = aes256gcm16-prfsha256-x25519", "frobnicate = yes", "swanctl.conf:6: error: unknown option 'connections.tunnel.frobnicate'")]
    [InlineData("  id = b.example", "  idd = b.example", "swanctl.conf:9: error: unknown option 'connections.tunnel.local.idd' (did you mean 'id'?)")]
    [InlineData("  id = a.example", "  ident = a.example", "swanctl.conf:13: error: unknown option 'connections.tunnel.remote.ident'")]
    [InlineData("secret = \"interop-test-psk-not-secret\"", "secert = \"interop-test-psk-not-secret\"", "swanctl.conf:29: error: unknown option 'secrets.ike-ab.secert' (did you mean 'secret'?)")]
    [InlineData("    children {", "    chidren {", "swanctl.conf:15: error: invalid section 'connections.tunnel.chidren' (did you mean 'children'?)")]
    [InlineData("  ike-ab {", "  ik-ab {", "swanctl.conf:26: error: unknown secret type 'secrets.ik-ab' (a secret's section name starts with eap, xauth, ntlm, ike, ppk, private, rsa, ecdsa, pkcs8, pkcs12 or token)")]
    [InlineData("    esp_proposals = aes256gcm16", "    esp_proposals = aes256gcm16\n        esp_propsals = aes128gcm16", "swanctl.conf:20: error: unknown option 'connections.tunnel.children.net.esp_propsals' (did you mean 'esp_proposals'?)")]
    public void UnknownKeys_RefuseTheFile_WithFileLineAndTheNearestKey(string from, string to, string expected)
    {
        var message = Refused(Edit(from, to));
        Assert.Equal(expected, message);
        Assert.DoesNotContain("interop-test-psk-not-secret", message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownSectionsAndTopLevelKeys_AreErrors()
    {
        Assert.Equal("swanctl.conf:1: error: unknown section 'conections' (did you mean 'connections'?)", Refused("conections {\n}\n"));
        Assert.Equal("swanctl.conf:1: error: unknown option 'foo'", Refused("foo = bar\n"));
        Assert.Equal("swanctl.conf:2: error: unknown option 'connections.tunnel' (a connection is a section: 'tunnel { ... }')", Refused("connections {\n  tunnel = x\n}\n"));
    }

    [Fact]
    public void EveryError_IsReportedAtOnce_InFileOrder()
    {
        var text = Edit("remote_addrs = 192.0.2.1", "remote_adrs = 192.0.2.1").Replace("    local_ts = 203", "    locl_ts = 203", StringComparison.Ordinal);
        var ex = Assert.Throws<ConfigException>(() => Load(text));
        Assert.Equal(
            "swanctl.conf:5: error: unknown option 'connections.tunnel.remote_adrs' (did you mean 'remote_addrs'?)\n" +
            "swanctl.conf:17: error: unknown option 'connections.tunnel.children.net.locl_ts' (did you mean 'local_ts'?)",
            ex.Message);
        Assert.Equal(2, ex.Errors.Count);
        Assert.Equal(5, ex.Location.Line);
    }

    [Theory]
    [InlineData("auth = psk\n      id = b.example", "auth = pubkey-2048\n      id = b.example", "swanctl.conf:8: error: 'auth = pubkey-2048': key strength constraints ('-2048') are not supported yet")]
    [InlineData("auth = psk\n      id = a.example", "auth = xauth-pam\n      id = a.example", "swanctl.conf:12: error: 'connections.tunnel.remote.auth = xauth-pam' is not supported yet (XAuth is IKEv1 only; Oakley authenticates with psk, pubkey (certificates, raw keys) and eap)")]
    [InlineData("version = 2", "version = 1", "swanctl.conf:3: error: 'connections.tunnel.version = 1' is not supported yet (IKEv1 is not built; Oakley speaks IKEv2)")]
    [InlineData("proposals = aes256gcm16-prfsha256-x25519", "pools = dhcp", "swanctl.conf:6: error: 'connections.tunnel.pools = dhcp' is not supported yet (DHCP address allocation)")]
    [InlineData("  id = b.example", "  id = b.example\n      aaa_id = radius.example", "swanctl.conf:10: error: 'connections.tunnel.local.aaa_id = radius.example' is not supported yet (AAA server identities (the EAP server's identity as checked by the client))")]
    [InlineData("  id = b.example", "  id = b.example\n      xauth_id = carol", "swanctl.conf:10: error: 'connections.tunnel.local.xauth_id = carol' is not supported yet (XAuth is IKEv1 only; Oakley authenticates with psk, pubkey (certificates, raw keys) and eap)")]
    [InlineData("  id = a.example", "  id = a.example\n      ca_id = CN=x", "swanctl.conf:14: error: 'connections.tunnel.remote.ca_id = CN=x' is not supported yet (CA identities (ca_id))")]
    [InlineData("auth = psk\n      id = a.example", "auth = pubkey\n      id = a.example\n      certs = moon.pem", "swanctl.conf:14: error: certificate 'moon.pem' cannot be loaded: the configuration was not read from a swanctl directory")]
    [InlineData("    start_action = trap", "    mode = beet", "swanctl.conf:20: error: 'connections.tunnel.children.net.mode = beet' is not supported yet (Oakley builds tunnel and transport mode)")]
    [InlineData("    start_action = trap", "    ipcomp = yes", "swanctl.conf:20: error: 'connections.tunnel.children.net.ipcomp = yes' is not supported yet (IPComp)")]
    [InlineData("    start_action = trap", "    updown = /usr/lib/ipsec/_updown iptables", "swanctl.conf:20: error: 'connections.tunnel.children.net.updown = /usr/lib/ipsec/_updown iptables' is not supported yet (updown scripts)")]
    [InlineData("    start_action = trap", "    mark_in = 42", "swanctl.conf:20: error: 'connections.tunnel.children.net.mark_in = 42' is not supported yet (netfilter marks)")]
    [InlineData("proposals = aes256gcm16-prfsha256-x25519", "local_port = 4501", "swanctl.conf:6: error: 'connections.tunnel.local_port = 4501' is not supported yet (a per-connection IKE port: the daemon's --port sets it)")]
    [InlineData("  id = b.example\n    }", "  id = b.example\n      cert-hsm {\n        handle = 0a0b\n      }\n    }", "swanctl.conf:10: error: 'connections.tunnel.local.cert-hsm' is not supported yet (certificates on PKCS#11 tokens; use certs = FILE)")]
    [InlineData("      auth = psk\n      id = a.example", "      auth = psk\n      cert_policy = 1.2.3\n      id = a.example", "swanctl.conf:13: error: 'connections.tunnel.remote.cert_policy = 1.2.3' is not supported yet (certificate policy constraints)")]
    public void NotBuiltYet_IsAnError_ThatSaysSo(string from, string to, string expected) => Assert.Equal(expected, Refused(Edit(from, to)));

    [Fact]
    public void NotBuiltYet_Sections_AreErrors()
    {
        Assert.Equal("swanctl.conf:35: error: 'pools.p1.dhcp = 10.3.0.1' is not supported yet (INTERNAL_IP4_DHCP / INTERNAL_IP6_DHCP attributes)", Refused(Responder + "\npools {\n  p1 {\n    addrs = 10.3.0.0/16\n    dhcp = 10.3.0.1\n  }\n}\n"));
        Assert.Equal("swanctl.conf:34: error: unknown option 'authorities.ca.cacrt' (did you mean 'cacert'?)", Refused(Responder + "\nauthorities {\n  ca {\n    cacrt = ca.pem\n  }\n}\n"));
        Assert.Equal("swanctl.conf:34: error: certificate 'ca.pem' cannot be loaded: the configuration was not read from a swanctl directory", Refused(Responder + "\nauthorities {\n  ca {\n    cacert = ca.pem\n  }\n}\n"));

        // No remote section is strongSwan's default round, auth = pubkey: the peer must present a trusted certificate.
        var noRemote = Load(Edit("    remote {\n      auth = psk\n      id = a.example\n    }\n", string.Empty));
        Assert.Equal(AuthClass.PublicKey, Assert.Single(noRemote.Connections).Ike.RemoteAuth.Class);
    }

    [Theory]
    [InlineData("    ipcomp = no\n    policies = yes\n    mark_in = 0/0x00000000\n    sha256_96 = no\n    ah_proposals = \n    start_action = trap")]
    [InlineData("    start_action = trap\n    reqid = 0\n    tfc_padding = 0\n    if_id_out = 0")]
    public void NotBuiltKeys_WithTheValueOakleyUses_LoadSilently(string childKeys)
    {
        var text = Edit("    start_action = trap", childKeys).Replace("    proposals =", "    local_port = 500\n    childless = allow\n    mediation = no\n    proposals =", StringComparison.Ordinal);
        var config = Load(text);
        Assert.Single(config.Connections);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void HarmlessKeys_AreWarningsWithFileAndLine_AndTheRestLoads()
    {
        var text = Edit("proposals = aes256gcm16-prfsha256-x25519", "proposals = aes256gcm16-prfsha256-x25519\n    dscp = 101000")
            .Replace("    start_action = trap", "    start_action = trap\n        replay_window = 64", StringComparison.Ordinal);
        var config = Load(text);
        Assert.Equal(
            [
                "swanctl.conf:7: warning: 'connections.tunnel.dscp' is not supported yet and is ignored (IKE packets leave with the host's default DSCP)",
                "swanctl.conf:22: warning: 'connections.tunnel.children.net.replay_window' is not supported yet and is ignored (Oakley's anti-replay window is always 128 packets)",
            ],
            config.Warnings.Select(w => w.ToString()));
        Assert.Equal("203.0.113.0/24", Assert.Single(Assert.Single(Assert.Single(config.Connections).Ike.Children).LocalTs).ToString());
    }

    [Fact]
    public void OtherSecretTypes_AreIgnoredWithAWarning_ButTheirKeysAreChecked()
    {
        var ntlm = Responder + "\nsecrets {\n  ntlm-carol {\n    id = carol\n    secret = x\n  }\n}\n";
        Assert.Equal(["swanctl.conf:33: warning: 'secrets.ntlm-carol' is not supported yet and is ignored (NTLM secrets: NT hashes for EAP-MSCHAPv2 are not built; give the password in an eap- secret)"], Load(ntlm).Warnings.Select(w => w.ToString()));
        Assert.Equal("swanctl.conf:34: error: unknown option 'secrets.rsa-moon.fil' (did you mean 'file'?)", Refused(Responder + "\nsecrets {\n  rsa-moon {\n    fil = moon.pem\n  }\n}\n"));
    }

    [Fact]
    public void DuplicateConnection_InOneFile_NamesBothLines()
    {
        var text = Responder + "\nconnections {\n  tunnel {\n    rekey_time = 1h\n  }\n}\n";
        Assert.Equal("swanctl.conf:33: error: connection 'tunnel' is defined twice: at swanctl.conf:2 and at swanctl.conf:33", Refused(text));
    }

    [Fact]
    public void DuplicateConnection_FromTwoIncludes_NamesBothFiles()
    {
        var files = new Dictionary<string, string>
        {
            ["/etc/swanctl/swanctl.conf"] = "include conf.d/*.conf\n",
            ["/etc/swanctl/conf.d/a.conf"] = Responder,
            ["/etc/swanctl/conf.d/b.conf"] = Responder.Replace("ike-ab {", "ike-ab2 {", StringComparison.Ordinal),
        };
        var ex = Assert.Throws<ConfigException>(() => SwanctlLoader.Load(Parser(files).ParseFile("/etc/swanctl/swanctl.conf")));
        Assert.Equal("/etc/swanctl/conf.d/b.conf:2: error: connection 'tunnel' is defined twice: at /etc/swanctl/conf.d/a.conf:2 and at /etc/swanctl/conf.d/b.conf:2", ex.Message);
    }

    [Fact]
    public void DuplicateChildAndSecret_AreErrorsToo()
    {
        var child = Edit("    children {\n", "    children {\n      net {\n        mode = tunnel\n      }\n");
        Assert.Equal("swanctl.conf:19: error: child 'net' of 'connections.tunnel' is defined twice: at swanctl.conf:16 and at swanctl.conf:19", Refused(child));
        var secret = Responder + "\nsecrets {\n  ike-ab {\n    secret = other\n  }\n}\n";
        Assert.Equal("swanctl.conf:33: error: 'secrets.ike-ab' is defined twice: at swanctl.conf:26 and at swanctl.conf:33", Refused(secret));
    }

    [Theory]
    [InlineData("secret = \"\"")]
    [InlineData("secret = 0x")]
    [InlineData("secret = 0s")]
    public void EmptySecret_IsRefused(string line)
    {
        var message = Refused(Edit("secret = \"interop-test-psk-not-secret\"", line));
        Assert.Equal("swanctl.conf:29: error: 'secrets.ike-ab.secret' is empty: a pre-shared key must not be empty", message);
    }

    [Fact]
    public void MissingSecret_IsRefused()
    {
        var text = Edit("    secret = \"interop-test-psk-not-secret\"\n", string.Empty);
        Assert.Equal("swanctl.conf:26: error: missing secret in 'secrets.ike-ab'", Refused(text));
    }

    [Fact]
    public void EmptyFile_AndNoConnections_AreWarnings()
    {
        var empty = Load("# nothing here\n");
        Assert.Empty(empty.Connections);
        Assert.Equal(["swanctl.conf: warning: the configuration is empty: no connections are loaded"], empty.Warnings.Select(w => w.ToString()));
        var secretsOnly = Load("secrets {\n  ike {\n    secret = x\n  }\n}\n");
        Assert.Equal(["swanctl.conf: warning: no connections are defined"], secretsOnly.Warnings.Select(w => w.ToString()));
    }

    [Theory]
    [InlineData(null, "swanctl.conf:2: warning: connection 'tunnel': no shared key found for 'b.example' - 'a.example'")]
    [InlineData("secrets {\n  ike-other {\n    id = c.example\n    secret = x\n  }\n}\n", "swanctl.conf:2: warning: connection 'tunnel': no shared key found for 'b.example' - 'a.example'")]
    [InlineData("secrets {\n  ike-a {\n    id = a.example\n    secret = x\n  }\n}\n", null)]
    [InlineData("secrets {\n  ike-any {\n    secret = x\n  }\n}\n", null)]
    public void PskConnection_WithoutAMatchingSecret_IsAWarning(string? secrets, string? expected)
    {
        var text = Responder[..Responder.IndexOf("secrets {", StringComparison.Ordinal)] + (secrets ?? string.Empty);
        var config = Load(text);
        Assert.Single(config.Connections);
        Assert.Equal(expected is null ? [] : [expected], config.Warnings.Select(w => w.ToString()));
        Assert.Equal(expected is null, config.Secrets.FindSharedKey(Identity.Parse("b.example"), Identity.Parse("a.example")) is not null);
    }

    [Fact]
    public void PskConnection_ToAnyPeer_WarnsOnlyWithoutAnySecret()
    {
        var anyPeer = Edit("  id = a.example", "  id = %any");
        var noSecrets = anyPeer[..anyPeer.IndexOf("secrets {", StringComparison.Ordinal)];
        Assert.Equal(["swanctl.conf:2: warning: connection 'tunnel': no shared key found for 'b.example' - '%any'"], Load(noSecrets).Warnings.Select(w => w.ToString()));
        Assert.Empty(Load(anyPeer).Warnings); // the secret names a.example: a peer with that identity finds it
    }

    [Theory]
    [InlineData("locl_ts", "local_ts", 1)]
    [InlineData("lcoal_ts", "local_ts", 1)]
    [InlineData("remote_ts", "local_ts", 6)]
    [InlineData("", "id", 2)]
    public void EditDistance_CountsTranspositionsAsOne(string a, string b, int expected) => Assert.Equal(expected, DidYouMean.Distance(a, b));
}
