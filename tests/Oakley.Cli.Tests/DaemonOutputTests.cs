using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Oakley.Cli.Tests;

/// <summary>The text and JSON output of list-sas, stats and initiate against real daemons on loopback.</summary>
[Collection(TestDaemon.Collection)]
public class DaemonOutputTests
{
    [Fact]
    public async Task ListSas_WithoutSas_SaysNoIkeSas_AndJsonIsAnEmptyList()
    {
        using var dir = new TempDir();
        var ports = TestDaemon.FreePorts(3);
        await using var daemon = await TestDaemon.StartAsync(dir.Path, "moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);

        var (code, stdout, stderr) = await ControlClientTests.Verb(daemon.Control, "list-sas");
        Assert.Equal((0, "no IKE SAs\n", string.Empty), (code, stdout, stderr));

        var (jsonCode, json, _) = await ControlClientTests.Verb(daemon.Control, "list-sas", json: true);
        Assert.Equal(0, jsonCode);
        Assert.Equal("{\n  \"ok\": true,\n  \"ike-sas\": [],\n  \"last-failures\": []\n}\n", json.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stats_IsATable_NotJson()
    {
        using var dir = new TempDir();
        var ports = TestDaemon.FreePorts(3);
        await using var daemon = await TestDaemon.StartAsync(dir.Path, "moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);
        var (code, stdout, _) = await ControlClientTests.Verb(daemon.Control, "stats");
        Assert.Equal(0, code);
        Assert.DoesNotContain("{", stdout, StringComparison.Ordinal);
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^ike-sas +0$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^datagrams-in +0$"));
        Assert.Contains("esp-drops:", lines);
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^  no-policy +0$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^  bad-icv +0$"));
        Assert.Contains("dropped: none", lines);

        // Every row lines up: the values end in the same column.
        var rows = lines.Where(l => Regex.IsMatch(l, @"\d$")).ToList();
        Assert.True(rows.Count > 20);
        Assert.Single(rows.Select(r => r.Length).Distinct());
    }

    [Fact]
    public async Task Initiate_PrintsWhatWasEstablished_InListSasShape()
    {
        using var dir = new TempDir();
        var ports = TestDaemon.FreePorts(4);
        await using var sun = await TestDaemon.StartAsync(dir.Path, "sun", TestDaemon.Config("peer", "sun.example", "moon.example", ports[0], mirror: true), ports[2], ports[3]);
        await using var moon = await TestDaemon.StartAsync(dir.Path, "moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);

        var (code, stdout, stderr) = await ControlClientTests.Run((o, e) => ControlClient.InitiateAsync(moon.Control, "net", null, 20, false, o, e, CancellationToken.None));
        Assert.Equal(string.Empty, stderr);
        Assert.Equal(0, code);

        // The responder's view of the same SAs: its inbound SPI is our outbound one and the other way round.
        var sunSas = JsonNode.Parse((await ControlClientTests.Verb(sun.Control, "list-sas", json: true)).Out)!["ike-sas"]!.AsArray();
        var sunChild = Assert.Single(sunSas)!["child-sas"]!.AsArray().Single()!;
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^gw: #1, ESTABLISHED, IKEv2, [0-9a-f]{16}_i\* [0-9a-f]{16}_r$", lines[0]);
        Assert.Equal($"  local  'moon.example' @ 127.0.0.1[{ports[0]}]", lines[1]);
        Assert.Equal($"  remote 'sun.example' @ 127.0.0.1[{ports[2]}]", lines[2]);
        Assert.Equal("  aes256gcm16-prfsha256-curve25519", lines[3]);
        Assert.Matches(@"^  established \d+s ago, rekeying in \d+s$", lines[4]);
        Assert.Equal($"  net: TUNNEL, ESP, SPIs: {sunChild["spi-out"]}_i {sunChild["spi-in"]}_o", lines[5]);
        Assert.Equal("    AES_GCM_16-256", lines[6]);
        Assert.Equal("    local  198.51.100.0/24", lines[^2]);
        Assert.Equal("    remote 203.0.113.0/24", lines[^1]);

        // --json: the list-sas object of that IKE SA, next to its id.
        var (jsonCode, json, _) = await ControlClientTests.Run((o, e) => ControlClient.InitiateAsync(moon.Control, "host", null, 20, true, o, e, CancellationToken.None));
        Assert.Equal(0, jsonCode);
        var response = JsonNode.Parse(json)!.AsObject();
        Assert.Equal(1, (long)response["ike-sa-id"]!);
        var listed = JsonNode.Parse((await ControlClientTests.Verb(moon.Control, "list-sas", json: true)).Out)!["ike-sas"]![0]!;
        Assert.Equal(Without(listed, "established", "rekey-time", "install-time", "life-time"), Without(response["ike-sa"]!, "established", "rekey-time", "install-time", "life-time"));
        Assert.Equal(["net", "host"], response["ike-sa"]!["child-sas"]!.AsArray().Select(c => (string)c!["name"]!));
    }

    [Fact]
    public async Task Initiate_WhenTheChildIsRefused_FailsAtOnceWithThePeersAnswer()
    {
        using var dir = new TempDir();
        var ports = TestDaemon.FreePorts(4);
        // The responder's children accept only ChaCha20-Poly1305: NO_PROPOSAL_CHOSEN for the CHILD SA, the IKE SA stays up.
        var sunConfig = TestDaemon.Config("peer", "sun.example", "moon.example", ports[0], mirror: true)
            .Replace("esp_proposals = aes256gcm16", "esp_proposals = chacha20poly1305")
            .Replace("remote_ts = 198.51.100.1/32", "remote_ts = 198.51.100.1/32\n        esp_proposals = chacha20poly1305");
        await using var sun = await TestDaemon.StartAsync(dir.Path, "sun", sunConfig, ports[2], ports[3]);
        await using var moon = await TestDaemon.StartAsync(dir.Path, "moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var (code, stdout, stderr) = await ControlClientTests.Run((o, e) => ControlClient.InitiateAsync(moon.Control, "net", null, 20, false, o, e, CancellationToken.None));
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("oakley: CHILD SA 'net' was not created: NoProposalChosen", stderr.TrimEnd('\n'));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"initiate took {started.Elapsed}: it waited for its timeout"); // 20 s timeout; the answer comes within milliseconds
    }

    [Fact]
    public async Task InitiateIkeOnly_PrintsTheIkeSaWithItsFirstChild()
    {
        using var dir = new TempDir();
        var ports = TestDaemon.FreePorts(4);
        await using var sun = await TestDaemon.StartAsync(dir.Path, "sun", TestDaemon.Config("peer", "sun.example", "moon.example", ports[0], mirror: true), ports[2], ports[3]);
        await using var moon = await TestDaemon.StartAsync(dir.Path, "moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);

        var (code, stdout, stderr) = await ControlClientTests.Run((o, e) => ControlClient.InitiateAsync(moon.Control, null, "gw", 20, false, o, e, CancellationToken.None));
        Assert.Equal((0, string.Empty), (code, stderr));
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^gw: #1, ESTABLISHED, IKEv2, ", lines[0]);
        Assert.Single(lines, l => l.StartsWith("  net: TUNNEL, ESP, SPIs: ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("  host: ", StringComparison.Ordinal));
    }

    /// <summary>The JSON text of a node with the time-dependent fields taken out (at every depth).</summary>
    private static string Without(JsonNode node, params string[] keys)
    {
        var copy = node.DeepClone();
        Strip(copy, keys);
        return copy.ToJsonString();
    }

    private static void Strip(JsonNode? node, string[] keys)
    {
        if (node is JsonObject o)
        {
            foreach (var k in keys)
            {
                o.Remove(k);
            }

            foreach (var (_, v) in o)
            {
                Strip(v, keys);
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var v in a)
            {
                Strip(v, keys);
            }
        }
    }
}
