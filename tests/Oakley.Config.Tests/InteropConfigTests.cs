using System.Diagnostics;

namespace Oakley.Config.Tests;

/// <summary>
/// The configs the interop scripts give Oakley still load, without errors or warnings: tests/interop/lib.sh's
/// psk_conf (run through bash, with the extra keys each script passes) and the scripts' own files.
/// </summary>
public class InteropConfigTests
{
    private static string Lib => FindLib();

    public static TheoryData<string, string, string> PskConfExtras => new()
    {
        { "mobike", string.Empty, string.Empty },
        { "lifecycle", "dpd_delay = 0s\nrekey_time = 4h\nreauth_time = 0s\nrand_time = 1s\nover_time = 30s\nkeyingtries = 0", "rekey_time = 30s\nlife_time = 2h\nrand_time = 0\ndpd_action = restart" },
        { "soak", "rekey_time = 60s\nover_time = 30s\nrand_time = 3s\ndpd_delay = 5s\nkeyingtries = 0", "rekey_time = 20s\nlife_time = 40s\nrand_time = 2s\nstart_action = trap\ndpd_action = restart" },
        { "nat", "mobike = no\ndpd_delay = 10s", string.Empty },
        { "fragmentation", "fragmentation = yes\nproposals = aes256gcm16-prfsha256-modp8192", "esp_proposals = aes256gcm16-modp8192\nrekey_time = 1h\nlife_time = 2h\nrand_time = 0" },
    };

    [Theory]
    [MemberData(nameof(PskConfExtras))]
    public void LibShPskConf_Loads(string script, string connectionKeys, string childKeys)
    {
        var text = Bash($"source '{Lib}'; psk_conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24 {script}-interop-psk \"$1\" \"$2\"", connectionKeys, childKeys);
        var config = SwanctlLoader.Load(Parser().ParseText(text, $"{script}.conf"));
        Assert.Equal("tunnel", Assert.Single(config.Connections).Ike.Name);
        Assert.Empty(config.Warnings);
    }

    [Theory]
    [InlineData("yes", "trap", "transport", "-")]
    [InlineData("no", "start", "tunnel", "198.51.100.0/24")]
    public void OakleyToOakleyShape_Loads(string encap, string startAction, string mode, string localTs)
    {
        var ts = localTs == "-" ? string.Empty : $"        local_ts = {localTs}\n        remote_ts = 203.0.113.0/24\n";
        var text = $"connections {{\n  tunnel {{\n    version = 2\n    local_addrs = 192.0.2.1\n    remote_addrs = 192.0.2.2\n    proposals = aes256gcm16-prfsha256-x25519\n    encap = {encap}\n" +
            "    local {\n      auth = psk\n      id = a.example\n    }\n    remote {\n      auth = psk\n      id = b.example\n    }\n" +
            $"    children {{\n      net {{\n{ts}        esp_proposals = aes256gcm16\n        start_action = {startAction}\n        mode = {mode}\n      }}\n    }}\n  }}\n}}\n" +
            "secrets {\n  ike {\n    id-a = a.example\n    id-b = b.example\n    secret = \"oakley-to-oakley\"\n  }\n}\n";
        var config = SwanctlLoader.Load(Parser().ParseText(text, "oakley-oakley.conf"));
        Assert.Single(config.Connections);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void FloodResponderShape_WithRemoteAny_Loads()
    {
        const string text = """
            connections {
              gw {
                version = 2
                local_addrs = 192.0.2.2
                proposals = aes256gcm16-prfsha256-x25519
                local {
                  auth = psk
                  id = gw.example
                }
                remote {
                  auth = psk
                  id = client.example
                }
                children {
                  net {
                    local_ts = 192.0.2.96/27
                    remote_ts = 192.0.2.64/27
                    esp_proposals = aes256gcm16
                  }
                  net2 {
                    local_ts = 192.0.2.96/27[udp]
                    remote_ts = 192.0.2.64/27[udp]
                    esp_proposals = aes128gcm16-curve25519
                  }
                }
              }
            }
            secrets {
              ike {
                id-a = gw.example
                id-b = client.example
                secret = "flood-test-psk-not-secret"
              }
            }
            """;
        var config = SwanctlLoader.Load(Parser().ParseText(text, "flood.conf"));
        Assert.Equal(2, Assert.Single(config.Connections).Ike.Children.Count);
        Assert.Empty(config.Warnings);
    }

    private static SettingsParser Parser() => new(_ => throw new FileNotFoundException(), _ => []);

    private static string Bash(string script, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-c", script, "bash", .. args])
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "bash did not finish");
        Assert.True(p.ExitCode == 0, error);
        return output;
    }

    private static string FindLib()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var lib = Path.Combine(dir.FullName, "tests", "interop", "lib.sh");
            if (File.Exists(lib))
            {
                return lib;
            }
        }

        throw new FileNotFoundException("tests/interop/lib.sh not found above " + AppContext.BaseDirectory);
    }
}
