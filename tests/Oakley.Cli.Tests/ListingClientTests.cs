using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Oakley.Cli.Tests;

/// <summary>
/// <c>list-sas</c> reads the daemon's streamed listing one IKE SA at a time: whatever the chunks the bytes arrive in,
/// it prints what the whole response, parsed at once, prints; a listing cut off is an error, not a short list.
/// </summary>
public class ListingClientTests
{
    private static JsonObject Sa(int n) => new()
    {
        ["name"] = "net", ["uniqueid"] = n, ["state"] = "ESTABLISHED", ["initiator"] = n % 2 == 0,
        ["initiator-spi"] = $"{n:x16}", ["responder-spi"] = "00000000000000ff", ["local-id"] = "srv \"x\" é", ["local-host"] = "192.0.2.2",
        ["local-port"] = 500, ["remote-id"] = $"c{n}.example", ["remote-host"] = "192.0.2.1", ["remote-port"] = 500,
        ["proposal"] = "aes128gcm16-prfsha256-curve25519", ["established"] = n, ["rekey-time"] = 14000,
        ["child-sas"] = new JsonArray(new JsonObject
        {
            ["name"] = "net", ["mode"] = "TUNNEL", ["encap"] = false, ["spi-in"] = "c1c2c3c4", ["spi-out"] = "d1d2d3d4",
            ["encr-alg"] = "AES_GCM_16", ["encr-keysize"] = 128, ["esn"] = false, ["install-time"] = 3, ["rekey-time"] = 3000,
            ["life-time"] = 3600, ["local-ts"] = new JsonArray("203.0.113.0/24"), ["remote-ts"] = new JsonArray("198.51.100.0/24", "2001:db8::/64"), ["bytes-in"] = 1.5e3, ["packets-in"] = 2, ["bytes-out"] = 0, ["packets-out"] = 0,
        }),
    };

    /// <summary>A daemon that answers one request with <paramref name="response"/>, written <paramref name="chunk"/> bytes at a time.</summary>
    private static async Task<(int Code, string Out, string Err)> Serve(string response, int chunk, bool json)
    {
        using var dir = new TempDir();
        var control = dir.File("oakley.ctl");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(control));
        listener.Listen(1);
        var server = Task.Run(async () =>
        {
            using var s = await listener.AcceptAsync();
            var request = new byte[256];
            var got = await s.ReceiveAsync(request);
            Assert.Equal("{\"cmd\":\"list-sas\"}\n", Encoding.UTF8.GetString(request, 0, got));
            var bytes = Encoding.UTF8.GetBytes(response);
            for (var i = 0; i < bytes.Length; i += chunk)
            {
                await s.SendAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
            }

            s.Shutdown(SocketShutdown.Send);
        });
        var result = await ControlClientTests.Verb(control, "list-sas", json);
        await server;
        return result;
    }

    private static string Streamed(int count)
    {
        // The daemon's form (ControlCommands.WriteListingAsync): compact, pages joined by commas.
        var sas = string.Join(",", Enumerable.Range(1, count).Select(n => Sa(n).ToJsonString()));
        return "{\"ok\":true,\"ike-sas\":[" + sas + "]}\n";
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 7)]
    [InlineData(3, 1)]
    [InlineData(40, 5000)]
    [InlineData(200, 65536)]
    public async Task StreamedListing_PrintsWhatTheWholeResponsePrints(int count, int chunk)
    {
        var whole = JsonNode.Parse(Streamed(count))!.AsObject();
        foreach (var json in new[] { false, true })
        {
            using var expected = new StringWriter { NewLine = "\n" };
            using var ignored = new StringWriter();
            Assert.Equal(0, ControlClient.Print("list-sas", whole, json, expected, ignored));
            var (code, stdout, stderr) = await Serve(Streamed(count), chunk, json);
            Assert.Equal(0, code);
            Assert.Equal(string.Empty, stderr);
            Assert.Equal(expected.ToString(), stdout);
        }
    }

    [Fact]
    public async Task ListingCutOff_IsAnError_NamingHowManyArrived()
    {
        var full = Streamed(5);
        var cut = full[..(full.IndexOf("\"uniqueid\":4", StringComparison.Ordinal) + 5)];
        var (code, stdout, stderr) = await Serve(cut, 100, json: false);
        Assert.Equal(1, code);
        Assert.Contains("#3,", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("#4,", stdout, StringComparison.Ordinal);
        Assert.StartsWith("oakley: the listing broke off after 3 IKE SAs", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnErrorResponse_IsPrintedLikeAnyOther()
    {
        var (code, _, stderr) = await Serve("{\"ok\":false,\"error\":\"engine stopped\"}\n", 3, json: false);
        Assert.Equal(1, code);
        Assert.Equal("oakley: engine stopped\n", stderr);
        var (jcode, jout, _) = await Serve("{\"ok\":false,\"error\":\"engine stopped\"}\n", 3, json: true);
        Assert.Equal(1, jcode);
        Assert.Equal("engine stopped", (string?)JsonNode.Parse(jout)!["error"]);
    }

    [Fact]
    public async Task NotJson_IsAnError()
    {
        var (code, _, stderr) = await Serve("garbage\n", 3, json: false);
        Assert.Equal(1, code);
        Assert.StartsWith("oakley: the daemon's answer to list-sas is not a JSON object", stderr, StringComparison.Ordinal);
    }
}
