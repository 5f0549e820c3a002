using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Engine;
using Oakley.Esp;

namespace Oakley.Host;

/// <summary>
/// The host side of the ESP data plane: a multi-queue TUN device with one outbound worker per queue (read a
/// burst of packets, seal each, send the burst with one sendmmsg), ESP in UDP received on the IKE host's NAT-T
/// threads, raw ESP (IP protocol 50) on its own sockets, routes for the CHILD SAs' remote selectors, and the
/// acquire queue of trap policies. Packets live in per-thread buffers allocated once; nothing on the packet path
/// takes a lock or allocates.
/// </summary>
public sealed class EspDataPath : IDisposable
{
    /// <summary>Packets held per trap while its CHILD SA is negotiated (beyond that they are dropped and counted).</summary>
    public const int AcquireQueueLimit = 32;
    private static readonly TimeSpan AcquireRetry = TimeSpan.FromSeconds(30);
    private const int Burst = 32;

    /// <summary>Receive and send buffer of the ESP sockets.</summary>
    public const int SocketBuffer = 8 << 20;

    private readonly EspDataPlane _plane;
    private readonly IkeHost _host;
    private readonly TunDevice _tun;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly int _raw4 = -1;
    private readonly int _raw6 = -1;
    private readonly List<Thread> _threads = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<Policy, (DateTimeOffset Since, Queue<byte[]> Packets)> _acquires = [];
    private readonly TunRoutes _routes;
    private readonly DatagramBatch _engineBatch;
    private long _acquireDrops;
    private long _noSocket;
    private bool _warnedNoRaw;
    private bool _udpGso;
    private NattSockets _natt = new(null, null);

    /// <summary>The NAT-T sockets ESP in UDP leaves from, swapped as one reference (a late-bound address adds one).</summary>
    private sealed record NattSockets((int Fd, bool Ipv6)? V4, (int Fd, bool Ipv6)? V6);

    public EspDataPath(EspDataPlane plane, IkeHost host, TunDevice tun, ILogger log, TimeProvider? time = null)
    {
        _plane = plane;
        _host = host;
        _tun = tun;
        _routes = new TunRoutes(tun, log);
        _log = log;
        _time = time ?? TimeProvider.System;
        _raw4 = OpenRaw(AddressFamily.InterNetwork);
        _raw6 = OpenRaw(AddressFamily.InterNetworkV6);
        _engineBatch = new DatagramBatch(1, 65536 + 256);
    }

    /// <summary>Packets dropped because a trap's queue was full.</summary>
    public long AcquireDrops => Volatile.Read(ref _acquireDrops);

    /// <summary>Sealed packets with no socket to leave from (raw ESP unavailable, or no NAT-T socket of that family).</summary>
    public long NoSocketDrops => Volatile.Read(ref _noSocket);

    public bool RawEsp => _raw4 >= 0 || _raw6 >= 0;

    /// <summary>A raw IP socket for protocol 50 (.NET's Socket refuses protocol numbers it has no name for).</summary>
    private int OpenRaw(AddressFamily family)
    {
        const int sockRaw = 3, ipProtoEsp = 50;
        var fd = LinuxIo.Socket(family == AddressFamily.InterNetworkV6 ? LinuxIo.AfInet6 : LinuxIo.AfInet, sockRaw, ipProtoEsp);
        if (fd >= 0)
        {
            LinuxIo.SetBuffers(fd, SocketBuffer);
            LinuxIo.SetBypassMark(fd);
        }
        else
        {
            _log.LogWarning("no raw ESP socket for {Family} (errno {Errno}; CAP_NET_RAW?): only ESP in UDP can be carried", family, LinuxIo.Errno);
        }

        return fd;
    }

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

        if (_raw4 >= 0)
        {
            StartThread("oakley-esp4", () => RawReceiveLoop(_raw4, ipv4Header: true));
        }

