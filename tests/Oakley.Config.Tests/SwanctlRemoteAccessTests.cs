using System.Net;
using Oakley.Engine;
using Oakley.Engine.Eap;
using Oakley.Engine.Pools;

namespace Oakley.Config.Tests;

/// <summary>
/// Remote access in swanctl.conf: EAP rounds (auth = eap-*, eap_id), eap- secrets, the pools section and a
/// connection's vips and pools. Errors are asserted with their file:line and exact message.
/// </summary>
public class SwanctlRemoteAccessTests
{
    // Line numbers: 2 the connection, 3 local_addrs, 4 vips/pools slot, 5-8 local (6 auth, 7 id), 9-12 remote (10 auth),
    // 13-18 children, 21 pools, 22-26 the pool p4 (23 addrs, 24 dns), 29-32 secrets.eap-carol (31 secret), 33-35 ike-moon.
    private const string Gateway = """
        connections {
          rw {
            local_addrs = 192.0.2.1
            pools = p4
            local {
              auth = psk
              id = 192.0.2.1
            }
            remote {
              auth = eap-mschapv2
              id = %any
            }
            children {
              net {
                local_ts = 0.0.0.0/0
                remote_ts = dynamic
              }
            }
          }
        }
        pools {
          p4 {
            addrs = 10.3.0.0/28
            dns = 192.0.2.53, 2001:db8::53
            nbns = 192.0.2.137
          }
        }
        secrets {
          eap-carol {
            id = carol@example.org
            secret = "not-a-real-password"
          }
          ike-moon {
            secret = "not-a-real-psk"
          }
        }
        """;

    // A client: local EAP, remote pubkey (raw key check is not at load time: pubkey needs certs, so the remote round is psk here).
    private const string Client = """
        connections {
          home {
            remote_addrs = 192.0.2.1
            vips = 0.0.0.0, ::
            local {
              auth = eap-md5
              id = carol@example.org
            }
            remote {
              auth = psk
              id = 192.0.2.1
            }
          }
        }
        """;

    private static SwanctlConfig Load(string text) => SwanctlLoader.Load(new SettingsParser(_ => throw new FileNotFoundException(), _ => []).ParseText(text, "swanctl.conf"));

    private static string Refused(string text) => Assert.Throws<ConfigException>(() => Load(text)).Message;

    private static string Edit(string text, string from, string to)
    {
        Assert.Contains(from, text, StringComparison.Ordinal);
        return text.Replace(from, to, StringComparison.Ordinal);
    }

    private static string GatewayWithPool(string poolBody) => Edit(Gateway, "    addrs = 10.3.0.0/28\n    dns = 192.0.2.53, 2001:db8::53\n    nbns = 192.0.2.137\n", poolBody);

    [Theory]
    [InlineData("eap", null, false, false)]
    [InlineData("eap-md5", EapType.Md5, false, false)]
    [InlineData("eap-mschapv2", EapType.MsChapV2, false, false)]
    [InlineData("EAP-MSCHAPv2", EapType.MsChapV2, false, false)]
    [InlineData("eap-gtc", EapType.Gtc, false, false)]
    [InlineData("eap-tls", EapType.Tls, false, false)]
    [InlineData("eap-ttls", EapType.Ttls, false, false)]
    [InlineData("eap-peap", EapType.Peap, false, false)]
    [InlineData("eap-26", EapType.MsChapV2, false, false)]
    [InlineData("eap-0x04", EapType.Md5, false, false)]
    [InlineData("eap-radius", null, false, true)]
    [InlineData("eap-dynamic", null, true, false)]
    public void RemoteEapRounds_MapToTheMethod(string auth, EapType? method, bool dynamic, bool radius)
    {
        var ike = Assert.Single(Load(Edit(Gateway, "auth = eap-mschapv2", "auth = " + auth)).Connections).Ike;
        Assert.Equal(AuthClass.Eap, ike.RemoteAuth.Class);
        Assert.Equal(method, ike.RemoteAuth.EapMethod);
        Assert.Equal(dynamic, ike.RemoteAuth.EapDynamic);
        Assert.Equal(radius, ike.RemoteAuth.EapRadius);
        Assert.Null(ike.RemoteAuth.EapId);
    }

