using System.Net;
using Oakley.Config;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Config.Tests;

public class SwanctlConfigTests
{
    // The responder of shared/interop.md, as a strongSwan user writes it.
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
                start_action = trap   # comment after a value
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

    [Fact]
    public void InteropRecipe_LoadsWithStrongSwanSemantics()
    {
        var config = SwanctlLoader.Load(Parser().ParseText(Responder, "swanctl.conf"));
        Assert.Empty(config.Warnings);
        var conn = Assert.Single(config.Connections);
        Assert.Equal("tunnel", conn.Ike.Name);
        Assert.Equal(IPAddress.Parse("192.0.2.2"), Assert.Single(conn.Ike.LocalAddresses));
        Assert.Equal("aes256gcm16-prfsha256-curve25519", Assert.Single(conn.Ike.Proposals).ToString());
        Assert.Equal("b.example", conn.Ike.LocalId.ToString());
        Assert.Equal(IdentificationType.Fqdn, conn.Ike.LocalId.Type);
        var child = Assert.Single(conn.Ike.Children);
        Assert.Equal("203.0.113.0/24", Assert.Single(child.LocalTs).ToString());
        Assert.False(child.LocalTsDynamic);
        Assert.Equal(ChildAction.Trap, conn.ChildPolicies["net"].StartAction);
        Assert.Equal(TimeSpan.FromHours(1), child.RekeyTime);
        Assert.Equal(TimeSpan.FromHours(1.1), child.LifeTime);
        Assert.Equal(TimeSpan.FromHours(4), conn.Ike.RekeyTime);
        Assert.Equal("interop-test-psk-not-secret"u8.ToArray(), config.Secrets.FindSharedKey(Identity.Parse("b.example"), Identity.Parse("a.example")));
    }