        if (_raw6 >= 0)
        {
            StartThread("oakley-esp6", () => RawReceiveLoop(_raw6, ipv4Header: false));
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
            var length = _plane.Inbound(esp, buffer);
            if (length > 0)
            {
                (Coalescer ??= NewCoalescer()).Add(buffer.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or System.Security.Cryptography.CryptographicException)
        {
            // The SA was removed while its packet was in flight: drop it.
            _plane.Counters.SaGoneDrop();
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

    /// <summary>
    /// Per-queue state of the outbound path: undoes the kernel's offloads (completes a partial checksum, cuts a
    /// TCP super-packet into MSS-sized segments), seals each packet into the send batch, and sends the batch in
    /// runs that share a socket.
    /// </summary>
    private sealed class OutboundWorker : IDisposable
    {
        private readonly EspDataPath _path;
        private const int MaxTrain = 64; // UDP_MAX_SEGMENTS of older kernels
        private readonly DatagramBatch _batch = new(Burst, 65536);
        private readonly byte[] _scratch = new byte[65536];
        private readonly TcpOffload.SegmentSink _emit;
        private int _count;
        private int _runStart;
        private int _runFd = -1;

        public OutboundWorker(EspDataPath path)
        {
            _path = path;
            _emit = Emit;
        }

        public void FromTun(Span<byte> frame)
        {
            if (frame.Length <= VirtioNetHeader.Size)
            {
                return;
            }

            var header = VirtioNetHeader.Read(frame);
            var packet = frame[VirtioNetHeader.Size..];
            switch (header.GsoType & ~VirtioNetHeader.GsoEcn)
            {
                case VirtioNetHeader.GsoNone:
                    if ((header.Flags & VirtioNetHeader.NeedsChecksum) != 0 && !TcpOffload.CompleteChecksum(packet, header.ChecksumStart, header.ChecksumOffset))
                    {
                        _path._plane.Counters.MalformedDrop();
                        return;
                    }

                    Emit(packet);
                    break;
                case VirtioNetHeader.GsoTcpV4:
                case VirtioNetHeader.GsoTcpV6:
                    if (TcpOffload.Segment(packet, header.GsoSize, _scratch, _emit) < 0)
                    {
                        _path._plane.Counters.MalformedDrop();
                    }

                    break;
                default:
                    _path._plane.Counters.MalformedDrop(); // a GSO type we did not enable
                    break;
            }
        }

        // The open train: sealed datagrams of one size to one destination, back to back in slot _count, sent
        // with one UDP GSO send (ESP in UDP only; raw ESP trains hold one packet).
        private int _trainLength;
        private int _trainSegment;
        private int _trainSegments;
        private bool _trainFull;
        private (int Fd, int Port, bool Ipv6) _trainRoute;
        private IPAddress? _trainPeer;
        private bool _trainUdp;

        private void Emit(Span<byte> packet)
        {
            if (_trainLength + packet.Length + 256 > _batch.SlotSize || _trainSegments >= MaxTrain)
            {
                CloseTrain();
            }

            if (_count == _batch.Capacity)
            {
                Flush();
            }

            try
            {
                var slot = _batch.Slot(_count);
                var offset = _trainLength;
                var result = _path._plane.Outbound(packet, slot[offset..], out var written, out var policy);
                if (result == OutboundResult.Acquire)
                {
                    _path.Acquire(policy!, packet);
                    return;
                }

                if (result != OutboundResult.Send || _path.Route(policy!) is not { } route)
                {
                    return;
                }

                var peer = policy!.Peer!.Address;
                if (_trainLength > 0 && _trainUdp && policy.UdpEncapsulation && _path._udpGso && !_trainFull && route == _trainRoute
                    && written <= _trainSegment && peer.Equals(_trainPeer))
                {
                    _trainLength += written;
                    _trainSegments++;
                    _trainFull = written < _trainSegment; // a shorter datagram can only end a train
                    return;
                }

                if (_trainLength > 0)
                {
                    // Start a new train with this datagram, which was sealed behind the old one.
                    CloseTrain();
                    if (_count == _batch.Capacity)
                    {
                        Flush();
                    }

                    slot.Slice(offset, written).CopyTo(_batch.Slot(_count));
                }

                _trainLength = written;
                _trainSegment = written;
                _trainSegments = 1;
                _trainFull = false;
                _trainRoute = route;
                _trainPeer = peer;
                _trainUdp = policy.UdpEncapsulation;
            }
            catch (Exception e) when (e is ObjectDisposedException or System.Security.Cryptography.CryptographicException)
            {
                _path._plane.Counters.SaGoneDrop(); // the SA was removed under the packet
            }
        }

        /// <summary>Turns the open train into a prepared message; consecutive messages on one socket form a sendmmsg run.</summary>
        private void CloseTrain()
        {
            if (_trainLength == 0)
            {
                return;
            }

            if (_trainRoute.Fd != _runFd && _count > _runStart)
            {
                _batch.Send(_runFd, _runStart, _count - _runStart);
                _runStart = _count;
            }

            _runFd = _trainRoute.Fd;
            _batch.Prepare(_count, _trainLength, _trainPeer!, _trainRoute.Port, _trainRoute.Ipv6, _trainSegments > 1 ? _trainSegment : 0);
            _count++;
            _trainLength = 0;
        }

        public void Flush()
        {
            CloseTrain();
            if (_count > _runStart)
            {
                _batch.Send(_runFd, _runStart, _count - _runStart);
            }

            _count = 0;
            _runStart = 0;
            _runFd = -1;
        }

        public void Dispose() => _batch.Dispose();
    }

    /// <summary>Where a policy's ESP leaves: the NAT-T socket (ESP in UDP) or the raw socket of the peer's family.</summary>
    private (int Fd, int Port, bool Ipv6)? Route(Policy policy)
    {
        var peer = policy.Peer;
        if (peer is null)
        {
            return null;
        }

        if (policy.UdpEncapsulation)
        {
            var sockets = Volatile.Read(ref _natt);
            if ((peer.AddressFamily == AddressFamily.InterNetworkV6 ? sockets.V6 : sockets.V4) is { } natt)
            {
                return (natt.Fd, peer.Port, natt.Ipv6);
            }
        }
        else if ((peer.AddressFamily == AddressFamily.InterNetworkV6 ? _raw6 : _raw4) is var raw and >= 0)
        {
            return (raw, 0, peer.AddressFamily == AddressFamily.InterNetworkV6);
        }
        else if (!_warnedNoRaw)
        {
            _warnedNoRaw = true;
            _log.LogWarning("CHILD_SA {Child} uses raw ESP but no raw socket could be opened (CAP_NET_RAW?): its packets are dropped; set encap = yes", policy.Name);
        }

        Interlocked.Increment(ref _noSocket);
        return null;
    }

    /// <summary>A trap matched: hold the packet (bounded) and ask the engine for the CHILD SA once per retry period.</summary>
    private void Acquire(Policy trap, ReadOnlySpan<byte> packet)
    {
        var now = _time.GetUtcNow();
        bool initiate;
        lock (_acquires)
        {
            if (!_acquires.TryGetValue(trap, out var pending) || now - pending.Since > AcquireRetry)
            {
                pending = (now, pending.Packets ?? new Queue<byte[]>());
                _acquires[trap] = pending;
                initiate = true;
            }
            else
            {
                initiate = false;
            }

            if (pending.Packets.Count < AcquireQueueLimit)
            {
                pending.Packets.Enqueue(packet.ToArray());
            }
            else
            {
                Interlocked.Increment(ref _acquireDrops);
            }
        }

        if (initiate && trap.Connection is { } connection)
        {
            _log.LogInformation("acquire for {Child} of {Connection}: initiating", trap.Name, connection);
            _host.Post((e, t) => e.Initiate(t, connection, trap.Name));
        }
    }

    /// <summary>
    /// Looks up the host's NAT-T sockets (at start, and on the engine thread when an address that was waited for
    /// got its sockets): the send path only reads the published reference.
    /// </summary>
    public void RefreshSockets()
    {
        var sockets = new NattSockets(_host.NattSocket(AddressFamily.InterNetwork), _host.NattSocket(AddressFamily.InterNetworkV6));
        foreach (var natt in new[] { sockets.V4, sockets.V6 })
        {
            if (natt is { } n && !(n == _natt.V4 || n == _natt.V6))
            {
                LinuxIo.SetBuffers(n.Fd, SocketBuffer);
                _udpGso |= LinuxIo.SupportsUdpGso(n.Fd); // a property of the kernel, not of the socket
            }
        }

        Volatile.Write(ref _natt, sockets);
    }

    /// <summary>Engine thread: a CHILD SA is installed; send what its traps held, and route its remote selectors.</summary>
    public void Installed(ChildSaInstall c)
    {
        ArgumentNullException.ThrowIfNull(c);
        _routes.Add(c.InboundSpi, c.LocalTs, c.RemoteTs);
        List<byte[]> held = [];
        lock (_acquires)
        {
            foreach (var trap in _acquires.Keys.Where(t => t.Connection == c.IkeName && t.Name == c.ChildName).ToList())
            {
                held.AddRange(_acquires[trap].Packets);
                _acquires.Remove(trap);
            }
        }

        foreach (var packet in held)
        {
            if (_plane.Outbound(packet, _engineBatch.Slot(0), out var written, out var policy) == OutboundResult.Send && Route(policy!) is { } route)
            {
                _engineBatch.Prepare(0, written, policy!.Peer!.Address, route.Port, route.Ipv6);
                _engineBatch.Send(route.Fd, 0, 1);
            }
        }
    }

    /// <summary>Engine thread: a CHILD SA is gone; drop its routes (unless another SA or a trap still uses them).</summary>
    public void Removed(uint inboundSpi)
    {
        _routes.Remove(inboundSpi);
    }

    /// <summary>Routes for a trap's remote selectors (held for the daemon's life, or until the traps are replaced).</summary>
    public void AddTrapRoutes(uint key, IEnumerable<TrafficSelectorRange> localTs, IEnumerable<TrafficSelectorRange> remoteTs) =>
        _routes.Add(key, localTs, remoteTs);

    public void Dispose()
    {
        _stop.Cancel();
        _host.EspReceived = null;
        _host.EspBurstEnd = null;
        foreach (var t in _threads)
        {
            t.Join();
        }

        _routes.RemoveAll();

        if (_raw4 >= 0)
        {
            LinuxIo.Close(_raw4);
        }

        if (_raw6 >= 0)
        {
            LinuxIo.Close(_raw6);
        }
        _engineBatch.Dispose();
        _stop.Dispose();
    }
}