    [Theory]
    [InlineData("eap", null)]
    [InlineData("eap-md5", EapType.Md5)]
    [InlineData("eap-gtc", EapType.Gtc)]
    [InlineData("eap-sim", (EapType)18)]
    public void LocalEapRounds_MapToTheMethod(string auth, EapType? method)
    {
        var ike = Assert.Single(Load(Edit(Client, "auth = eap-md5", "auth = " + auth)).Connections).Ike;
        Assert.Equal(AuthClass.Eap, ike.LocalAuth.Class);
        Assert.Equal(method, ike.LocalAuth.EapMethod);
        Assert.False(ike.LocalAuth.EapDynamic);
        Assert.False(ike.LocalAuth.EapRadius);
        Assert.Equal([IPAddress.Any, IPAddress.IPv6Any], ike.Vips);
        Assert.Empty(ike.Pools);
    }

    [Theory]
    [InlineData("eap-radius", "swanctl.conf:6: error: 'auth = eap-radius' is for remote rounds only (a gateway relays the client's EAP to RADIUS); a local round uses eap or eap-<method>")]
    [InlineData("eap-dynamic", "swanctl.conf:6: error: 'auth = eap-dynamic' is for remote rounds only (a gateway lets the client choose the method); a local round uses eap or eap-<method>")]
    [InlineData("eap-foo", "swanctl.conf:6: error: invalid value for 'auth': 'eap-foo' (unknown EAP method 'foo': md5, mschapv2, gtc, tls, ttls, peap, radius, dynamic or a method number)")]
    [InlineData("eap-3", "swanctl.conf:6: error: invalid value for 'auth': 'eap-3' (EAP type 3 is not an authentication method)")]
    [InlineData("eap-254", "swanctl.conf:6: error: invalid value for 'auth': 'eap-254' (EAP type 254 is not an authentication method)")]
    [InlineData("eap-300", "swanctl.conf:6: error: invalid value for 'auth': 'eap-300' (unknown EAP method '300': md5, mschapv2, gtc, tls, ttls, peap, radius, dynamic or a method number)")]
    [InlineData("eap-26-12345", "swanctl.conf:6: error: 'auth = eap-26-12345': vendor-specific EAP methods are not supported yet")]
    [InlineData("eap-tls:ecdsa", "swanctl.conf:6: error: 'auth = eap-tls:ecdsa': public key constraints on EAP rounds ('eap-tls:...') are not supported yet")]
    [InlineData("eapfoo", "swanctl.conf:6: error: invalid value for 'auth': 'eapfoo' (eap or eap-<method>)")]
    [InlineData("xauth", "swanctl.conf:6: error: 'connections.home.local.auth = xauth' is not supported yet (XAuth is IKEv1 only; Oakley authenticates with psk, pubkey (certificates, raw keys) and eap)")]
    public void BadLocalEapRounds_AreErrorsWithFileAndLine(string auth, string expected) =>
        Assert.Equal(expected, Refused(Edit(Client, "auth = eap-md5", "auth = " + auth)));

    [Fact]
    public void EapId_OnBothRounds_AndAnyAsksWithEapIdentity()
    {
        var client = Assert.Single(Load(Edit(Client, "  id = carol@example.org", "  id = carol@example.org\n      eap_id = carol")).Connections).Ike;
        Assert.Equal(Identity.Parse("carol"), client.LocalAuth.EapId);

        var gateway = Assert.Single(Load(Edit(Gateway, "  id = %any", "  id = %any\n      eap_id = %any")).Connections).Ike;
        Assert.Equal(Identity.Parse("%any"), gateway.RemoteAuth.EapId);
        var named = Assert.Single(Load(Edit(Gateway, "  id = %any", "  id = %any\n      eap_id = carol@example.org")).Connections).Ike;
        Assert.Equal(Identity.Parse("carol@example.org"), named.RemoteAuth.EapId);

        Assert.Equal(
            "swanctl.conf:8: error: 'eap_id = %any' is for remote rounds (ask the client with EAP-Identity); a local round's eap_id is the identity we authenticate as",
            Refused(Edit(Client, "  id = carol@example.org", "  id = carol@example.org\n      eap_id = %any")));
    }

