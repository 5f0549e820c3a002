using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Host;

/// <summary>
/// The daemon's Unix control socket, which speaks two protocols. Oakley's own: one JSON request per line, one JSON
/// response per line, one request per connection. A handler may write a long response itself, in pieces (list-sas
/// streams its pages), and return null. A request that fails (bad JSON, unknown command, a config error on load-all)
/// is answered with <c>{"ok": false, "error": ...}</c>. And strongSwan's VICI (<paramref name="vici"/>): a connection
/// whose first byte is not '{' is handed to it. A VICI segment starts with its 32-bit length, whose first byte is 0
/// for any segment within the 512 KB limit, so the first byte tells the two apart without a second socket.
/// </summary>
internal sealed class ControlServer(string path, Func<JsonObject, TextWriter, Task<JsonObject?>> handle,
    Func<Stream, byte, CancellationToken, Task>? vici = null) : IDisposable
{
    private Socket? _socket;

    public string Path => path;

    /// <summary>
    /// Creates the socket (before anything else is installed, so that a second daemon stops here): a missing
    /// directory is created (mode 0755, as for /run); a socket a live daemon answers on is refused; a stale one
    /// (its daemon was killed) is removed; anything else at the path is left alone. Throws <see cref="StartupException"/>.
    /// </summary>
    public void Claim(ILogger log)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            try
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(directory);
                }
                else
                {
                    Directory.CreateDirectory(directory, DirectoryMode);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StartupException($"cannot create the directory {directory} for the control socket {path}: {e.Message}", e);
            }

            log.LogInformation("created the directory {Directory} for the control socket", directory);
        }

        if (LinuxIo.FileType(path) is { } type)
        {
            if (type != LinuxIo.FileTypeSocket)
            {
                throw new StartupException($"{path} exists and is not a socket: not replacing it (--control chooses another path)");
            }

            if (Answers(path))
            {
                throw new StartupException($"another daemon is listening on the control socket {path}: stop it first, or give this one another --control");
            }

            File.Delete(path);
            log.LogInformation("removed the stale control socket {Path} (left by a daemon that did not exit cleanly)", path);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
            {
                // As charon's vici socket (stream_service_unix binds under umask 007): owner and group may connect,
                // others not. Until this chmod the file has the umask's mode (0755 under the usual 022: only the
                // owner can connect, since connecting needs write access), never a wider one.
                File.SetUnixFileMode(path, SocketMode);
            }

            socket.Listen(16);
        }
        catch (Exception e) when (e is SocketException or ArgumentException or IOException)
        {
            socket.Dispose();
            throw new StartupException($"cannot create the control socket {path}: {e.Message}", e);
        }

        _socket = socket;
    }

    /// <summary>srwxrwx---: the mode charon gives its vici socket.</summary>
    internal const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute;

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Whether a process accepts connections on the socket file (a refused connection: it is stale).</summary>
    private static bool Answers(string socketPath)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
        catch (SocketException e)
        {
            throw new StartupException($"cannot check whether a daemon is listening on the control socket {socketPath}: {e.Message}", e);
        }
    }

    /// <summary>Accepts requests until <paramref name="stop"/> (after <see cref="Claim"/>).</summary>
    public void Serve(CancellationToken stop)
    {
        var socket = _socket ?? throw new InvalidOperationException("the control socket was not claimed");
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

                _ = Task.Run(() => ServeAsync(client, stop));
            }
        });
    }

    private async Task ServeAsync(Socket client, CancellationToken stop)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var first = new byte[1];
        try
        {
            if (await stream.ReadAsync(first, stop).ConfigureAwait(false) == 0)
            {
                return;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return;
        }

        if (first[0] != (byte)'{' && vici is not null)
        {
            await vici(stream, first[0], stop).ConfigureAwait(false);
            return;
        }

        using var reader = new StreamReader(stream);
        await using var writer = new StreamWriter(stream) { AutoFlush = true };
        // The '{' was read to tell the protocols apart: the line is that brace and the rest.
        var line = (char)first[0] + await reader.ReadLineAsync().ConfigureAwait(false);

        JsonObject? response;
        try
        {
            var request = JsonNode.Parse(line)!.AsObject();
            response = await handle(request, writer).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or ConfigException or KeyNotFoundException)
        {
            response = new JsonObject { ["ok"] = false, ["error"] = e.Message };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not the request's fault: the client still gets an answer and the daemon keeps running.
            response = new JsonObject { ["ok"] = false, ["error"] = $"internal error: {e.GetType().Name}: {e.Message}" };
        }

        if (response is not null)
        {
            await writer.WriteLineAsync(response.ToJsonString()).ConfigureAwait(false);
        }
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

    /// <summary>Closes the socket and removes its file (only if this daemon created it: never another daemon's).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _socket, null) is { } socket)
        {
            socket.Dispose();
            DeleteFile();
        }
    }

    /// <summary>Removes the socket file if this daemon created it, without closing anything (a crash).</summary>
    public void RemoveAfterCrash()
    {
        if (Volatile.Read(ref _socket) is not null)
        {
            DeleteFile();
        }
    }

    private void DeleteFile()
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
