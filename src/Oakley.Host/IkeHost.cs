using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// Runs one sans-IO <see cref="Endpoint"/> on real UDP sockets: a receive thread per socket (recvmmsg batches)
/// feeds a channel, and a single engine thread handles datagrams, commands and timers, then sends what the
/// engine polled out. Port
/// 4500 carries IKE behind the four-byte non-ESP marker (RFC 3948 §2.2); a lone 0xFF byte is a NAT keepalive.
/// </summary>
public sealed class IkeHost : IAsyncDisposable
{
    private readonly Channel<Action<DateTimeOffset>> _inbox = Channel.CreateUnbounded<Action<DateTimeOffset>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<(Socket Socket, bool NatT)> _sockets = [];
    private readonly ILogger _log;

    // Alerts and send failures can be caused by any peer (a flood of bad IKE_AUTHs, of unacceptable proposals):
    // 50 lines at once, then 10 a second.
    private readonly LogRateLimiter _peerLines = new(50, 10);
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly List<Thread> _threads = [];
    private bool _started;

    public IkeHost(Endpoint endpoint, ILogger logger, TimeProvider? time = null)
    {
        Endpoint = endpoint;
        _log = logger;
        _time = time ?? TimeProvider.System;
    }

    public Endpoint Endpoint { get; }

    /// <summary>Events the engine emitted, in order (also logged); the daemon's SA table reads them.</summary>
    public event Action<EngineEvent>? EventRaised;

    /// <summary>
    /// ESP-in-UDP packets (RFC 3948) received on a NAT-T socket, handed over on the receiving thread without a
    /// copy (the data plane is lock-free); the span is valid only during the call.
    /// </summary>
    public EspHandler? EspReceived { get; set; }

    public delegate void EspHandler(ReadOnlySpan<byte> esp);

    /// <summary>Called on a NAT-T receive thread after each burst handed to <see cref="EspReceived"/>.</summary>
    public Action? EspBurstEnd { get; set; }

    // The NAT-T sockets by family, found once at bind time: the ESP send path does no lookup.
    private Socket? _nattV4;
    private Socket? _nattV6;

    /// <summary>
    /// The NAT-T socket that ESP in UDP to <paramref name="family"/> leaves from: its descriptor, and whether it is
    /// an IPv6 socket (IPv4 peers then need v4-mapped addresses).
    /// </summary>
    public (int Fd, bool Ipv6)? NattSocket(AddressFamily family)
    {
        var s = family == AddressFamily.InterNetworkV6 ? _nattV6 : _nattV4;
        return s is null ? null : ((int)s.SafeHandle.DangerousGetHandle(), s.AddressFamily == AddressFamily.InterNetworkV6);
    }

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
        var socket = CreateSocket(local);
        Add(socket, natT);
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>A UDP socket bound to <paramref name="local"/> with the bypass mark, not yet in use; throws <see cref="SocketException"/>.</summary>
    public static Socket CreateSocket(IPEndPoint local)
    {
        ArgumentNullException.ThrowIfNull(local);
        var socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (local.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = local.Address.Equals(IPAddress.IPv6Any);
            }

            socket.Bind(local);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        LinuxIo.SetBypassMark((int)socket.SafeHandle.DangerousGetHandle()); // IKE and ESP in UDP never enter the tunnel
        return socket;
    }

    /// <summary>
    /// Starts using a socket of <see cref="CreateSocket"/>. Before <see cref="Start"/> from any thread; after it
    /// only on the engine thread (the send path reads the socket list there), and the socket's receive thread
    /// starts at once.
    /// </summary>
    public void Add(Socket socket, bool natT)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _sockets.Add((socket, natT));
        if (natT)
        {
            if (socket.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _nattV6 ??= socket;
                _nattV4 ??= socket.DualMode ? socket : null;
            }
            else
            {
                _nattV4 ??= socket;
            }
        }

