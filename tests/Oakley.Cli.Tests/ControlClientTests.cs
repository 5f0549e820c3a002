using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Oakley.Cli.Tests;

/// <summary>The client verbs' messages when the daemon cannot be reached, and initiate without a name.</summary>
[Collection(TestDaemon.Collection)]
public class ControlClientTests
{
    private const string Hint = "start one with `oakley daemon --config /etc/swanctl/swanctl.conf`, or pass --control PATH (or set OAKLEY_CONTROL) if it runs with another control socket";

    internal static async Task<(int Code, string Out, string Err)> Run(Func<TextWriter, TextWriter, Task<int>> verb)
    {
        using var stdout = new StringWriter { NewLine = "\n" };
        using var stderr = new StringWriter { NewLine = "\n" };
        var code = await verb(stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    internal static Task<(int Code, string Out, string Err)> Verb(string control, string cmd, bool json = false) =>
        Run((o, e) => ControlClient.RunAsync(control, new JsonObject { ["cmd"] = cmd }, json, o, e, CancellationToken.None));

    [Fact]
    public async Task NoSocket_SaysThatNoDaemonListensThere_AndHowToStartOne()
    {
        using var dir = new TempDir();
        var control = dir.File("oakley.ctl");
        foreach (var cmd in new[] { "list-sas", "stats", "list-conns" })
        {
            var (code, stdout, stderr) = await Verb(control, cmd);
            Assert.Equal(2, code);
            Assert.Equal(string.Empty, stdout);
            Assert.Equal($"oakley: no daemon is listening at {control}: the control socket does not exist; {Hint}\n", stderr);
        }
    }

    [Fact]
    public async Task NoSocketDirectory_IsAMissingSocket_Too()
    {
        using var dir = new TempDir();
        var control = dir.File("no/such/dir/oakley.ctl");
        var (code, _, stderr) = await Run((o, e) => ControlClient.InitiateAsync(control, "net", null, 1, false, o, e, CancellationToken.None));
        Assert.Equal(2, code);
        Assert.Equal($"oakley: no daemon is listening at {control}: the control socket does not exist; {Hint}\n", stderr);
    }

    [Fact]
    public async Task StaleSocket_SaysThatNothingAcceptsOnIt()
    {
        using var dir = new TempDir();
        var control = dir.File("oakley.ctl");
        using (var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // The file a daemon killed with SIGKILL leaves behind. (.NET deletes the file it bound when the socket is
            // closed, so it is bound under another name and moved.)
            s.Bind(new UnixDomainSocketEndPoint(control + ".tmp"));
            s.Listen(1);
            File.Move(control + ".tmp", control);
        }

        Assert.True(File.Exists(control));

        var (code, _, stderr) = await Verb(control, "list-sas");
        Assert.Equal(2, code);
        Assert.Equal($"oakley: no daemon is listening at {control}: the socket file is there but nothing accepts on it (left behind by a daemon that did not exit cleanly?); {Hint}\n", stderr);
    }

    [Fact]
    public async Task ControlPathIsADirectory_SaysSo()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = await Verb(dir.Path, "list-sas");
        Assert.Equal(2, code);
        Assert.Equal($"oakley: {dir.Path} is a directory, not the daemon's control socket; pass the socket's path with --control\n", stderr);
    }

    [Fact]
    public void PermissionDenied_SaysWhoMayConnect()
    {
        var message = ControlClient.Unreachable("/run/oakley.ctl", new SocketException((int)SocketError.AccessDenied));
        Assert.Equal("permission denied on the daemon's control socket /run/oakley.ctl: connecting needs write access to the socket and search access to its directories (run as root, or as the user the daemon runs as)", message);
    }

    /// <summary>
    /// The real EACCES of connect(2): a socket in a directory only root may enter, connected to as "nobody" (when the
    /// tests run as root), or a socket with mode 000 (otherwise).
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task PermissionDenied_FromARealConnect()
    {
        using var dir = new TempDir();
        var control = dir.File("oakley.ctl");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(control));
        listener.Listen(1);
        File.SetUnixFileMode(control, UnixFileMode.None);
        File.SetUnixFileMode(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string stderr;
        if (Environment.UserName == "root")
        {
            var oakley = Path.Combine(AppContext.BaseDirectory, "oakley.dll");
            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            var psi = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", dotnet, oakley, "list-sas", "--control", control])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            await p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(30_000))
            {
                p.Kill();
            }

            Assert.Equal(2, p.ExitCode);
            stderr = await err;
        }
        else
        {
            stderr = (await Verb(control, "list-sas")).Err;
        }

        Assert.StartsWith($"oakley: permission denied on the daemon's control socket {control}:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitiateWithoutNames_AsksForChildOrIke_AndListsTheLoadedNames_WithoutInitiating()
    {
        using var dir = new TempDir();
        var ports = TestDaemon.FreePorts(3);
        await using var daemon = await TestDaemon.StartAsync(dir.Path, "moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);
        var (code, stdout, stderr) = await Run((o, e) => ControlClient.InitiateAsync(daemon.Control, null, null, 5, false, o, e, CancellationToken.None));
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(
            "oakley: initiate needs --child NAME (a CHILD SA, with its IKE SA) or --ike NAME (an IKE SA and its first child); the loaded connections are:\n"
            + "  --ike gw: --child net, host\n", stderr);
        Assert.Equal("no IKE SAs\n", (await Verb(daemon.Control, "list-sas")).Out);

        var (jsonCode, json, _) = await Run((o, e) => ControlClient.InitiateAsync(daemon.Control, null, null, 5, true, o, e, CancellationToken.None));
        Assert.Equal(1, jsonCode);
        var response = JsonNode.Parse(json)!.AsObject();
        Assert.False((bool)response["ok"]!);
        Assert.StartsWith("initiate needs --child NAME", (string)response["error"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void InitiateWithoutNames_NoConnectionsLoaded()
    {
        var message = ControlClient.NameProblem(new JsonObject { ["ok"] = true, ["connections"] = new JsonArray() }, null, null);
        Assert.Equal("initiate needs --child NAME (a CHILD SA, with its IKE SA) or --ike NAME (an IKE SA and its first child), but the daemon has no connections loaded (see its log, fix the config, then `oakley load-all`)", message);
    }

    private static readonly JsonObject TwoConnections = JsonNode.Parse("""
        {"ok":true,"connections":[
          {"name":"a","children":[{"name":"x"},{"name":"y"}]},
          {"name":"b","children":[]}]}
        """)!.AsObject();

    private const string TwoListed = "; the loaded connections are:\n  --ike a: --child x, y\n  --ike b: no children";

    [Theory]
    [InlineData(null, null, "initiate needs --child NAME (a CHILD SA, with its IKE SA) or --ike NAME (an IKE SA and its first child)")]
    [InlineData("z", null, "no connection has a child 'z'")]
    [InlineData(null, "c", "no connection named 'c'")]
    [InlineData("x", "c", "no connection named 'c'")]
    [InlineData("x", "b", "connection 'b' has no child 'x'")]
    public void InitiateWithNamesTheDaemonDoesNotHave_ListsEveryConnection(string? child, string? ike, string problem)
    {
        Assert.Equal(problem + TwoListed, ControlClient.NameProblem(TwoConnections, child, ike));
    }

    [Theory]
    [InlineData("x", null)]
    [InlineData("y", "a")]
    [InlineData(null, "a")]
    [InlineData(null, "b")]
    public void InitiateWithLoadedNames_HasNoProblem(string? child, string? ike)
    {
        Assert.Null(ControlClient.NameProblem(TwoConnections, child, ike));
    }

    [Fact]
    public async Task InitiateWithATypo_ListsTheLoadedNames_WithoutInitiating()
    {
        using var dir = new TempDir();
        var ports = TestDaemon.FreePorts(3);
        await using var daemon = await TestDaemon.StartAsync(dir.Path, "moon", TestDaemon.Config("gw", "moon.example", "sun.example", ports[2], mirror: false), ports[0], ports[1]);
        var (code, _, stderr) = await Run((o, e) => ControlClient.InitiateAsync(daemon.Control, "nte", null, 5, false, o, e, CancellationToken.None));
        Assert.Equal(1, code);
        Assert.Equal("oakley: no connection has a child 'nte'; the loaded connections are:\n  --ike gw: --child net, host\n", stderr);
        Assert.Equal("no IKE SAs\n", (await Verb(daemon.Control, "list-sas")).Out);
    }
}
