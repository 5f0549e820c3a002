using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Config;
using Oakley.Host.Vici;
using Oakley.Tests.Shared;

namespace Oakley.Host.Tests.Vici;

/// <summary>
/// The proof issue 17 asks for: a swanctl.conf loaded through the file path (<c>oakley daemon --config</c>) and the
/// same file loaded by real <c>swanctl --load-all</c> (Debian's 5.9.8, which parses it itself and sends it over VICI
/// to a test accept loop in front of the daemon's command handlers) give the same effective configuration: the same
/// list-conns, IkeConfig fingerprints, host policies, certificates, authorities, pools and secrets.
/// </summary>
public sealed class SwanctlEquivalenceTests : IDisposable
{
    private static readonly TestPki.Ca Ca = TestPki.NewCa("ecdsa256", "Oakley VICI");
    private readonly List<string> _dirs = [];

    public void Dispose() => _dirs.ForEach(d => Directory.Delete(d, true));

    public static TheoryData<string, string> Fixtures() => new()
    {
        { "psk", SwanctlFixtures.Psk },
        { "certificates", SwanctlFixtures.Certificates },
        { "eap-gateway", SwanctlFixtures.EapGateway },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public async Task SwanctlLoadAll_ConfiguresAsTheFileDoes(string name, string conf)
    {
        var dir = Fixture(conf, name);
        var byFile = SwanctlFile.Load(Path.Combine(dir, "swanctl.conf"));
        var (byVici, output, requests) = await LoadWithSwanctlAsync(dir, TestConfigStore.Empty());

        Assert.NotEmpty(byFile.Connections);
        Assert.Contains(requests, r => r.Name == "load-conn");
        // swanctl says "opening directory ... failed" for each credential directory the fixture does not have; nothing else fails.
        Assert.DoesNotMatch("(?m)^(loading|unloading|loaded .* of)", output);
        Assert.Contains($"successfully loaded {byFile.Connections.Count} connections, 0 unloaded", output, StringComparison.Ordinal);
        Assert.Equal(Describe(byFile), Describe(byVici.Current));
    }

    [Fact]
    public async Task SwanctlLoadAll_OverAFileConfiguration_ReplacesIt_AndAgainChangesNothing()
    {
        // A daemon started with the PSK file, then swanctl --load-all of the gateway file: only the gateway remains.
        var psk = Fixture(SwanctlFixtures.Psk, "psk");
        var gateway = Fixture(SwanctlFixtures.EapGateway, "gw");
        var store = new TestConfigStore(SwanctlFile.LoadStore(Path.Combine(psk, "swanctl.conf")));
        var (loaded, output, requests) = await LoadWithSwanctlAsync(gateway, store);

        // Certificates stay (VICI has no unload-cert; swanctl --load-all --clear would clear them first), the rest is the file's.
        var expected = Describe(SwanctlFile.Load(Path.Combine(gateway, "swanctl.conf")), certificates: false);
        Assert.Equal(expected, Describe(loaded.Current, certificates: false));
        Assert.Contains(requests, r => r.Name == "unload-conn" && r.Message.Text("name") == "backup");
        Assert.Contains(requests, r => r.Name == "unload-shared" && r.Message.Text("id") == "ike-ab");
        Assert.Contains("2 unloaded", output, StringComparison.Ordinal);

        // Loading the same file again keeps every connection's fingerprint (unchanged SAs stay) and unloads nothing.
        var before = loaded.Current.Connections.Select(c => c.Ike.Fingerprint()).ToList();
        var (again, output2, requests2) = await LoadWithSwanctlAsync(gateway, loaded);
        Assert.Equal(before, again.Current.Connections.Select(c => c.Ike.Fingerprint()));
        Assert.DoesNotContain(requests2, r => r.Name.StartsWith("unload-", StringComparison.Ordinal));
        Assert.Contains("0 unloaded", output2, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwanctlLoadConns_WithABadValue_IsRefusedWithTheKeyPath_AndTheOldConfigurationStays()
    {
        var dir = Fixture(SwanctlFixtures.Psk, "psk");
        var (store, _, _) = await LoadWithSwanctlAsync(dir, TestConfigStore.Empty());
        var good = Describe(store.Current);
        File.WriteAllText(Path.Combine(dir, "swanctl.conf"), SwanctlFixtures.Psk.Replace("esp_proposals = aes256gcm16, aes128gcm16-x25519", "esp_proposals = aes257gcm16", StringComparison.Ordinal));

        var (after, output, _) = await LoadWithSwanctlAsync(dir, store, "--load-conns");

        Assert.Contains("loading connection 'site' failed: connections.site.children.net.esp_proposals: esp_proposals:", output, StringComparison.Ordinal);
        Assert.Equal(good, Describe(after.Current));
        // The file path refuses the same value with the same words, and file:line.
        var ex = Assert.Throws<ConfigException>(() => SwanctlFile.Load(Path.Combine(dir, "swanctl.conf")));
        var fileMessage = ex.Errors.Single().Message;
        Assert.Contains(fileMessage, output, StringComparison.Ordinal);
        Assert.Matches(@"swanctl\.conf:\d+: error: esp_proposals:", ex.Message);
    }

    private string Fixture(string conf, string name)
    {
        var dir = SwanctlFixtures.Write(conf, name, Ca);
        _dirs.Add(dir);
        return dir;
    }

    /// <summary>Runs real swanctl against the handlers over <paramref name="store"/>; the store, swanctl's output and the requests it sent.</summary>
    internal static async Task<(TestConfigStore Store, string Output, List<(string Name, ViciSection Message)> Requests)> LoadWithSwanctlAsync(string dir, TestConfigStore store, string command = "--load-all")
    {
        // Not skipped: these tests are the proof, and test.sh installs strongswan-swanctl for the interop scripts anyway.
        Assert.True(File.Exists("/usr/sbin/swanctl") || File.Exists("/usr/bin/swanctl"), "swanctl is needed (apt-get install strongswan-swanctl)");
        var commands = new ViciCommands();
        ViciLoadCommands.Register(commands, store, NullLogger.Instance);
        var socket = Path.Combine(dir, "vici.sock");
        await using var server = new ViciTestServer(socket, commands);
        var info = new ProcessStartInfo("swanctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { command, "--noprompt", "--file", Path.Combine(dir, "swanctl.conf"), "--uri", "unix://" + socket })
        {
            if (command == "--load-conns" && arg == "--noprompt")
            {
                continue;
            }

            info.ArgumentList.Add(arg);
        }

        info.Environment["SWANCTL_DIR"] = dir;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        return (store, output, [.. server.Requests]);
    }

    /// <summary>Everything of an effective configuration that the daemon acts on or lists, as text to compare.</summary>
    internal static string Describe(SwanctlConfig config, bool certificates = true)
    {
        var text = new StringBuilder();
        text.AppendLine(StatusViews.ListConns(config).ToJsonString());
        text.AppendLine($"keys={string.Join(",", config.Secrets.PrivateKeyFiles.Select(_ => "key"))}");
        foreach (var c in config.Connections)
        {
            text.AppendLine($"{c.Ike.Fingerprint()} v{c.Version} dpd={c.DpdDelay} over={c.OverTime} tries={c.KeyingTries} unique={c.Unique} "
                + string.Join(";", c.ChildPolicies.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
        }

        if (certificates)
        {
            // By fingerprint: the file path reads a directory sorted by name, swanctl in the order the directory lists it.
            text.AppendLine(new JsonArray(CertificateViews.ListCerts(config, TestPki.Epoch.AddDays(1))["certificates"]!.AsArray()
                .OrderBy(c => (string)c!["fingerprint"]!, StringComparer.Ordinal).Select(c => c!.DeepClone()).ToArray()).ToJsonString());
        }

        text.AppendLine(CertificateViews.ListAuthorities(config).ToJsonString());
        foreach (var p in config.Pools)
        {
            text.AppendLine($"pool {p.Name} {p.Addresses} dns={string.Join(",", p.Dns)} nbns={string.Join(",", p.Nbns)} subnets={string.Join(",", p.Subnets)} "
                + $"include={string.Join(",", p.SplitInclude)} exclude={string.Join(",", p.SplitExclude)}");
        }

        text.AppendLine($"psk={config.Secrets.Count} eap={config.Secrets.EapCount}");
        foreach (var id in new[] { "a.example", "b.example", "c.example", "carol", "dave", "dave@example.org", "eve" })
        {
            var identity = Engine.Identity.Parse(id);
            text.AppendLine($"{id}: psk={Hash(config.Secrets.FindSharedKey(identity, null))} eap={Hash(config.Secrets.FindEapSecret(identity, null))}");
        }

        return text.ToString();
    }

    private static string Hash(byte[]? secret) => secret is null ? "-" : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(secret))[..12];
}
