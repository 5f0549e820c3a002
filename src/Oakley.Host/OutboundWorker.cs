using System.Net;
using Oakley.Esp;

namespace Oakley.Host;

/// <summary>
/// Per-queue state of the outbound path: undoes the kernel's offloads (completes a partial checksum, cuts a
/// TCP super-packet into MSS-sized segments), seals each packet into the send batch, and sends the batch in
/// runs that share a socket.
/// </summary>
internal sealed class OutboundWorker : IDisposable
{
    private readonly EspDataPath _path;
    private const int MaxTrain = 64; // UDP_MAX_SEGMENTS of older kernels
    private readonly DatagramBatch _batch = new(EspDataPath.Burst, 65536);
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
                    _path.Plane.Counters.MalformedDrop();
                    return;
                }

                Emit(packet);
                break;
            case VirtioNetHeader.GsoTcpV4:
            case VirtioNetHeader.GsoTcpV6:
                if (TcpOffload.Segment(packet, header.GsoSize, _emit) < 0)
                {
                    _path.Plane.Counters.MalformedDrop();
                }

                break;
            default:
                _path.Plane.Counters.MalformedDrop(); // a GSO type we did not enable
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
            var result = _path.Plane.Outbound(packet, slot[offset..], out var written, out var policy);
            if (result == OutboundResult.Acquire)
            {
                _path.Acquire(policy!, packet);
                return;
            }

            if (result != OutboundResult.Send || _path.Sockets.Route(policy!) is not { } route)
            {
                return;
            }

            var peer = policy!.Peer!.Address;
            if (_trainLength > 0 && _trainUdp && policy.UdpEncapsulation && _path.Sockets.UdpGso && !_trainFull && route == _trainRoute
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
            _path.Plane.Counters.SaGoneDrop(); // the SA was removed under the packet
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
