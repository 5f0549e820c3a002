using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Oakley.Host;

namespace Oakley.Cli;

/// <summary>
/// The client verbs (list-sas, initiate, ...): one request to the daemon's control socket, its response printed as
/// text (<see cref="TextFormat"/>) or JSON. Exit codes: 0 success, 1 failure, 2 daemon unreachable.
/// </summary>
internal static class ControlClient
{
    /// <summary>How to get a daemon to talk to, appended to every "no daemon" message.</summary>
    public const string StartHint = "start one with `oakley daemon --config /etc/swanctl/swanctl.conf`, "
        + "or pass --control PATH (or set OAKLEY_CONTROL) if it runs with another control socket";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Sends <paramref name="request"/> and prints the response; returns the exit code.</summary>
    public static async Task<int> RunAsync(string controlPath, JsonObject request, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if ((string?)request["cmd"] == "list-sas" && request.Count == 1)
        {
            return await ListingClient.RunAsync(controlPath, json, stdout, stderr, cancel).ConfigureAwait(false);
        }

        var response = await TryRequestAsync(controlPath, request, stderr, cancel).ConfigureAwait(false);
        return response is null ? 2 : Print((string)request["cmd"]!, response, json, stdout, stderr);
    }

    /// <summary>
    /// <c>oakley initiate</c>: the names are checked against the daemon's list-conns first. Without --child and
    /// --ike there is nothing to initiate, and a name that is not loaded (a typo) would fail; either way the
    /// message lists the connections and children the daemon has loaded, and no initiate request is sent.
    /// </summary>
    public static async Task<int> InitiateAsync(string controlPath, string? child, string? ike, double timeout, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        var conns = await TryRequestAsync(controlPath, new JsonObject { ["cmd"] = "list-conns" }, stderr, cancel).ConfigureAwait(false);
        if (conns is null)
        {
            return 2;
        }

        if ((bool?)conns["ok"] == true && NameProblem(conns, child, ike) is { } problem)
        {
            return Print("initiate", new JsonObject { ["ok"] = false, ["error"] = problem }, json, stdout, stderr);
        }

        var request = new JsonObject { ["cmd"] = "initiate", ["child"] = child, ["ike"] = ike, ["timeout"] = timeout };
        return await RunAsync(controlPath, request, json, stdout, stderr, cancel).ConfigureAwait(false);
    }

    /// <summary>What is wrong with initiate's names, given a list-conns response; null if the daemon has them.</summary>
    public static string? NameProblem(JsonObject listConns, string? child, string? ike)
    {
        var conns = listConns["connections"]?.AsArray().Select(c => (Name: (string?)c!["name"], Children: c["children"]?.AsArray().Select(ch => (string?)ch!["name"]).ToList() ?? [])).ToList() ?? [];
        var conn = conns.FirstOrDefault(c => c.Name == ike);
        var problem = (child, ike) switch
        {
            (null, null) => "initiate needs --child NAME (a CHILD SA, with its IKE SA) or --ike NAME (an IKE SA and its first child)",
            (_, not null) when conn.Name is null => $"no connection named '{ike}'",
            (not null, not null) when !conn.Children.Contains(child) => $"connection '{ike}' has no child '{child}'",
            (not null, null) when !conns.Any(c => c.Children.Contains(child)) => $"no connection has a child '{child}'",
            _ => null,
        };
        if (problem is null)
        {
            return null;
        }

        if (conns.Count == 0)
        {
            return problem + ", but the daemon has no connections loaded (see its log, fix the config, then `oakley load-all`)";
        }

        var sb = new StringBuilder(problem).Append("; the loaded connections are:");
        foreach (var (name, children) in conns)
        {
            sb.Append('\n').Append($"  --ike {name}: ").Append(children.Count == 0 ? "no children" : "--child " + string.Join(", ", children));
        }

        return sb.ToString();
    }

    /// <summary>Why the control socket did not answer, and what to do about it.</summary>
    public static string Unreachable(string controlPath, Exception e)
    {
        var code = (e as SocketException)?.SocketErrorCode;
        if (code == SocketError.AccessDenied)
        {
            return $"permission denied on the daemon's control socket {controlPath}: connecting needs write access to the socket and search access to its directories (run as root, or as the user the daemon runs as)";
        }

        if (Directory.Exists(controlPath))
        {
            return $"{controlPath} is a directory, not the daemon's control socket; pass the socket's path with --control";
        }

        if (!File.Exists(controlPath))
        {
            // .NET reports this (ENOENT) as AddressNotAvailable, "Cannot assign requested address": say what it is.
            return $"no daemon is listening at {controlPath}: the control socket does not exist; {StartHint}";
        }

        if (code == SocketError.ConnectionRefused)
        {
            return $"no daemon is listening at {controlPath}: the socket file is there but nothing accepts on it (left behind by a daemon that did not exit cleanly?); {StartHint}";
        }

        return $"cannot reach the daemon at {controlPath}: {e.Message}";
    }

    private static async Task<JsonObject?> TryRequestAsync(string controlPath, JsonObject request, TextWriter stderr, CancellationToken cancel)
    {
        try
        {
            return await Daemon.RequestAsync(controlPath, request, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            await stderr.WriteLineAsync($"oakley: {Unreachable(controlPath, e)}").ConfigureAwait(false);
            return null;
        }
    }

    internal static int Print(string command, JsonObject response, bool json, TextWriter stdout, TextWriter stderr)
    {
        var ok = (bool?)response["ok"] == true;
        if (json)
        {
            stdout.WriteLine(response.ToJsonString(Indented));
        }
        else if (!ok)
        {
            stderr.WriteLine($"oakley: {(string?)response["error"] ?? "failed"}");
        }
        else
        {
            stdout.WriteLine(TextFormat.Render(command, response));
        }

        return ok ? 0 : 1;
    }
}
