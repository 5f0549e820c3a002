using Microsoft.Extensions.Logging;
using Oakley.Tests.Shared;

namespace Oakley.Host.Tests.Vici;

/// <summary>
/// Two real daemons in this process on 127.0.0.1 (free high ports, PSK, no TUN device), driven over VICI by the
/// independent <see cref="TestViciClient"/>: a tunnel comes up and goes down, and the client sees charon's
/// ike-updown and child-updown events, the list-sa shape, and the log event.
/// </summary>
public sealed class ViciDaemonTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-vici-daemon-").FullName;
    private readonly List<TestDaemon> _daemons = [];
    private readonly List<ILoggerFactory> _logs = [];

    private async Task<string> StartAsync(string name, string config, int port, int nattPort)
    {
        // A factory per daemon, as each daemon is its own process in production: the VICI log event carries the lines of its factory.
        var logs = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information));
        _logs.Add(logs);
        var daemon = await TestDaemon.StartAsync(_dir, name, config, port, nattPort, logs, ".vici");
        _daemons.Add(daemon);
        return daemon.Control;
    }

    [Fact]
    public async Task ATunnelUpAndDownRaisesCharonsUpdownEvents()
    {
        var ports = TestDaemon.FreePorts(4);
        var moon = await StartAsync("moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);
        await StartAsync("sun", TestDaemon.Config("gw", "sun.example", "moon.example", ports[0], mirror: true), ports[2], ports[3]);
        await using var events = await TestViciClient.ConnectAsync(moon);
        Assert.True(await events.RegisterAsync("ike-updown"));
        Assert.True(await events.RegisterAsync("child-updown"));
        Assert.True(await events.RegisterAsync("log"));
        await using var control = await TestViciClient.ConnectAsync(moon);

        var version = await control.RequestAsync("version");
        Assert.Equal("oakley", version!["daemon"]);
        var initiate = await control.RequestAsync("initiate", ("child", "net"), ("timeout", "20000"));
        Assert.Equal("yes", initiate!["success"]);

        var up = await Next(events, "ike-updown");
        Assert.Equal("yes", up["up"]);
        var ike = (Dictionary<string, object>)up["gw"];
        Assert.Equal(("ESTABLISHED", "2", "moon.example", "sun.example", "yes"), ((string)ike["state"], (string)ike["version"], (string)ike["local-id"], (string)ike["remote-id"], (string)ike["initiator"]));
        Assert.Equal("AES_GCM_16", ike["encr-alg"]);
        Assert.Equal("CURVE_25519", ike["dh-group"]);
        Assert.Matches("^[0-9a-f]{16}$", (string)ike["initiator-spi"]);
        Assert.False(ike.ContainsKey("child-sas"));

        var childUp = await Next(events, "child-updown");
        Assert.Equal("yes", childUp["up"]);
        var child = Assert.Single((Dictionary<string, object>)((Dictionary<string, object>)childUp["gw"])["child-sas"]);
        var c = (Dictionary<string, object>)child.Value;
        Assert.Equal("net-" + (string)c["uniqueid"], child.Key); // charon's NAME-UNIQUEID
        Assert.Equal("1", c["uniqueid"]); // numbered as charon numbers them
        Assert.Equal(("net", "INSTALLED", "TUNNEL", "ESP"), ((string)c["name"], (string)c["state"], (string)c["mode"], (string)c["protocol"]));
        Assert.Equal(["198.51.100.0/24"], (List<string>)c["local-ts"]);
        Assert.Matches("^[0-9a-f]{8}$", (string)c["spi-in"]);

        // list-sas streams one list-sa per IKE SA with the child under child-sas
        Assert.True(await control.RegisterAsync("list-sa"));
        Assert.Empty((await control.RequestAsync("list-sas"))!);
        var listed = Assert.Single(control.Events);
        Assert.Equal("list-sa", listed.Name);
        Assert.Contains(child.Key, ((Dictionary<string, object>)((Dictionary<string, object>)listed.Message["gw"])["child-sas"]).Keys);

        // a CHILD SA rekey is child-rekey (old and new under the child's key), not a child-updown pair
        Assert.True(await events.RegisterAsync("child-rekey"));
        var rekey = await control.RequestAsync("rekey", ("child", "net"));
        Assert.Equal(("yes", "1"), ((string)rekey!["success"], (string)rekey["matches"]));
        var rekeyed = await Next(events, "child-rekey");
        var pair = (Dictionary<string, object>)Assert.Single((Dictionary<string, object>)((Dictionary<string, object>)rekeyed["gw"])["child-sas"]).Value;
        var (old, fresh) = ((Dictionary<string, object>)pair["old"], (Dictionary<string, object>)pair["new"]);
        Assert.Equal(c["uniqueid"], old["uniqueid"]);
        Assert.NotEqual(old["uniqueid"], fresh["uniqueid"]);
        Assert.NotEqual(old["spi-in"], fresh["spi-in"]);
        Assert.Equal("INSTALLED", fresh["state"]);
        Assert.DoesNotContain(events.Events, e => e.Name == "child-updown");
        child = new KeyValuePair<string, object>("net-" + (string)fresh["uniqueid"], fresh);

        // an IKE SA rekey is ike-rekey: the same unique ID, new SPIs
        Assert.True(await events.RegisterAsync("ike-rekey"));
        var ikeRekey = await control.RequestAsync("rekey", ("ike", "gw"));
        Assert.Equal("yes", ikeRekey!["success"]);
        var ikeRekeyed = (Dictionary<string, object>)(await Next(events, "ike-rekey"))["gw"];
        var (oldIke, newIke) = ((Dictionary<string, object>)ikeRekeyed["old"], (Dictionary<string, object>)ikeRekeyed["new"]);
        Assert.Equal((ike["uniqueid"], ike["uniqueid"]), (oldIke["uniqueid"], newIke["uniqueid"]));
        Assert.Equal(ike["initiator-spi"], oldIke["initiator-spi"]);
        Assert.NotEqual(oldIke["initiator-spi"], newIke["initiator-spi"]);

        var terminate = await control.RequestAsync("terminate", ("ike", "gw"), ("timeout", "20000"));
        Assert.Equal(("yes", "1"), ((string)terminate!["success"], (string)terminate["matches"]));
        var childDown = await Next(events, "child-updown");
        Assert.False(childDown.ContainsKey("up"));
        Assert.Contains(child.Key, ((Dictionary<string, object>)((Dictionary<string, object>)childDown["gw"])["child-sas"]).Keys);
        var down = await Next(events, "ike-updown");
        Assert.False(down.ContainsKey("up"));
        Assert.Equal(ike["uniqueid"], ((Dictionary<string, object>)down["gw"])["uniqueid"]);

        // the log event carried the SA's lines, with charon's keys
        var logs = events.Events.Where(e => e.Name == "log").Select(e => e.Message).ToList();
        var established = Assert.Single(logs, m => ((string)m["msg"]).StartsWith("IKE_SA established", StringComparison.Ordinal));
        Assert.Equal(("IKE", "1", "gw", (string)ike["uniqueid"]), ((string)established["group"], (string)established["level"], (string)established["ikesa-name"], (string)established["ikesa-uniqueid"]));
        Assert.DoesNotContain(logs, m => ((string)m["msg"]).Contains(TestDaemon.Secret, StringComparison.Ordinal));
    }

    /// <summary>The next event of that name (other events are kept in order for later checks).</summary>
    private static async Task<Dictionary<string, object>> Next(TestViciClient client, string name)
    {
        var skipped = new List<(string, Dictionary<string, object>)>();
        try
        {
            for (var i = 0; i < 200; i++)
            {
                var e = await client.NextEventAsync(TimeSpan.FromSeconds(20));
                if (e.Name == name)
                {
                    return e.Message;
                }

                skipped.Add(e);
            }

            throw new TimeoutException($"no {name} event");
        }
        finally
        {
            client.Events.InsertRange(0, skipped);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var daemon in _daemons)
        {
            await daemon.DisposeAsync();
        }

        _logs.ForEach(l => l.Dispose());
        Directory.Delete(_dir, recursive: true);
    }
}