    [Fact]
    public void EapId_OnANonEapRound_IsIgnoredWithAWarning()
    {
        var config = Load(Edit(Gateway, "  id = 192.0.2.1", "  id = 192.0.2.1\n      eap_id = moon"));
        Assert.Equal(["swanctl.conf:8: warning: 'connections.rw.local.eap_id' is ignored: the round's auth is not eap"], config.Warnings.Select(w => w.ToString()));
    }

    [Theory]
    [InlineData("\"not-a-real-password\"", "not-a-real-password")]
    [InlineData("0x6e6f742d612d7265616c", "not-a-real")]
    [InlineData("0sbm90LWEtcmVhbA==", "not-a-real")]
    public void EapSecrets_AreLoaded_PlainHexOrBase64(string value, string expected)
    {
        var config = Load(Edit(Gateway, "secret = \"not-a-real-password\"", "secret = " + value));
        Assert.Equal(1, config.Secrets.EapCount);
        Assert.Equal(1, config.Secrets.Count); // ike-moon
        var secret = config.Secrets.FindEapSecret(Identity.Parse("carol@example.org"), null);
        Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(Assert.IsType<byte[]>(secret)));
        Assert.Null(config.Secrets.FindEapSecret(Identity.Parse("dave@example.org"), null));
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void EapSecrets_WithSeveralIds_AndBadOnes_AreRefused()
    {
        var two = Load(Edit(Gateway, "    id = carol@example.org\n", "    id-a = carol@example.org\n    id-b = 192.0.2.1\n"));
        Assert.NotNull(two.Secrets.FindEapSecret(Identity.Parse("carol@example.org"), Identity.Parse("192.0.2.1")));

        Assert.Equal("swanctl.conf:31: error: 'secrets.eap-carol.secret' is empty: an EAP secret must not be empty", Refused(Edit(Gateway, "secret = \"not-a-real-password\"", "secret = 0x")));
        Assert.Equal("swanctl.conf:29: error: missing secret in 'secrets.eap-carol'", Refused(Edit(Gateway, "    secret = \"not-a-real-password\"\n", string.Empty)));
        var badHex = Refused(Edit(Gateway, "secret = \"not-a-real-password\"", "secret = 0xnothex"));
        Assert.Equal("swanctl.conf:31: error: 'secret' is not valid hex", badHex);
        Assert.DoesNotContain("not-a-real-password", Refused(Edit(Gateway, "    id = carol@example.org\n", "    id = carol@example.org\n    sekret = x\n")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("eap-md5", null, "swanctl.conf:2: warning: connection 'home': no EAP secret found for 'carol@example.org' - '192.0.2.1'")]
    [InlineData("eap-md5\n      eap_id = carol", "secrets {\n  eap-x {\n    id = carol@example.org\n    secret = x\n  }\n}\n", "swanctl.conf:2: warning: connection 'home': no EAP secret found for 'carol' - '192.0.2.1'")]
    [InlineData("eap-md5\n      eap_id = carol", "secrets {\n  eap-x {\n    id = carol\n    secret = x\n  }\n}\n", null)]
    [InlineData("eap", "secrets {\n  eap-x {\n    secret = x\n  }\n}\n", null)]
    [InlineData("eap-tls", null, null)]
    public void LocalEapRound_WithoutASecret_IsAWarning(string auth, string? secrets, string? expected)
    {
        var config = Load(Edit(Client, "auth = eap-md5", "auth = " + auth) + (secrets ?? string.Empty));
        Assert.Single(config.Connections);
        Assert.Equal(expected is null ? [] : [expected], config.Warnings.Where(w => !w.Message.Contains("shared key", StringComparison.Ordinal)).Select(w => w.ToString()));
    }

    [Fact]
    public void RemoteEapRound_WithoutASecret_IsNotAWarning()
    {
        var config = Load(Edit(Gateway, "  eap-carol {\n    id = carol@example.org\n    secret = \"not-a-real-password\"\n  }\n", string.Empty));
        Assert.Empty(config.Warnings); // the password may come from RADIUS
    }

    [Fact]
    public void Pools_AreLoaded_WithTheirAttributes()
    {
        var config = Load(Edit(Gateway, "    nbns = 192.0.2.137\n", "    nbns = 192.0.2.137\n    subnet = 198.51.100.0/24, 2001:db8:1::/48\n    split_include = 198.51.100.0/25\n    split_exclude = 203.0.113.7\n  }\n  p6 {\n    addrs = 2001:db8:ffff::/120\n"));
        Assert.Equal(["p4", "p6"], config.Pools.Select(p => p.Name));
        var p4 = config.Pools[0];
        Assert.Equal("10.3.0.0/28", p4.Addresses);
        Assert.Equal([IPAddress.Parse("192.0.2.53"), IPAddress.Parse("2001:db8::53")], p4.Dns);
        Assert.Equal([IPAddress.Parse("192.0.2.137")], p4.Nbns);
        Assert.Equal([IPNetwork.Parse("198.51.100.0/24"), IPNetwork.Parse("2001:db8:1::/48")], p4.Subnets);
        Assert.Equal([IPNetwork.Parse("198.51.100.0/25")], p4.SplitInclude);
        Assert.Equal([IPNetwork.Parse("203.0.113.7/32")], p4.SplitExclude);
        Assert.Equal("2001:db8:ffff::/120", config.Pools[1].Addresses);
        Assert.Empty(config.Pools[1].Dns);
        Assert.Equal(["p4"], Assert.Single(config.Connections).Ike.Pools);
    }

    [Theory]
    [InlineData("10.3.0.0/28", "10.3.0.0/28", "10.3.0.1", 14)] // the network ID and the broadcast address are left out
    [InlineData("10.3.0.5/28", "10.3.0.5-10.3.0.14", "10.3.0.5", 10)] // strongSwan: from .5 up, without the last address
    [InlineData("10.3.0.14/28", "10.3.0.14-10.3.0.14", "10.3.0.14", 1)]
    [InlineData("10.3.0.1/31", "10.3.0.1-10.3.0.1", "10.3.0.1", 1)]
    [InlineData("10.3.0.9/32", "10.3.0.9/32", "10.3.0.9", 1)]
    [InlineData("10.3.0.10 - 10.3.0.20", "10.3.0.10-10.3.0.20", "10.3.0.10", 11)]
    [InlineData("10.3.0.10-10.3.0.10", "10.3.0.10-10.3.0.10", "10.3.0.10", 1)]
    [InlineData("2001:db8::100-2001:db8::1ff", "2001:db8::100-2001:db8::1ff", "2001:db8::100", 256)]
    public void PoolAddrs_AreWhatStrongSwanServes(string addrs, string normalized, string first, int size)
    {
        var pool = Assert.Single(Load(GatewayWithPool($"    addrs = {addrs}\n")).Pools);
        Assert.Equal(normalized, pool.Addresses);
        var built = AddressPool.Parse(pool.Name, pool.Addresses!);
        Assert.Equal(size, (int)built.Size);
        Assert.Equal(IPAddress.Parse(first), built.Acquire(Identity.Parse("carol@example.org")));
    }

    [Fact]
    public void PoolWithoutAddrs_HasAttributesOnly()
    {
        var pool = Assert.Single(Load(GatewayWithPool("    dns = 192.0.2.53\n")).Pools);
        Assert.Null(pool.Addresses);
        Assert.Equal([IPAddress.Parse("192.0.2.53")], pool.Dns);
    }

    [Theory]
    [InlineData("    addrs = 10.3.0.300/24\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3.0.300' is not an IP address")]
    [InlineData("    addrs = 10.3.0.0\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3.0.0' is not a CIDR subnet or an address range (e.g. 10.3.0.0/16 or 10.3.0.1-10.3.0.99)")]
    [InlineData("    addrs = 10.3/16\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3' is not an IP address")]
    [InlineData("    addrs = 10.3.0.0/33\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3.0.0/33' has an invalid prefix length (0 to 32)")]
    [InlineData("    addrs = 10.3.0.9-10.3.0.1\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3.0.9-10.3.0.1' is empty (the first address is above the last)")]
    [InlineData("    addrs = 10.3.0.255/24\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3.0.255/24' is empty (no address above 10.3.0.255 in the subnet but its last one)")]
    [InlineData("    addrs = 10.3.0.1-2001:db8::1\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3.0.1-2001:db8::1' mixes IPv4 and IPv6")]
    [InlineData("    addrs = 10.3.0.1-10.3.0.2-10.3.0.3\n", "swanctl.conf:23: error: pools.p4.addrs: '10.3.0.1-10.3.0.2-10.3.0.3' is not a CIDR subnet or an address range (e.g. 10.3.0.0/16 or 10.3.0.1-10.3.0.99)")]
    [InlineData("    dns = 192.0.2.53, dns.example\n", "swanctl.conf:23: error: pools.p4.dns: 'dns.example' is not an IP address")]
    [InlineData("    nbns = 2001:db8::137\n", "swanctl.conf:23: error: pools.p4.nbns: '2001:db8::137' is IPv6; NBNS servers are IPv4 only (INTERNAL_IP4_NBNS)")]
    [InlineData("    subnet = 198.51.100.1/24\n", "swanctl.conf:23: error: pools.p4.subnet: '198.51.100.1/24' is not a network address (bits are set after the prefix)")]
    [InlineData("    split_include = 198.51.100.0/40\n", "swanctl.conf:23: error: pools.p4.split_include: '198.51.100.0/40' has an invalid prefix length (0 to 32)")]
    [InlineData("    netmask = 255.255.255.0\n", "swanctl.conf:23: error: 'pools.p4.netmask = 255.255.255.0' is not supported yet (INTERNAL_IP4_NETMASK attributes)")]
    [InlineData("    server = 192.0.2.1\n", "swanctl.conf:23: error: 'pools.p4.server = 192.0.2.1' is not supported yet (INTERNAL_IP4_SERVER / INTERNAL_IP6_SERVER attributes)")]
    [InlineData("    p_cscf = 192.0.2.5\n", "swanctl.conf:23: error: 'pools.p4.p_cscf = 192.0.2.5' is not supported yet (P-CSCF attributes (RFC 7651))")]
    [InlineData("    25 = abc\n", "swanctl.conf:23: error: 'pools.p4.25 = abc' is not supported yet (configuration attributes by number)")]
    [InlineData("    dsn = 192.0.2.53\n", "swanctl.conf:23: error: unknown option 'pools.p4.dsn' (did you mean 'dns'?)")]
    [InlineData("    addrs = 10.3.0.0/28\n    sub {\n    }\n", "swanctl.conf:24: error: invalid section 'pools.p4.sub' (a pool has no sections)")]
    public void BadPools_AreErrorsWithFileAndLine(string body, string expected) => Assert.Equal(expected, Refused(GatewayWithPool(body)));

    [Fact]
    public void NotBuiltPoolAttributes_LeftEmpty_LoadSilently()
    {
        var config = Load(GatewayWithPool("    addrs = 10.3.0.0/28\n    dhcp =\n    netmask =\n    25 =\n"));
        Assert.Single(config.Pools);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void ReservedPoolNames_AndStrayValues_AreErrors()
    {
        var radius = Edit(Gateway, "  p4 {", "  radius {").Replace("pools = p4", "pools = radius", StringComparison.Ordinal);
        Assert.Equal("swanctl.conf:22: error: 'pools.radius': the pool name 'radius' is reserved (pools = radius in a connection means addresses from RADIUS)", Refused(radius));
        Assert.Equal("swanctl.conf:22: error: unknown option 'pools.addrs' (a pool is a section: 'addrs { addrs = ... }')", Refused(Edit(Gateway, "  p4 {", "  addrs = 10.0.0.0/8\n  p4 {")));
        var twice = Gateway + "\npools {\n  p4 {\n    addrs = 10.4.0.0/24\n  }\n}\n";
        Assert.Equal("swanctl.conf:38: error: 'pools.p4' is defined twice: at swanctl.conf:22 and at swanctl.conf:38", Refused(twice));
    }

    [Theory]
    [InlineData("pools = p5", "swanctl.conf:4: error: connections.rw.pools: no pool 'p5' is defined in the pools section (did you mean 'p4'?)")]
    [InlineData("pools = p4, other", "swanctl.conf:4: error: connections.rw.pools: no pool 'other' is defined in the pools section")]
    [InlineData("pools = radius, dhcp", "swanctl.conf:4: error: 'connections.rw.pools = radius, dhcp' is not supported yet (DHCP address allocation)")]
    [InlineData("vips = 0.0.0.0, 10.3/16", "swanctl.conf:4: error: '10.3/16' in connections.rw.vips is not an IP address (0.0.0.0 and :: ask for any address)")]
    [InlineData("vips = any", "swanctl.conf:4: error: 'any' in connections.rw.vips is not an IP address (0.0.0.0 and :: ask for any address)")]
    public void BadConnectionPoolsAndVips_AreErrors(string line, string expected) => Assert.Equal(expected, Refused(Edit(Gateway, "pools = p4", line)));

    [Fact]
    public void ConnectionPools_KeepTheirOrder_AndRadiusNeedsNoSection()
    {
        var ike = Assert.Single(Load(Edit(Gateway, "pools = p4", "pools = radius, p4")).Connections).Ike;
        Assert.Equal(["radius", "p4"], ike.Pools);
        var vip = Assert.Single(Load(Edit(Client, "vips = 0.0.0.0, ::", "vips = 10.3.0.7")).Connections).Ike;
        Assert.Equal([IPAddress.Parse("10.3.0.7")], vip.Vips);
        Assert.NotEqual(vip.Fingerprint(), Assert.Single(Load(Client).Connections).Ike.Fingerprint());
    }

    [Fact]
    public void Pull_IsAWarningThatNoLongerSaysNoVirtualIp()
    {
        var config = Load(Edit(Client, "vips = 0.0.0.0, ::", "vips = 0.0.0.0\n    pull = no"));
        var warning = Assert.Single(config.Warnings, w => w.Message.Contains("pull", StringComparison.Ordinal));
        Assert.Equal("swanctl.conf:5: warning: 'connections.home.pull' is not supported yet and is ignored (push mode (pull = no) is IKEv1 Mode Config; an IKEv2 client always asks with a CFG_REQUEST)", warning.ToString());
    }

    [Fact]
    public void AnEapOnlyGateway_GetsNoMissingSecretWarning_AClientDoes()
    {
        // The gateway (no remote_addrs) with local auth = eap (EAP-only, RFC 5998) authenticates by the client's method.
        var gateway = Load(Edit(Gateway, "  auth = psk\n      id = 192.0.2.1", "  auth = eap\n      id = 192.0.2.1"));
        Assert.DoesNotContain(gateway.Warnings, w => w.Message.Contains("no EAP secret found", StringComparison.Ordinal));
        var client = Load(Client);
        Assert.Contains(client.Warnings, w => w.Message.Contains("no EAP secret found for 'carol@example.org'", StringComparison.Ordinal));
    }
}
