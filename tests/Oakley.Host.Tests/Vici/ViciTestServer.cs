using System.Net.Sockets;
using Oakley.Host.Vici;

namespace Oakley.Host.Tests.Vici;

/// <summary>
/// A minimal VICI accept loop for tests only (the daemon's server is its own): one client at a time on a Unix socket,
/// each request answered by the command registry, unknown commands with CMD_UNKNOWN, event registrations with
/// EVENT_UNKNOWN; the configuration commands use no <see cref="ViciCall"/>, so none is given. Every command it ran is recorded, so a test can say what real swanctl sent.
/// </summary>
internal sealed class ViciTestServer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ViciCommands _commands;

    public ViciTestServer(string path, ViciCommands commands)
    {
        _commands = commands;
        Path = path;
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(4);
        _loop = Task.Run(AcceptAsync);
    }

    public string Path { get; }

    /// <summary>The requests received, in order: the command name and its message.</summary>
    public List<(string Name, ViciSection Message)> Requests { get; } = [];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            using (client)
            await using (var stream = new NetworkStream(client))
            {
                await ServeAsync(stream).ConfigureAwait(false);
            }
        }
    }

    private async Task ServeAsync(NetworkStream stream)
    {
        try
        {
            while (await ViciPacket.ReadAsync(stream, _stop.Token).ConfigureAwait(false) is { } packet)
            {
                ViciPacket reply;
                if (packet.Type == ViciPacketType.CmdRequest && _commands.Find(packet.Name!) is { } command)
                {
                    lock (Requests)
                    {
                        Requests.Add((packet.Name!, packet.Message!));
                    }

                    reply = new ViciPacket(ViciPacketType.CmdResponse, null, await command(packet.Message!, null!).ConfigureAwait(false));
                }
                else
                {
                    reply = new ViciPacket(packet.Type == ViciPacketType.CmdRequest ? ViciPacketType.CmdUnknown : ViciPacketType.EventUnknown);
                }

                await stream.WriteAsync(reply.Encode(), _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ViciFormatException or OperationCanceledException)
        {
            // the client went away
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        File.Delete(Path);
    }
}
