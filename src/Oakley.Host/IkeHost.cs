using System.Net;
using System.Net.Sockets;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// Runs one sans-IO <see cref="Endpoint"/> on real UDP sockets. One engine thread handles datagrams, commands and
/// timers and sends what the engine polled out: it reads the IKE sockets itself (recvmmsg), so a request on port
/// 500 costs no thread hand-off, and sleeps in one poll over those sockets and an eventfd (<see cref="EngineWake"/>).
/// A NAT-T socket (port 4500) has its own receive thread, because ESP in UDP arrives there too and goes straight to
/// the data plane; IKE behind the four-byte non-ESP marker (RFC 3948 §2.2) is queued to the engine thread, and a
/// lone 0xFF byte is a NAT keepalive.
/// </summary>
public sealed class IkeHost : IAsyncDisposable
{
    private readonly ConcurrentQueue<Work> _inbox = new();
    private readonly EngineWake _wake = new();
    private readonly IkeSockets _sockets = new();
    private readonly ILogger _log;

    // Alerts and send failures can be caused by any peer (a flood of bad IKE_AUTHs, of unacceptable proposals):
    // 50 lines at once, then 10 a second.
    private readonly LogRateLimiter _peerLines = new(50, 10);
    private readonly Systemd.IkeSaLogContext _logContext = new();
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _threads = [];
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _engine;
    private bool _started;

    /// <summary>One item of the engine thread's queue: a command, or an IKE datagram a NAT-T thread received.</summary>
    private readonly record struct Work(Action<DateTimeOffset>? Command, IPEndPoint? Local, IPEndPoint? Remote, byte[]? Datagram);

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

    public IReadOnlyList<IPEndPoint> LocalEndpoints => _sockets.All.Select(s => s.Local).ToList();

