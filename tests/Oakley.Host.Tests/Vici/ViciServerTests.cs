using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Host.Vici;

namespace Oakley.Host.Tests.Vici;

/// <summary>
/// The VICI dispatcher behind the control socket (a ControlServer with a test registry, no engine): commands, events,
/// malformed segments, clients that vanish or do not read, and the JSON protocol on the same socket.
/// </summary>
public sealed class ViciServerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-vici-").FullName;
    private readonly CancellationTokenSource _stop = new();
    private readonly ControlServer _control;
    private readonly ViciServer _vici;

    public ViciServerTests()
    {
        var commands = new ViciCommands();
        commands.Add("echo", (request, _) => Task.FromResult(new ViciSection().Add("said", request.Text("say") ?? "nothing")));
        commands.Add("stream", async (request, call) =>
        {
            for (var i = 0; i < 3; i++)
            {
                await call.EmitAsync("item", new ViciSection().Add("n", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            return new ViciSection();
        });
        commands.Add("throws", (_, _) => throw new InvalidOperationException("boom"));
        _vici = new ViciServer(commands, NullLogger.Instance);
        _vici.AddEvent("item");
        _vici.AddEvent("tick");
        Socket = Path.Combine(_dir, "ctl");
        _control = new ControlServer(Socket, (req, _) => Task.FromResult<JsonObject?>(new JsonObject { ["ok"] = true, ["cmd"] = (string?)req["cmd"] }), _vici.ServeAsync);
        _control.Claim(NullLogger.Instance);
        _control.Serve(_stop.Token);
    }

    private string Socket { get; }

    [Fact]
    public async Task AnswersCommandsAndCmdUnknown()
    {
        await using var client = await TestViciClient.ConnectAsync(Socket);
        Assert.Equal("hello", (await client.RequestAsync("echo", ("say", "hello")))!["said"]);
        Assert.Null(await client.RequestAsync("no-such-command"));
        Assert.Equal("nothing", (await client.RequestAsync("echo"))!["said"]); // still usable afterwards
    }

    [Fact]
    public async Task AHandlerThatThrowsGetsCharonsFailureShape()
    {
        await using var client = await TestViciClient.ConnectAsync(Socket);
        var reply = await client.RequestAsync("throws");
        Assert.Equal("no", reply!["success"]);
        Assert.Contains("boom", (string)reply["errmsg"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamsEventsOnlyToRegisteredClientsBeforeTheResponse()
    {
        await using var client = await TestViciClient.ConnectAsync(Socket);
        await client.RequestAsync("stream");
        Assert.Empty(client.Events); // not registered: nothing streamed
        Assert.True(await client.RegisterAsync("item"));
        await client.RequestAsync("stream");
        Assert.Equal(["0", "1", "2"], client.Events.Select(e => (string)e.Message["n"]));
        Assert.False(await client.RegisterAsync("no-such-event")); // EVENT_UNKNOWN
    }

    [Fact]
    public async Task RaisedEventsReachRegisteredClients()
    {
        await using var a = await TestViciClient.ConnectAsync(Socket);
        await using var b = await TestViciClient.ConnectAsync(Socket);
        Assert.True(await a.RegisterAsync("tick"));
        var built = 0;
        _vici.Raise("tick", () =>
        {
            built++;
            return new ViciSection().Add("n", "1");
        });
        var (name, message) = await a.NextEventAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(("tick", "1"), (name, (string)message["n"]));
        Assert.Equal(1, built); // built once, encoded once
        _vici.Raise("item", () => throw new InvalidOperationException("no one listens: never built"));
        Assert.Equal("nothing", (await b.RequestAsync("echo"))!["said"]);
        Assert.Empty(b.Events);
    }

    [Fact]
    public async Task AMalformedSegmentClosesOnlyThatConnection()
    {
        await using var good = await TestViciClient.ConnectAsync(Socket);
        await using var bad = await TestViciClient.ConnectAsync(Socket);
        var before = _vici.MalformedSegments;
        await bad.SendRawAsync([0, 0, 0, 3, 0, 9, 1]); // a request whose name runs past the segment
        Assert.True(await bad.ClosedByServerAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(before + 1, _vici.MalformedSegments);
        await using var huge = await TestViciClient.ConnectAsync(Socket);
        await huge.SendRawAsync([0, 0x10, 0, 0]); // 1 MB: over the 512 KB limit
        Assert.True(await huge.ClosedByServerAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("x", (await good.RequestAsync("echo", ("say", "x")))!["said"]);
    }

    [Fact]
    public async Task AClientThatRegistersAndVanishesIsForgotten()
    {
        var client = await TestViciClient.ConnectAsync(Socket);
        Assert.True(await client.RegisterAsync("tick"));
        Assert.True(_vici.HasListeners("tick"));
        await client.DisposeAsync();
        for (var i = 0; i < 100 && _vici.HasListeners("tick"); i++)
        {
            _vici.Raise("tick", () => new ViciSection()); // must not throw or block on the dead client
            await Task.Delay(50);
        }

        Assert.False(_vici.HasListeners("tick"));
        Assert.Equal(0, _vici.Open);
    }

    [Fact]
    public async Task AClientThatDoesNotReadIsDroppedWithoutBlockingTheRaiser()
    {
        await using var client = await TestViciClient.ConnectAsync(Socket);
        Assert.True(await client.RegisterAsync("tick"));
        var big = new ViciSection().Add("pad", new string('x', 60_000));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < ViciConnection.MaxQueuedEvents * 4 && _vici.DroppedClients == 0; i++)
        {
            _vici.Raise("tick", () => big); // the client never reads: socket buffers fill, then the queue
        }

        Assert.Equal(1, _vici.DroppedClients);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"raising took {watch.Elapsed}");
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task TheJsonProtocolStillWorksOnTheSameSocket()
    {
        var reply = await ControlServer.RequestAsync(Socket, new JsonObject { ["cmd"] = "stats" }, CancellationToken.None);
        Assert.Equal("stats", (string?)reply["cmd"]);
    }

    [Fact]
    public void TheSocketHasCharonsMode()
    {
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(ControlServer.SocketMode, File.GetUnixFileMode(Socket));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _vici.CloseAll();
        _control.Dispose();
        _stop.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
