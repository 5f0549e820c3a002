using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Oakley.Host.Vici;

/// <summary>
/// One VICI client connection (README "Packet layer"): a reader that runs one command at a time, in order (VICI has
/// no sequence numbers, so a client waits for each response), and a writer task that is the only one to write to the
/// stream, so a response, the events a command streams and the events raised by the engine never interleave within a
/// segment. Events the engine raises are queued with <see cref="TryQueueEvent"/>, which never blocks: the engine
/// thread must not wait for a slow client, so a client whose queue passes <see cref="MaxQueuedEvents"/> is dropped.
/// Events a command streams (list-sa) wait for room instead: that client asked for them, and a listing of 100,000 SAs
/// must not be dropped for being long.
/// </summary>
internal sealed class ViciConnection : IAsyncDisposable
{
    /// <summary>Segments queued for a client before it counts as stuck (about 1,000 log lines or SA events).</summary>
    public const int MaxQueuedEvents = 1024;

    private readonly Stream _stream;
    private readonly ViciServer _server;
    private readonly Channel<byte[]> _out = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, bool> _registered = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _aborted;
    private int _queued;
    private int _closed;

    public ViciConnection(Stream stream, ViciServer server, CancellationToken stop)
    {
        _stream = stream;
        _server = server;
        _aborted = CancellationTokenSource.CreateLinkedTokenSource(stop);
    }

    /// <summary>Ends when the client goes, is dropped, or the daemon stops.</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>The command currently running on this connection (control-log goes to it), or null.</summary>
    public string? ActiveCommand { get; private set; }

    public bool IsRegistered(string name) => _registered.ContainsKey(name);

    /// <summary>
    /// Serves the connection until the client closes it or sends something malformed. <paramref name="first"/> is
    /// the byte the control socket read to tell VICI from JSON: the first byte of the first segment's length.
    /// </summary>
    public async Task RunAsync(byte first)
    {
        var writer = Task.Run(WriteLoopAsync);
        try
        {
            byte[]? firstBytes = [first];
            while (!Aborted.IsCancellationRequested)
            {
                ViciPacket? packet;
                try
                {
                    packet = await ViciPacket.ReadAsync(_stream, Aborted, firstBytes).ConfigureAwait(false);
                }
                catch (ViciFormatException e)
                {
                    _server.NoteMalformed(e.Message);
                    return;
                }

                firstBytes = null;
                if (packet is null)
                {
                    return;
                }

                if (!await HandleAsync(packet).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // the client went away, or the daemon stops
        }
        finally
        {
            Close();
            await writer.ConfigureAwait(false);
        }
    }

    /// <summary>One packet from the client; false closes the connection (a packet type only the server sends).</summary>
    private async Task<bool> HandleAsync(ViciPacket packet)
    {
        switch (packet.Type)
        {
            case ViciPacketType.CmdRequest:
                var response = await RunCommandAsync(packet.Name!, packet.Message!).ConfigureAwait(false);
                await SendAsync(response).ConfigureAwait(false);
                return true;
            case ViciPacketType.EventRegister or ViciPacketType.EventUnregister:
                var known = _server.IsKnownEvent(packet.Name!);
                if (known)
                {
                    if (packet.Type == ViciPacketType.EventRegister)
                    {
                        _registered[packet.Name!] = true;
                    }
                    else
                    {
                        _registered.TryRemove(packet.Name!, out _);
                    }

                    _server.RegistrationsChanged();
                }

                await SendAsync(new ViciPacket(known ? ViciPacketType.EventConfirm : ViciPacketType.EventUnknown)).ConfigureAwait(false);
                return true;
            default:
                _server.NoteMalformed($"a client sent packet type {packet.Type}, which only the server sends");
                return false;
        }
    }

    private async Task<ViciPacket> RunCommandAsync(string name, ViciSection request)
    {
        if (_server.Commands.Find(name) is not { } command)
        {
            return new ViciPacket(ViciPacketType.CmdUnknown);
        }

        ActiveCommand = name;
        try
        {
            return new ViciPacket(ViciPacketType.CmdResponse, Message: await command(request, new Call(this)).ConfigureAwait(false));
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            // A bug or a refused argument the handler did not catch: the client gets charon's failure shape and
            // the connection stays usable.
            _server.NoteCommandError(name, e);
            return new ViciPacket(ViciPacketType.CmdResponse, Message: ViciCommands.Failure($"{name}: {e.Message}"));
        }
        finally
        {
            ActiveCommand = null;
        }
    }

    /// <summary>A command's own output (its response, the events it streams): waits while the queue is full.</summary>
    private async Task SendAsync(ViciPacket packet)
    {
        var segment = packet.Encode();
        for (var i = 0; Volatile.Read(ref _queued) >= MaxQueuedEvents; i++)
        {
            await Task.Delay(Math.Min(50, 1 + i), Aborted).ConfigureAwait(false);
        }

        Enqueue(segment);
    }

    /// <summary>
    /// An event raised outside any command of this client (engine events, log lines): queued without waiting; a
    /// client that lets <see cref="MaxQueuedEvents"/> pile up is dropped (false).
    /// </summary>
    public bool TryQueueEvent(byte[] segment)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return true;
        }

        if (Volatile.Read(ref _queued) >= MaxQueuedEvents)
        {
            Close();
            return false;
        }

        Enqueue(segment);
        return true;
    }

    private void Enqueue(byte[] segment)
    {
        Interlocked.Increment(ref _queued);
        if (!_out.Writer.TryWrite(segment))
        {
            Interlocked.Decrement(ref _queued); // closed meanwhile
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var segment in _out.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                Interlocked.Decrement(ref _queued);
                if (Aborted.IsCancellationRequested)
                {
                    continue; // drain without writing: the connection is going
                }

                await _stream.WriteAsync(segment, Aborted).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or NotSupportedException)
        {
            Close();
        }
    }

    /// <summary>Ends the connection: the reader and writer stop, queued segments are dropped.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _out.Writer.TryComplete();
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _server.Remove(this);
    }

    public ValueTask DisposeAsync()
    {
        Close();
        _aborted.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>What a command handler may do on this connection.</summary>
    private sealed class Call(ViciConnection connection) : ViciCall
    {
        public override Task EmitAsync(string name, ViciSection message) =>
            connection.IsRegistered(name) ? connection.SendAsync(new ViciPacket(ViciPacketType.Event, name, message)) : Task.CompletedTask;

        public override bool IsRegistered(string name) => connection.IsRegistered(name);

        public override CancellationToken Aborted => connection.Aborted;

        public override void QueueEvent(string name, ViciSection message)
        {
            if (connection.IsRegistered(name))
            {
                connection.TryQueueEvent(new ViciPacket(ViciPacketType.Event, name, message).Encode());
            }
        }
    }
}
