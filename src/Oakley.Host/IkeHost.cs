using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// Runs one sans-IO <see cref="Endpoint"/> on real UDP sockets: a receive loop per socket feeds a channel, and a
/// single engine thread handles datagrams, commands and timers, then sends what the engine polled out. Port
/// 4500 carries IKE behind the four-byte non-ESP marker (RFC 3948 §2.2); a lone 0xFF byte is a NAT keepalive.
/// </summary>
public sealed class IkeHost : IAsyncDisposable
{
    private readonly Channel<Action<DateTimeOffset>> _inbox = Channel.CreateUnbounded<Action<DateTimeOffset>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<(Socket Socket, bool NatT)> _sockets = [];
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];

    public IkeHost(Endpoint endpoint, ILogger logger, TimeProvider? time = null)
    {
        Endpoint = endpoint;
        _log = logger;
        _time = time ?? TimeProvider.System;
    }

    public Endpoint Endpoint { get; }

    /// <summary>Events the engine emitted, in order (also logged); the daemon's SA table reads them.</summary>
    public event Action<EngineEvent>? EventRaised;

    /// <summary>ESP-in-UDP packets (RFC 3948) received on a NAT-T socket, on the receiving thread (the data plane is lock-free).</summary>
    public EspHandler? EspReceived { get; set; }

    public delegate void EspHandler(IPEndPoint remote, ReadOnlySpan<byte> esp);

    // The NAT-T sockets by family, found once at bind time: the ESP send path does no lookup.
    private Socket? _nattV4;
    private Socket? _nattV6;

    /// <summary>Sends an ESP-in-UDP packet from the NAT-T socket (no non-ESP marker: the SPI is never zero).</summary>
    public void SendEsp(IPEndPoint remote, ReadOnlySpan<byte> esp)
    {
        // Serialising an IPEndPoint allocates: keep the last peer's SocketAddress per sending thread (the peer
        // objects come from the data plane's published snapshot, so the reference is stable per SA).
        var cache = _lastPeer;
        if (!ReferenceEquals(cache.Endpoint, remote))
        {
            _lastPeer = cache = (remote, remote.Serialize());
        }

        (remote.AddressFamily == AddressFamily.InterNetworkV6 ? _nattV6 : _nattV4)?.SendTo(esp, SocketFlags.None, cache.Address!);
    }

    [ThreadStatic]
    private static (IPEndPoint? Endpoint, SocketAddress? Address) _lastPeer;

    /// <summary>A free UDP port on <paramref name="address"/> (for ephemeral setups such as the demo and benchmarks).</summary>
    public static int FreeUdpPort(IPAddress address)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public IReadOnlyList<IPEndPoint> LocalEndpoints => _sockets.Select(s => (IPEndPoint)s.Socket.LocalEndPoint!).ToList();

    /// <summary>Binds a UDP socket; <paramref name="natT"/> marks the port-4500 style framing.</summary>
    public IPEndPoint Bind(IPEndPoint local, bool natT)
    {
        var socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (local.AddressFamily == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = local.Address.Equals(IPAddress.IPv6Any);
        }

        socket.Bind(local);
        _sockets.Add((socket, natT));
        if (natT)
        {
            if (local.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _nattV6 ??= socket;
                _nattV4 ??= socket.DualMode ? socket : null;
            }
            else
            {
                _nattV4 ??= socket;
            }
        }

        return (IPEndPoint)socket.LocalEndPoint!;
    }

    public void Start()
    {
        foreach (var (socket, natT) in _sockets)
        {
            _tasks.Add(Task.Run(() => ReceiveLoop(socket, natT)));
        }

        _tasks.Add(Task.Run(EngineLoop));
    }

    /// <summary>Runs <paramref name="action"/> on the engine thread and returns its result.</summary>
    public Task<T> Invoke<T>(Func<Endpoint, DateTimeOffset, T> action)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _inbox.Writer.TryWrite(now =>
        {
            try
            {
                tcs.SetResult(action(Endpoint, now));
            }
            catch (Exception e)
            {
                tcs.SetException(e);
            }
        });
        return tcs.Task;
    }

    private async Task ReceiveLoop(Socket socket, bool natT)
    {
        var buffer = new byte[65536];
        var any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        var local = (IPEndPoint)socket.LocalEndPoint!;
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.LogDebug("receive on {Local} failed: {Error}", local, e.SocketErrorCode);
                continue;
            }

            var remote = (IPEndPoint)r.RemoteEndPoint;
            var data = buffer.AsSpan(0, r.ReceivedBytes);
            if (natT)
            {
                if (data.Length == 1 && data[0] == 0xFF)
                {
                    continue; // NAT keepalive (RFC 3948 §2.3)
                }

                if (data.Length < 4)
                {
                    continue;
                }

                if (data[..4].ContainsAnyExcept((byte)0))
                {
                    EspReceived?.Invoke(remote, data); // ESP in UDP: a non-zero SPI
                    continue;
                }

                data = data[4..];
            }

            var datagram = data.ToArray();
            _inbox.Writer.TryWrite(now => Endpoint.HandleDatagram(now, local, remote, datagram));
        }
    }

    private async Task EngineLoop()
    {
        var reader = _inbox.Reader;
        while (!_stop.IsCancellationRequested)
        {
            var now = _time.GetUtcNow();
            var deadline = Endpoint.PollTimeout();
            if (deadline is { } d && d <= now)
            {
                Endpoint.HandleTimeout(now);
                Flush();
                continue;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            if (deadline is { } dl)
            {
                wait.CancelAfter(dl - now);
            }

            try
            {
                await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                continue; // a timer expired
            }
            catch (OperationCanceledException)
            {
                return;
            }

            while (reader.TryRead(out var work))
            {
                try
                {
                    work(_time.GetUtcNow());
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The engine reports peer errors itself; anything reaching here is a bug: log it, keep running.
                    _log.LogError(e, "engine error");
                }

                Flush();
            }
        }
    }

    private void Flush()
    {
        while (Endpoint.TryPollTransmit(out var t))
        {
            var target = _sockets.FirstOrDefault(s => ((IPEndPoint)s.Socket.LocalEndPoint!).Port == t.Local.Port && s.Socket.AddressFamily == t.Remote.AddressFamily);
            if (target.Socket is null)
            {
                target = _sockets.FirstOrDefault(s => s.Socket.AddressFamily == t.Remote.AddressFamily || s.Socket.DualMode);
            }

            if (target.Socket is null)
            {
                _log.LogWarning("no socket to send to {Remote}", t.Remote);
                continue;
            }

            try
            {
                var payload = target.NatT ? [0, 0, 0, 0, .. t.Datagram] : t.Datagram;
                target.Socket.SendTo(payload, t.Remote);
            }
            catch (SocketException e)
            {
                _log.LogDebug("send to {Remote} failed: {Error}", t.Remote, e.SocketErrorCode);
            }
        }

        while (Endpoint.TryPollEvent(out var e))
        {
            Log(e);
            EventRaised?.Invoke(e);
        }
    }

    private void Log(EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up:
                _log.LogInformation("[{Name}|{Id}] IKE_SA established between {Local}[{LocalId}]...{Remote}[{RemoteId}], {Algorithms}",
                    up.Name, up.IkeSaId, up.Local, up.LocalId, up.Remote, up.RemoteId, up.Algorithms);
                break;
            case IkeSaDown down:
                _log.LogInformation("[{Name}|{Id}] IKE_SA deleted: {Reason}", down.Name, down.IkeSaId, down.Reason);
                break;
            case ChildSaInstall c:
                // Never log keys.
                _log.LogInformation("[{Name}|{Id}] CHILD_SA {Child} established with SPIs {In:x8}_i {Out:x8}_o and TS {LocalTs} === {RemoteTs}",
                    c.IkeName, c.IkeSaId, c.ChildName, c.InboundSpi, c.OutboundSpi, string.Join(" ", c.LocalTs), string.Join(" ", c.RemoteTs));
                break;
            case ChildSaRemove r:
                _log.LogInformation("[{Id}] CHILD_SA {Child} with SPIs {In:x8}_i {Out:x8}_o deleted", r.IkeSaId, r.ChildName, r.InboundSpi, r.OutboundSpi);
                break;
            case Alert a:
                _log.LogWarning("[{Id}] {Message}", a.IkeSaId, a.Message);
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var (socket, _) in _sockets)
        {
            socket.Dispose();
        }

        try
        {
            await Task.WhenAll(_tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