        if (_started)
        {
            StartReceiving(socket, natT);
        }
    }

    public void Start()
    {
        _started = true;
        foreach (var (socket, natT) in _sockets)
        {
            StartReceiving(socket, natT);
        }

        Completion = Task.Run(EngineLoop);
        _tasks.Add(Completion);
    }

    /// <summary>The engine loop: completes when the host is disposed, faults if the loop itself failed (a bug).</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    private void StartReceiving(Socket socket, bool natT)
    {
        var thread = new Thread(() => ReceiveLoop(socket, natT)) { IsBackground = true, Name = natT ? "oakley-natt" : "oakley-ike" };
        lock (_threads)
        {
            if (_stop.IsCancellationRequested)
            {
                return; // disposing: the socket is closed with the others
            }

            _threads.Add(thread);
        }

        thread.Start();
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

    /// <summary>Runs <paramref name="action"/> on the engine thread, without waiting.</summary>
    public void Post(Action<Endpoint, DateTimeOffset> action) => _inbox.Writer.TryWrite(now => action(Endpoint, now));

    private void Dispatch(ReadOnlySpan<byte> data, bool natT, IPEndPoint local, DatagramBatch batch, int slot)
    {
        if (natT)
        {
            if (data.Length == 1 && data[0] == 0xFF)
            {
                return; // NAT keepalive (RFC 3948 §2.3)
            }

            if (data.Length < 4)
            {
                return;
            }

            if (data[..4].ContainsAnyExcept((byte)0))
            {
                EspReceived?.Invoke(data); // ESP in UDP: a non-zero SPI
                return;
            }

            data = data[4..];
        }

        var remote = LinuxIo.ReadSockaddr(batch.Name(slot));
        var datagram = data.ToArray();
        _inbox.Writer.TryWrite(now => Endpoint.HandleDatagram(now, local, remote, datagram));
    }

    /// <summary>
    /// One thread per socket receives batches with recvmmsg. On a NAT-T socket a non-zero first word is ESP in
    /// UDP and goes straight to the data plane on this thread; IKE (behind the non-ESP marker) is copied to the
    /// engine thread.
    /// </summary>
    private void ReceiveLoop(Socket socket, bool natT)
    {
        var local = (IPEndPoint)socket.LocalEndPoint!;
        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        if (natT)
        {
            LinuxIo.EnableUdpGro(fd);
        }

        using var batch = new DatagramBatch(natT ? 32 : 8, 65536);
        while (!_stop.IsCancellationRequested)
        {
            if (!LinuxIo.WaitReadable(fd, 250))
            {
                continue;
            }

            var n = batch.Receive(fd);
            for (var i = 0; i < n; i++)
            {
                if (batch.Truncated(i))
                {
                    continue; // larger than any IKE message or ESP packet we accept
                }

                // With UDP GRO a message may be a train of equal-size datagrams from one peer: take them apart.
                var data = batch.Data(i);
                var segment = batch.GroSize(i);
                if (segment <= 0)
                {
                    segment = data.Length;
                }

                for (var offset = 0; offset < data.Length; offset += segment)
                {
                    Dispatch(data.Slice(offset, Math.Min(segment, data.Length - offset)), natT, local, batch, i);
                }
            }

            if (natT && n > 0)
            {
                EspBurstEnd?.Invoke();
            }
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
                    // The engine reports peer errors itself; anything reaching here is a bug: log it (one line; the
                    // stack trace at debug level), keep running.
                    _log.LogError("engine error: {Type}: {Message}", e.GetType().Name, e.Message);
                    _log.LogDebug(e, "engine error");
                }

                Flush();
            }
        }
    }

    private void Flush()
    {
        // Events first: a responder's CHILD SA (keys, policies, routes) is installed before the IKE_AUTH or
        // CREATE_CHILD_SA response that lets the initiator send traffic leaves, so the first ESP packet never
        // finds the route missing.
        while (Endpoint.TryPollEvent(out var e))
        {
            Log(e);
            EventRaised?.Invoke(e);
        }

        while (Endpoint.TryPollTransmit(out var t))
        {
            // The socket bound to the SA's own address first (several local_addrs each have their sockets); else the
            // socket of the SA's port: of the peer's family, or a dual-stack one (local_addrs = %any binds [::]).
            var target = _sockets.FirstOrDefault(s => ((IPEndPoint)s.Socket.LocalEndPoint!).Equals(t.Local));
            if (target.Socket is null)
            {
                target = _sockets.FirstOrDefault(s => ((IPEndPoint)s.Socket.LocalEndPoint!).Port == t.Local.Port
                    && (s.Socket.AddressFamily == t.Remote.AddressFamily || s.Socket.DualMode));
            }

            if (target.Socket is null)
            {
                target = _sockets.FirstOrDefault(s => s.Socket.AddressFamily == t.Remote.AddressFamily || s.Socket.DualMode);
            }

            if (target.Socket is null)
            {
                if (_peerLines.TryAcquire(_time.GetUtcNow(), out var held))
                {
                    _log.LogWarning("no socket to send to {Remote}{Suppressed}", t.Remote, SuppressedNote(held));
                }

                continue;
            }

            try
            {
                // RFC 3948 §2.2/§2.3: IKE on the NAT-T port gets the non-ESP marker; a NAT keepalive goes as-is.
                var payload = target.NatT && !t.NatKeepalive ? [0, 0, 0, 0, .. t.Datagram] : t.Datagram;
                target.Socket.SendTo(payload, t.Remote);
            }
            catch (SocketException e)
            {
                _log.LogDebug("send to {Remote} failed: {Error}", t.Remote, e.SocketErrorCode);
            }
        }
    }

    /// <summary>Log lines held back by <see cref="_peerLines"/> (counted for <c>oakley stats</c>).</summary>
    public long LogLinesSuppressed => _peerLines.SuppressedTotal;

    private static string SuppressedNote(long held) => held > 0 ? $" ({held} similar lines suppressed before this one)" : string.Empty;

    private void Log(EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up:
                _log.LogInformation("[{Name}|{Id}] IKE_SA established between {Local}[{LocalId}]...{Remote}[{RemoteId}], {Algorithms}",
                    up.Name, up.IkeSaId, up.Local, up.LocalId, up.Remote, up.RemoteId, up.Algorithms);
                break;
            case IkeSaRekeyed r:
                _log.LogInformation("[{Name}|{Id}] IKE_SA rekeyed: {OldI:x16}_i {OldR:x16}_r -> {SpiI:x16}_i {SpiR:x16}_r",
                    r.Name, r.IkeSaId, r.OldSpiI, r.OldSpiR, r.SpiI, r.SpiR);
                break;
            case IkeSaDown down:
                _log.LogInformation("[{Name}|{Id}] IKE_SA deleted: {Reason}", down.Name, down.IkeSaId, down.Reason);
                break;
            case ChildSaInstall c:
                // Never log keys.
                _log.LogInformation("[{Name}|{Id}] CHILD_SA {Child} established with SPIs {In:x8}_i {Out:x8}_o and TS {LocalTs} === {RemoteTs}",
                    c.IkeName, c.IkeSaId, c.ChildName, c.InboundSpi, c.OutboundSpi, string.Join(" ", c.LocalTs), string.Join(" ", c.RemoteTs));
                break;
            case IkeSaAddressesChanged moved:
                _log.LogInformation("[{Name}|{Id}] IKE_SA and its CHILD_SAs now {Local}...{Remote}{Encap}: {Reason}",
                    moved.Name, moved.IkeSaId, moved.Local, moved.Remote, moved.UdpEncapsulation ? " (ESP in UDP)" : string.Empty, moved.Reason);
                break;
            case ChildSaRemove r:
                _log.LogInformation("[{Id}] CHILD_SA {Child} with SPIs {In:x8}_i {Out:x8}_o deleted", r.IkeSaId, r.ChildName, r.InboundSpi, r.OutboundSpi);
                break;
            case Alert a:
                if (_peerLines.TryAcquire(a.Time, out var held))
                {
                    _log.LogWarning("[{Id}] {Message}{Suppressed}", a.IkeSaId, a.Message, SuppressedNote(held));
                }

                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        List<Thread> threads;
        lock (_threads)
        {
            threads = [.. _threads];
        }

        foreach (var thread in threads)
        {
            thread.Join(); // each wakes within its poll timeout; only then may the descriptors close
        }

        foreach (var (socket, _) in _sockets)
        {
            socket.Dispose();
        }

        try
        {
            await Task.WhenAll(_tasks).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Cancelled, or a failed engine loop that Completion already reported: disposing goes on.
        }

        _stop.Dispose();
    }
}
