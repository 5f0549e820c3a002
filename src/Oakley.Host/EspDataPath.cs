using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Engine;
using Oakley.Esp;

namespace Oakley.Host;

/// <summary>
/// The host side of the ESP data plane: a multi-queue TUN device with one outbound worker per queue (read a
/// burst of packets, seal each, send the burst with one sendmmsg), ESP in UDP received on the IKE host's NAT-T
/// threads and raw ESP (IP protocol 50) on the sockets of <see cref="EspSockets"/>; packets that match a trap go
/// to the <see cref="AcquireQueue"/>. Packets live in per-thread buffers allocated once; nothing on the packet
/// path takes a lock or allocates. The routes into the device are <see cref="TunRoutes"/>'s.
/// </summary>
public sealed class EspDataPath : IDisposable
{
    /// <summary>Packets held per trap while its CHILD SA is negotiated (beyond that they are dropped and counted).</summary>
    public const int AcquireQueueLimit = AcquireQueue.Limit;

    /// <summary>Packets read from a TUN queue, or datagrams from a raw socket, per wake-up.</summary>
    internal const int Burst = 32;

    /// <summary>Receive and send buffer of the ESP sockets.</summary>
    public const int SocketBuffer = 8 << 20;

    private readonly IkeHost _host;
    private readonly TunDevice _tun;
    private readonly ILogger _log;
    private readonly List<Thread> _threads = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly AcquireQueue _acquires;
    private readonly DatagramBatch _engineBatch;

    public EspDataPath(EspDataPlane plane, IkeHost host, TunDevice tun, ILogger log, TimeProvider? time = null)
    {
        Plane = plane;
        _host = host;
        _tun = tun;
        _log = log;
        _acquires = new AcquireQueue(time ?? TimeProvider.System);
        Sockets = new EspSockets(host, log);
        _engineBatch = new DatagramBatch(1, 65536 + 256);
    }

    internal EspDataPlane Plane { get; }

    internal EspSockets Sockets { get; }

    /// <summary>Packets dropped because a trap's queue was full.</summary>
    public long AcquireDrops => _acquires.Drops;

    /// <summary>Sealed packets with no socket to leave from (raw ESP unavailable, or no NAT-T socket of that family).</summary>
    public long NoSocketDrops => Sockets.NoSocketDrops;

    public bool RawEsp => Sockets.RawEsp;

    public void Start()
    {
        _host.EspReceived = Inbound;
        _host.EspBurstEnd = InboundBurstEnd;
        RefreshSockets();

        for (var q = 0; q < _tun.Queues.Count; q++)
        {
            var queue = _tun.Queues[q];
            StartThread($"oakley-tun{q}", () => OutboundLoop(queue));
        }

        if (Sockets.Raw4 >= 0)
        {
            StartThread("oakley-esp4", () => RawReceiveLoop(Sockets.Raw4, ipv4Header: true));
        }

        if (Sockets.Raw6 >= 0)
        {
            StartThread("oakley-esp6", () => RawReceiveLoop(Sockets.Raw6, ipv4Header: false));
        }
    }

    private void StartThread(string name, ThreadStart body)
    {
        var t = new Thread(body) { IsBackground = true, Name = name };
        _threads.Add(t);
        t.Start();
    }

    [ThreadStatic]
    private static byte[]? InboundBuffer;

    [ThreadStatic]
    private static TcpCoalescer? Coalescer;

    /// <summary>
    /// Opens one ESP packet (SPI first) and passes the inner packet to this receive thread's coalescer, which
    /// merges a burst's in-order TCP segments into one super-packet for the kernel (<see cref="InboundBurstEnd"/>
    /// writes what is pending).
    /// </summary>
    private void Inbound(ReadOnlySpan<byte> esp)
    {
        var buffer = InboundBuffer ??= new byte[65536];
        try
        {
            var length = Plane.Inbound(esp, buffer);
            if (length > 0)
            {
                (Coalescer ??= NewCoalescer()).Add(buffer.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or System.Security.Cryptography.CryptographicException)
        {
            // The SA was removed while its packet was in flight: drop it.
            Plane.Counters.SaGoneDrop();
        }
    }

    private TcpCoalescer NewCoalescer()
    {
        var queue = _tun.Queues[0];
        return new TcpCoalescer(frame => TunDevice.Write(queue, frame));
    }

    /// <summary>The end of a receive burst: hand the pending super-packet to the kernel.</summary>
    private static void InboundBurstEnd() => Coalescer?.Flush();

    private void RawReceiveLoop(int fd, bool ipv4Header)
    {
        using var batch = new DatagramBatch(Burst, 65536);
        while (!_stop.IsCancellationRequested)
        {
            if (!LinuxIo.WaitReadable(fd, 250))
            {
                continue;
            }

            var n = batch.Receive(fd);
            for (var i = 0; i < n; i++)
            {
                var data = batch.Data(i);
                if (ipv4Header)
                {
                    // IPv4 raw sockets deliver the IP header (the kernel has reassembled fragments).
                    var header = data.Length > 0 ? (data[0] & 0x0F) * 4 : 0;
                    if (header < 20 || data.Length < header)
                    {
                        continue;
                    }

                    data = data[header..];
                }

                Inbound(data);
            }

            InboundBurstEnd();
        }
    }

    /// <summary>One TUN queue: read a burst, seal each packet, send runs that share a socket with one sendmmsg.</summary>
    private void OutboundLoop(int queue)
    {
        using var worker = new OutboundWorker(this);
        var packet = new byte[VirtioNetHeader.Size + 65536];
        while (!_stop.IsCancellationRequested)
        {
            if (!LinuxIo.WaitReadable(queue, 250))
            {
                continue;
            }

            for (var reads = 0; reads < Burst; reads++)
            {
                var n = TunDevice.Read(queue, packet);
                if (n <= 0)
                {
                    if (n < 0)
                    {
                        return; // the device is gone
                    }

                    break;
                }

                worker.FromTun(packet.AsSpan(0, n));
            }

            worker.Flush();
        }
    }

    /// <summary>A trap matched: hold the packet (bounded) and ask the engine for the CHILD SA once per retry period.</summary>
    internal void Acquire(Policy trap, ReadOnlySpan<byte> packet)
    {
        if (_acquires.Hold(trap, packet) && trap.Connection is { } connection)
        {
            _log.LogInformation("acquire for {Child} of {Connection}: initiating", trap.Name, connection);
            _host.Post((e, t) => e.Initiate(t, connection, trap.Name));
        }
    }

    /// <summary>An address that was waited for got its NAT-T sockets (engine thread): ESP in UDP may leave from them.</summary>
    public void RefreshSockets() => Sockets.Refresh();

    /// <summary>Engine thread: a CHILD SA is installed; send what its traps held.</summary>
    public void Installed(ChildSaInstall c)
    {
        ArgumentNullException.ThrowIfNull(c);
        foreach (var packet in _acquires.Release(c.IkeName, c.ChildName))
        {
            if (Plane.Outbound(packet, _engineBatch.Slot(0), out var written, out var policy) == OutboundResult.Send && Sockets.Route(policy!) is { } route)
            {
                _engineBatch.Prepare(0, written, policy!.Peer!.Address, route.Port, route.Ipv6);
                _engineBatch.Send(route.Fd, 0, 1);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _host.EspReceived = null;
        _host.EspBurstEnd = null;
        foreach (var t in _threads)
        {
            t.Join();
        }

        Sockets.Dispose();
        _engineBatch.Dispose();
        _stop.Dispose();
    }
}