    /// <summary>Binds a UDP socket; <paramref name="natT"/> marks the port-4500 style framing.</summary>
    public IPEndPoint Bind(IPEndPoint local, bool natT)
    {
        var socket = CreateSocket(local);
        Add(socket, natT);
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>
    /// The IKE sockets' buffers: a burst of a few thousand IKE_SA_INITs (a gateway after an outage, a load test)
    /// waits in the kernel while the engine works through it, rather than overflowing the default 208 KiB (which
    /// costs each dropped initiator a retransmission, seconds). Bounded, so a flood cannot grow it.
    /// </summary>
    public const int SocketBuffer = 4 << 20;

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

        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        LinuxIo.SetBypassMark(fd); // IKE and ESP in UDP never enter the tunnel
        LinuxIo.SetBuffers(fd, SocketBuffer);
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
        _sockets.Add(socket, natT);
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

            if (_started)
            {
                StartReceiving(socket);
            }
        }
    }

    public void Start()
    {
        _started = true;
        foreach (var bound in _sockets.All.Where(b => b.NatT))
        {
            StartReceiving(bound.Socket);
        }

        _engine = new Thread(EngineThread) { IsBackground = true, Name = "oakley-engine" };
        _engine.Start();
    }

    /// <summary>The engine loop: completes when the host is disposed, faults if the loop itself failed (a bug).</summary>
    public Task Completion => _started ? _completion.Task : Task.CompletedTask;

    private void StartReceiving(Socket socket)
    {
        var thread = new Thread(() => NattReceiveLoop(socket)) { IsBackground = true, Name = "oakley-natt" };
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
        Enqueue(new Work(now =>
        {
            try
            {
                tcs.SetResult(action(Endpoint, now));
            }
            catch (Exception e)
            {
                tcs.SetException(e);
            }
        }, null, null, null));
        return tcs.Task;
    }

    /// <summary>Runs <paramref name="action"/> on the engine thread, without waiting.</summary>
    public void Post(Action<Endpoint, DateTimeOffset> action) => Enqueue(new Work(now => action(Endpoint, now), null, null, null));

    private void Enqueue(Work work)
    {
        _inbox.Enqueue(work);
        _wake.Wake();
    }

    /// <summary>
    /// A NAT-T socket's thread receives batches with recvmmsg. A non-zero first word is ESP in UDP and goes straight
    /// to the data plane on this thread; IKE (behind the non-ESP marker) is copied to the engine thread.
    /// </summary>
    private void NattReceiveLoop(Socket socket)
    {
        var local = (IPEndPoint)socket.LocalEndPoint!;
        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        LinuxIo.EnableUdpGro(fd);
        using var batch = new DatagramBatch(32, 65536);
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
                    DispatchNatT(data.Slice(offset, Math.Min(segment, data.Length - offset)), local, batch, i);
                }
            }

            if (n > 0)
            {
                EspBurstEnd?.Invoke();
            }
        }
    }

    private void DispatchNatT(ReadOnlySpan<byte> data, IPEndPoint local, DatagramBatch batch, int slot)
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

        Enqueue(new Work(null, local, LinuxIo.ReadSockaddr(batch.Name(slot)), data[4..].ToArray()));
    }

    private void EngineThread()
    {
        try
        {
            using var batch = new DatagramBatch(8, IkeSockets.IkeMessageMax);
            while (!_stop.IsCancellationRequested)
            {
                if (!Turn(batch))
                {
                    Sleep();
                }
            }

            _completion.TrySetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError("engine loop failed: {Type}: {Message}", e.GetType().Name, e.Message);
            _completion.TrySetException(e);
        }
    }

    /// <summary>
    /// One turn of the engine thread: due timers, queued work, what the IKE sockets hold, then the events and
    /// datagrams the engine produced (events first: a responder's CHILD SA is installed before the response that
    /// lets the initiator send traffic leaves). False when there was nothing to do.
    /// </summary>
    private bool Turn(DatagramBatch batch)
    {
        var busy = false;
        var now = _time.GetUtcNow();
        if (Endpoint.PollTimeout() is { } deadline && deadline <= now)
        {
            Endpoint.HandleTimeout(now);
            busy = true;
        }

        for (var i = 0; i < 64 && _inbox.TryDequeue(out var work); i++)
        {
            Run(work);
            busy = true;
        }

        var sockets = _sockets.All;
        for (var i = 0; i < sockets.Count; i++)
        {
            if (!sockets[i].NatT)
            {
                busy |= Receive(sockets[i], batch);
            }
        }

        Flush();
        return busy;
    }

    /// <summary>Reads one batch from an IKE socket (port 500 style, no framing) and hands each datagram to the engine.</summary>
    private bool Receive(IkeSockets.Bound socket, DatagramBatch batch)
    {
        var n = batch.Receive(socket.Fd);
        for (var i = 0; i < n; i++)
        {
            if (!batch.Truncated(i))
            {
                Run(new Work(null, socket.Local, LinuxIo.ReadSockaddr(batch.Name(i)), batch.Data(i).ToArray()));
            }
        }

        return n > 0;
    }

    private void Run(Work work)
    {
        try
        {
            var now = _time.GetUtcNow();
            if (work.Command is { } command)
            {
                command(now);
            }
            else
            {
                Endpoint.HandleDatagram(now, work.Local!, work.Remote!, work.Datagram!);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The engine reports peer errors itself; anything reaching here is a bug: log it (one line; the stack
            // trace at debug level), keep running.
            _log.LogError("engine error: {Type}: {Message}", e.GetType().Name, e.Message);
            _log.LogDebug(e, "engine error");
        }
    }

    /// <summary>Sleeps in one poll over the engine's IKE sockets and the wake-up eventfd, until the next timer at most.</summary>
    private void Sleep()
    {
        _wake.Announce();
        if (!_inbox.IsEmpty || _stop.IsCancellationRequested)
        {
            _wake.Withdraw();
            return;
        }

        var timeout = -1;
        if (Endpoint.PollTimeout() is { } deadline)
        {
            var ms = Math.Ceiling((deadline - _time.GetUtcNow()).TotalMilliseconds); // never wake before it is due
            timeout = (int)Math.Clamp(ms, 0, int.MaxValue);
        }

        var sockets = _sockets.All;
        Span<int> fds = stackalloc int[sockets.Count];
        var count = 0;
        for (var i = 0; i < sockets.Count; i++)
        {
            if (!sockets[i].NatT)
            {
                fds[count++] = sockets[i].Fd;
            }
        }

        _wake.Sleep(fds[..count], timeout);
    }

    private void Flush()
    {
        while (Endpoint.TryPollEvent(out var e))
        {
            // The lines of the event and of its handlers carry the IKE SA's name, ID and peer as data (the journal's fields).
            var scope = _logContext.Enter(e);
            using (scope is null ? null : _log.BeginScope(scope))
            {
                EngineEventLog.Write(_log, _peerLines, e);
                EventRaised?.Invoke(e);
            }

            _logContext.Leave(e);
        }

        while (Endpoint.TryPollTransmit(out var t))
        {
            var target = _sockets.For(t.Local, t.Remote.AddressFamily);
            if (target is null)
            {
                if (_peerLines.TryAcquire(_time.GetUtcNow(), out var held))
                {
                    _log.LogWarning("no socket to send to {Remote}{Suppressed}", t.Remote, EngineEventLog.SuppressedNote(held));
                }
            }
            else if (!_sockets.Queue(target, t))
            {
                _log.LogDebug("not sending {Length} bytes to {Remote}: larger than a UDP datagram", t.Datagram.Length, t.Remote);
            }
        }

        if (_sockets.Send() is var refused and > 0)
        {
            _log.LogDebug("the kernel refused {Count} IKE datagrams (no route, or a full socket buffer)", refused);
        }
    }

    /// <summary>Log lines held back by <see cref="_peerLines"/> (counted for <c>oakley stats</c>).</summary>
    public long LogLinesSuppressed => _peerLines.SuppressedTotal;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _wake.Signal();
        List<Thread> threads;
        lock (_threads)
        {
            threads = [.. _threads];
        }

        foreach (var thread in threads)
        {
            thread.Join(); // each wakes within its poll timeout; only then may the descriptors close
        }

        _engine?.Join();
        _sockets.Dispose();
        _wake.Dispose();
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failed engine loop that Completion already reported: disposing goes on.
        }

        _stop.Dispose();
    }
}
