using System.Collections.Concurrent;
using System.Collections.Frozen;
using Microsoft.Extensions.Logging;

namespace Oakley.Host.Vici;

/// <summary>
/// The VICI side of the control socket (strongSwan's vici plugin, README.md): the connections that
/// <see cref="ControlServer"/> hands over after sniffing their first byte, the command registry, and the events
/// clients may register for. <see cref="Raise"/> is how the engine's events and the log reach the registered clients:
/// it builds the message only if some client listens, encodes it once, and queues it on each listener without
/// waiting (<see cref="ViciConnection.TryQueueEvent"/>), so the engine thread never waits for a client.
/// </summary>
internal sealed class ViciServer
{
    private readonly ConcurrentDictionary<ViciConnection, byte> _connections = new();
    private readonly HashSet<string> _events = new(StringComparer.Ordinal);
    private readonly ILogger _log;
    private readonly LogRateLimiter _problems = new(5, 0.2);
    private FrozenSet<string> _listened = FrozenSet<string>.Empty;
    private long _malformed;
    private long _dropped;
    private long _accepted;

    public ViciServer(ViciCommands commands, ILogger log)
    {
        Commands = commands;
        _log = log;
    }

    public ViciCommands Commands { get; }

    /// <summary>Segments that were malformed (each closed its connection).</summary>
    public long MalformedSegments => Interlocked.Read(ref _malformed);

    /// <summary>Clients dropped because they did not read their events.</summary>
    public long DroppedClients => Interlocked.Read(ref _dropped);

    /// <summary>VICI connections accepted since start.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>VICI connections open now.</summary>
    public int Open => _connections.Count;

    /// <summary>Declares an event clients may register for (others get EVENT_UNKNOWN).</summary>
    public void AddEvent(string name)
    {
        lock (_events)
        {
            _events.Add(name);
        }
    }

    public bool IsKnownEvent(string name)
    {
        lock (_events)
        {
            return _events.Contains(name);
        }
    }

    /// <summary>Whether any client registered for <paramref name="name"/> (cheap: checked before building an event).</summary>
    public bool HasListeners(string name) => Volatile.Read(ref _listened).Contains(name);

    /// <summary>Serves one VICI client until it goes (called by the control socket).</summary>
    public async Task ServeAsync(Stream stream, byte first, CancellationToken stop)
    {
        var connection = new ViciConnection(stream, this, stop);
        _connections[connection] = 0;
        Interlocked.Increment(ref _accepted);
        await using (connection.ConfigureAwait(false))
        {
            await connection.RunAsync(first).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends the event <paramref name="name"/> to every client registered for it; <paramref name="build"/> runs only if
    /// there is one. Never blocks: a client that does not keep up is dropped with a log line.
    /// </summary>
    public void Raise(string name, Func<ViciSection> build)
    {
        if (!HasListeners(name))
        {
            return;
        }

        byte[]? segment = null;
        foreach (var connection in _connections.Keys)
        {
            if (!connection.IsRegistered(name))
            {
                continue;
            }

            segment ??= new ViciPacket(ViciPacketType.Event, name, build()).Encode();
            if (!connection.TryQueueEvent(segment))
            {
                Interlocked.Increment(ref _dropped);
                Problem("dropped a VICI client that did not read its events ({Count} queued)", ViciConnection.MaxQueuedEvents);
            }
        }
    }

    /// <summary>Recomputes which events have listeners (a client registered, unregistered or went).</summary>
    public void RegistrationsChanged()
    {
        string[] names;
        lock (_events)
        {
            names = [.. _events];
        }

        Volatile.Write(ref _listened, names.Where(n => _connections.Keys.Any(c => c.IsRegistered(n))).ToFrozenSet(StringComparer.Ordinal));
    }

    public void Remove(ViciConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            RegistrationsChanged();
        }
    }

    public void NoteMalformed(string reason)
    {
        Interlocked.Increment(ref _malformed);
        Problem("closed a VICI connection: malformed segment: {Reason}", reason);
    }

    public void NoteCommandError(string command, Exception e) =>
        Problem("VICI command {Command} failed: {Error}", command, $"{e.GetType().Name}: {e.Message}");

    /// <summary>Closes every connection (the daemon stops).</summary>
    public void CloseAll()
    {
        foreach (var c in _connections.Keys)
        {
            c.Close();
        }
    }

    /// <summary>A line a client can cause, rate-limited (a client looping on bad segments costs a counter, not the log).</summary>
    private void Problem(string message, object? argument)
    {
        bool pass;
        long held;
        lock (_problems)
        {
            pass = _problems.TryAcquire(DateTimeOffset.UtcNow, out held);
        }

        if (pass)
        {
#pragma warning disable CA2254 // the templates are the constants above
            _log.LogWarning(message + EngineEventLog.SuppressedNote(held), argument);
#pragma warning restore CA2254
        }
    }

    private void Problem(string message, object? a, object? b)
    {
        bool pass;
        long held;
        lock (_problems)
        {
            pass = _problems.TryAcquire(DateTimeOffset.UtcNow, out held);
        }

        if (pass)
        {
#pragma warning disable CA2254
            _log.LogWarning(message + EngineEventLog.SuppressedNote(held), a, b);
#pragma warning restore CA2254
        }
    }
}
