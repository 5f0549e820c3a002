using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Oakley.Config;

namespace Oakley.Host;

/// <summary>
/// The daemon's Unix control socket: one JSON request per line, one JSON response per line, one request per
/// connection. A request that fails (bad JSON, unknown command, a config error on load-all) is answered with
/// <c>{"ok": false, "error": ...}</c>.
/// </summary>
internal sealed class ControlServer(string path, Func<JsonObject, Task<JsonObject>> handle) : IDisposable
{
    private Socket? _socket;

    public string Path => path;

    public void Start(CancellationToken stop)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(16);
        _socket = socket;
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await socket.AcceptAsync(stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => ServeAsync(client));
            }
        });
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        using var reader = new StreamReader(stream);
        await using var writer = new StreamWriter(stream) { AutoFlush = true };
        var line = await reader.ReadLineAsync().ConfigureAwait(false);
        if (line is null)
        {
            return;
        }

        JsonObject response;
        try
        {
            var request = JsonNode.Parse(line)!.AsObject();
            response = await handle(request).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or ConfigException or KeyNotFoundException)
        {
            response = new JsonObject { ["ok"] = false, ["error"] = e.Message };
        }

        await writer.WriteLineAsync(response.ToJsonString()).ConfigureAwait(false);
    }

    /// <summary>Sends one control request and returns the response (used by the CLI verbs).</summary>
    public static async Task<JsonObject> RequestAsync(string controlPath, JsonObject request, CancellationToken cancel)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(controlPath), cancel).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await using var writer = new StreamWriter(stream) { AutoFlush = true };
        using var reader = new StreamReader(stream);
        await writer.WriteLineAsync(request.ToJsonString()).ConfigureAwait(false);
        var line = await reader.ReadLineAsync(cancel).ConfigureAwait(false) ?? throw new IOException("the daemon closed the control connection");
        return JsonNode.Parse(line)!.AsObject();
    }

    /// <summary>Closes the socket and removes its file.</summary>
    public void Dispose()
    {
        _socket?.Dispose();
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