    [Theory]
    [InlineData("secret = 0x696b65", "ike")]
    [InlineData("secret = 0saWtl", "ike")]
    [InlineData("secret = ike", "ike")]
    [InlineData("secret = \"i\\x6be\"", "ix6be")]
    public void Secrets_SupportHexAndBase64(string line, string expected)
    {
        var config = SwanctlLoader.Load(Parser().ParseText($"secrets {{\n ike {{\n id = a.example\n {line}\n }}\n}}\n"));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(expected), config.Secrets.FindSharedKey(Identity.Parse("a.example"), null));
    }

    [Fact]
    public void Secrets_PercentAnyIsAWildcard_ThatTheIdentityItselfBeats()
    {
        var config = SwanctlLoader.Load(Parser().ParseText(
            "secrets {\n ike-any {\n id = %any\n secret = for-anyone\n }\n"
            + " ike-a {\n id-1 = gw.example\n id-2 = a.example\n secret = for-a\n }\n}\n"));
        var gw = Identity.Parse("gw.example");
        Assert.Equal("for-anyone"u8.ToArray(), config.Secrets.FindSharedKey(gw, Identity.Parse("roadwarrior.example")));
        Assert.Equal("for-a"u8.ToArray(), config.Secrets.FindSharedKey(gw, Identity.Parse("a.example")));
        Assert.Null(new CredentialStore().FindSharedKey(gw, Identity.Parse("a.example")));
    }

    [Fact]
    public void Defaults_FollowStrongSwan()
    {
        var text = "connections { c { remote_addrs = 192.0.2.1\n local_addrs = 192.0.2.2\n local { auth = psk } remote { auth = psk } children { x { } } } }";
        var conn = Assert.Single(SwanctlLoader.Load(Parser().ParseText(text.Replace("{ auth = psk }", "{\n auth = psk\n }", StringComparison.Ordinal))).Connections);
        Assert.Equal("192.0.2.2", conn.Ike.LocalId.ToString()); // the id defaults to the local address
        Assert.Null(conn.Ike.RemoteId);                          // %any
        var child = Assert.Single(conn.Ike.Children);
        Assert.True(child.LocalTsDynamic);
        Assert.True(child.RemoteTsDynamic);
        Assert.Equal(ProposalString.FormatList(ProposalString.ParseList("default", ProtocolId.Esp)), ProposalString.FormatList(child.EspProposals));
        Assert.Equal(ChildAction.None, conn.ChildPolicies["x"].StartAction);
        Assert.Equal(ChildAction.Clear, conn.ChildPolicies["x"].DpdAction);
        Assert.Equal(1, conn.KeyingTries);
        Assert.Equal("no", conn.Unique);
    }

    [Fact]
    public void Includes_WithGlobs_AreRelativeToTheIncludingFile()
    {
        var files = new Dictionary<string, string>
        {
            ["/etc/oakley/swanctl.conf"] = "include conf.d/*.conf\nsecrets {\n ike {\n  secret = x\n }\n}\n",
            ["/etc/oakley/conf.d/a.conf"] = Responder.Replace("tunnel {", "alpha {", StringComparison.Ordinal),
            ["/etc/oakley/conf.d/b.conf"] = Responder.Replace("tunnel {", "beta {", StringComparison.Ordinal).Replace("ike-ab {", "ike-ab2 {", StringComparison.Ordinal),
        };
        var config = SwanctlLoader.Load(Parser(files).ParseFile("/etc/oakley/swanctl.conf"));
        Assert.Equal(["alpha", "beta"], config.Connections.Select(c => c.Ike.Name));
        Assert.Equal(3, config.Secrets.Count); // the secrets sections of the three files merge into one, as in strongSwan
    }

    [Theory]
    [InlineData("connections {\n  c {\n    version = 2\n", "swanctl.conf:4", "not closed")]
    [InlineData("connections {\n}\n}\n", "swanctl.conf:3:1", "unexpected '}'")]
    [InlineData("connections {\n  c\n}\n", "swanctl.conf:2:4", "expected '='")]
    [InlineData("a = \"open\n", "swanctl.conf:1:5", "unterminated quoted string")]
    public void SyntaxErrors_HaveFileLineAndCaret(string text, string where, string message)
    {
        var ex = Assert.Throws<ConfigException>(() => Parser().ParseText(text, "swanctl.conf"));
        Assert.Contains(where, ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        if (ex.Message.Contains('\n', StringComparison.Ordinal))
        {
            Assert.Contains("^", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("proposals = aes256gcm16-ecp384", "swanctl.conf:6", "PRF algorithm is mandatory")]
    [InlineData("remote_addrs = vpn.example.com", "swanctl.conf:6", "not an IP address")]
    [InlineData("rekey_time = soon", "swanctl.conf:6", "is not a time")]
    [InlineData("keyingtries = -1", "swanctl.conf:6", "must be an integer")]
    [InlineData("unique = sometimes", "swanctl.conf:6", "must be one of")]
    public void InvalidValues_AreErrorsWithFileAndLine(string line, string where, string message)
    {
        var text = Responder.Replace("    proposals = aes256gcm16-prfsha256-x25519", "    " + line, StringComparison.Ordinal);
        var ex = Assert.Throws<ConfigException>(() => SwanctlLoader.Load(Parser().ParseText(text, "swanctl.conf")));
        Assert.Contains(where, ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChildLifetimes_ParseAsSwanctlWritesThem()
    {
        var text = Responder.Replace("        esp_proposals = aes256gcm16\n", "        esp_proposals = aes256gcm16\n        rekey_time = 20m\n        rand_time = 2m\n        rekey_bytes = 500m\n        rekey_packets = 1000000\n        life_packets = 2k\n", StringComparison.Ordinal);
        var config = SwanctlLoader.Load(Parser().ParseText(text, "swanctl.conf"));
        var child = Assert.Single(Assert.Single(config.Connections).Ike.Children);
        Assert.Equal(TimeSpan.FromMinutes(20), child.RekeyTime);
        Assert.Equal(TimeSpan.FromMinutes(22), child.LifeTime); // rekey_time + 10%
        Assert.Equal(TimeSpan.FromMinutes(2), child.RandTime);
        Assert.Equal(500UL << 20, child.RekeyBytes);
        Assert.Equal((500UL << 20) / 10 * 11, child.LifeBytes);
        Assert.Equal(1_000_000UL, child.RekeyPackets);
        Assert.Equal(2048UL, child.LifePackets);
        Assert.DoesNotContain(config.Warnings, w => w.Message.Contains("bytes", StringComparison.Ordinal) || w.Message.Contains("packets", StringComparison.Ordinal));

        var bad = Responder.Replace("        esp_proposals = aes256gcm16\n", "        esp_proposals = aes256gcm16\n        rekey_bytes = lots\n", StringComparison.Ordinal);
        var ex = Assert.Throws<ConfigException>(() => SwanctlLoader.Load(Parser().ParseText(bad, "swanctl.conf")));
        Assert.Contains("swanctl.conf:20", ex.Message, StringComparison.Ordinal);
        Assert.Contains("is not a count", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, Fragmentation.Yes)]
    [InlineData("yes", Fragmentation.Yes)]
    [InlineData("accept", Fragmentation.Accept)]
    [InlineData("force", Fragmentation.Force)]
    [InlineData("no", Fragmentation.No)]
    public void Fragmentation_MapsSwanctlValues_DefaultYes(string? value, Fragmentation expected)
    {
        var text = value is null ? Responder : Responder.Replace("    proposals =", $"    fragmentation = {value}\n    proposals =", StringComparison.Ordinal);
        var config = SwanctlLoader.Load(Parser().ParseText(text, "swanctl.conf"));
        Assert.Equal(expected, Assert.Single(config.Connections).Ike.Fragmentation);
        Assert.DoesNotContain(config.Warnings, w => w.Message.Contains("fragmentation", StringComparison.Ordinal));

        var bad = Responder.Replace("    proposals =", "    fragmentation = sometimes\n    proposals =", StringComparison.Ordinal);
        var ex = Assert.Throws<ConfigException>(() => SwanctlLoader.Load(Parser().ParseText(bad, "swanctl.conf")));
        Assert.Contains("swanctl.conf:6", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mobike_DefaultsToYes_AndHarmlessKeysWarn()
    {
        var text = Responder.Replace("    proposals =", "    dscp = 101000\n    mobike = no\n    proposals =", StringComparison.Ordinal);
        var config = SwanctlLoader.Load(Parser().ParseText(text, "swanctl.conf"));
        Assert.Single(config.Connections);
        Assert.False(config.Connections[0].Ike.Mobike);
        Assert.True(SwanctlLoader.Load(Parser().ParseText(Responder, "swanctl.conf")).Connections[0].Ike.Mobike); // strongSwan's default
        Assert.DoesNotContain(config.Warnings, w => w.Message.Contains("mobike", StringComparison.Ordinal));
        Assert.Contains(config.Warnings, w => w.ToString().StartsWith("swanctl.conf:6: warning", StringComparison.Ordinal) && w.Message.Contains("dscp", StringComparison.Ordinal));
    }

    [Fact]
    public void Ikev1Connections_AndPubkeyWithoutACertificate_RefuseTheFile()
    {
        var v1 = Assert.Throws<ConfigException>(() => SwanctlLoader.Load(Parser().ParseText(Responder.Replace("version = 2", "version = 1", StringComparison.Ordinal), "swanctl.conf")));
        Assert.Contains("not supported yet", v1.Message, StringComparison.Ordinal);
        var pubkey = Assert.Throws<ConfigException>(() => SwanctlLoader.Load(Parser().ParseText(Responder.Replace("auth = psk\n      id = b.example", "auth = pubkey\n      id = b.example", StringComparison.Ordinal), "swanctl.conf")));
        Assert.Equal("swanctl.conf:7: error: connection 'tunnel': local.auth = pubkey, and no certificate in x509/ confirms id 'b.example' (set local.certs)", pubkey.Message);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("192.0.2.7", "192.0.2.7/32")]
    [InlineData("2001:db8::/32", "2001:db8::/32")]
    [InlineData("10.0.0.0/24[tcp/443]", "10.0.0.0/24[6/443]")]
    [InlineData("10.0.0.1-10.0.0.9", "10.0.0.1..10.0.0.9")]
    public void TrafficSelectors_ParseSwanctlNotation(string text, string canonical) =>
        Assert.Equal(canonical, TrafficSelectorRange.Parse(text).ToString());
}
