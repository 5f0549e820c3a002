using System.Buffers.Binary;
using System.Runtime.Intrinsics;

namespace Oakley.Esp;

/// <summary>
/// The virtio-net header a TUN device with IFF_VNET_HDR puts before each packet (and expects before each write):
/// how the kernel's segmentation and checksum offloads apply to it.
/// </summary>
public readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    public const int Size = 10;
    public const byte NeedsChecksum = 1;
    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoTcpV6 = 4;
    public const byte GsoEcn = 0x80;

    public static VirtioNetHeader Read(ReadOnlySpan<byte> b) => new(b[0], b[1],
        BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), BinaryPrimitives.ReadUInt16LittleEndian(b[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(b[6..]), BinaryPrimitives.ReadUInt16LittleEndian(b[8..]));

    public void Write(Span<byte> b)
    {
        b[0] = Flags;
        b[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], ChecksumOffset);
    }
}

/// <summary>
/// TCP segmentation and coalescing for a TUN device with offloads (the technique of wireguard-go): the kernel
/// hands the data plane 64 KiB TCP "super-packets" that we cut into MSS-sized segments before sealing, and
/// in-order segments of one flow that arrive in a burst are merged back into one super-packet for the kernel.
/// Both sides then run their TCP stacks once per 64 KiB instead of once per 1.4 KB, which is where most of the
/// CPU of a userspace tunnel goes. Pure functions over spans; no allocation.
/// </summary>
public static class TcpOffload
{
    private const int TcpProtocol = 6;

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="data"/> added to <paramref name="initial"/>, folded, not complemented.</summary>
    public static ushort Fold(ReadOnlySpan<byte> data, ulong initial = 0)
    {
        // RFC 1071 §2(B): the one's-complement sum is byte-order independent, so add native (little-endian) 32-bit
        // words into 64-bit accumulators and swap the folded result once at the end.
        var whole = data.Length & ~3;
        var sum = SumWords(data[..whole]);
        var tail = data[whole..];
        if (tail.Length >= 2)
        {
            sum += BinaryPrimitives.ReadUInt16LittleEndian(tail);
            tail = tail[2..];
        }

        if (tail.Length == 1)
        {
            sum += tail[0]; // the odd byte is the high byte of a big-endian word: the low byte of a little-endian one
        }

        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        var swapped = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness((ushort)sum) : (ushort)sum;
        var total = (ulong)swapped + initial;
        while (total > 0xFFFF)
        {
            total = (total & 0xFFFF) + (total >> 16);
        }

        return (ushort)total;
    }

    /// <summary>
    /// The plain sum of the native 32-bit words of <paramref name="data"/> (a multiple of 4 bytes long). With AVX2
    /// each word is widened into a 64-bit lane of a Vector256 (a lane takes one word per 32 bytes, so even 64 KiB of
    /// 0xFF bytes stays far below 2^64); elsewhere, and for the tail, one word at a time. Vector&lt;T&gt; measured
    /// slower here (53 against 33 ns for 1400 bytes; docs/benchmarks.md, issue 14).
    /// </summary>
    private static ulong SumWords(ReadOnlySpan<byte> data)
    {
        ref var start = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data);
        ulong sum = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && data.Length >= 64)
        {
            Vector256<ulong> low = default, high = default;
            for (; i + 32 <= data.Length; i += 32)
            {
                var (a, b) = Vector256.Widen(Vector256.LoadUnsafe(ref start, (nuint)i).AsUInt32());
                low += a;
                high += b;
            }

            sum = Vector256.Sum(low + high);
        }

        foreach (var word in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(data[i..]))
        {
            sum += word;
        }

        return sum;
    }

    /// <summary>The pseudo-header sum of a TCP/UDP segment of <paramref name="length"/> bytes (RFC 793 / RFC 8200 §8.1), unfolded.</summary>
    public static ulong PseudoHeader(ReadOnlySpan<byte> ip, bool ipv6, int protocol, int length)
    {
        ulong sum = (ulong)protocol + (ulong)length;
        var addresses = ipv6 ? ip.Slice(8, 32) : ip.Slice(12, 8);
        for (var i = 0; i < addresses.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(addresses[i..]);
        }

        return sum;
    }

    /// <summary>
    /// Completes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field already holds the
    /// pseudo-header sum, so summing from <paramref name="start"/> and complementing gives the final value.
    /// </summary>
    public static bool CompleteChecksum(Span<byte> packet, int start, int offset)
    {
        if (start + offset + 2 > packet.Length)
        {
            return false;
        }

        var sum = Fold(packet[start..]);
        BinaryPrimitives.WriteUInt16BigEndian(packet[(start + offset)..], (ushort)~sum);
        return true;
    }

    /// <summary>
    /// Cuts one TCP super-packet into segments of at most <paramref name="mss"/> payload bytes, each a complete IP
    /// packet with correct lengths, IDs, sequence numbers, flags and checksums, built in place: segment k's headers
    /// are written over the last header-length bytes of segment k-1's payload, which <paramref name="emit"/> has
    /// consumed by then, so no payload byte is copied. <paramref name="emit"/> receives each segment as a slice of
    /// <paramref name="packet"/>, valid during the call; afterwards the packet's bytes are spent. Returns the number
    /// of segments, or -1 if the packet is not a TCP packet this code understands (the caller drops it; the packet
    /// is then untouched).
    /// </summary>
    public static int Segment(Span<byte> packet, int mss, SegmentSink emit)
    {
        ArgumentNullException.ThrowIfNull(emit);
        if (!TryTcpHeaders(packet, out var ipv6, out var ipLength, out var headers) || mss <= 0)
        {
            return -1;
        }

        var payloadLength = packet.Length - headers;
        if (payloadLength <= mss)
        {
            FinishSegment(packet, ipv6, ipLength, 0, last: true, first: true);
            emit(packet);
            return 1;
        }

        // At most 60 + 60 bytes (IPv4 with options, TCP with options): the headers every segment starts from.
        Span<byte> template = stackalloc byte[headers];
        packet[..headers].CopyTo(template);
        var id = ipv6 ? 0 : BinaryPrimitives.ReadUInt16BigEndian(template[4..]);
        var count = 0;
        for (var offset = 0; offset < payloadLength; offset += mss)
        {
            var size = Math.Min(mss, payloadLength - offset);

            // Segment k's payload sits at headers + offset: its headers go right before it, at offset.
            var segment = packet.Slice(offset, headers + size);
            template.CopyTo(segment);
            if (!ipv6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)(id + count));
            }

            FinishSegment(segment, ipv6, ipLength, offset, last: offset + size == payloadLength, first: offset == 0);
            emit(segment);
            count++;
        }

        return count;
    }

    public delegate void SegmentSink(Span<byte> segment);

    private static void FinishSegment(Span<byte> segment, bool ipv6, int ipLength, int offset, bool last, bool first)
    {
        if (ipv6)
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)(segment.Length - 40));
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment[2..], (ushort)segment.Length);
            Ipv4HeaderChecksum(segment, ipLength);
        }

        var tcp = segment[ipLength..];
        var seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq + (uint)offset);
        if (!last)
        {
            tcp[13] &= unchecked((byte)~0x09); // FIN and PSH only on the last segment
        }

        if (!first)
        {
            tcp[13] &= unchecked((byte)~0x80); // CWR only on the first
        }

        tcp[16] = 0;
        tcp[17] = 0;
        var sum = Fold(tcp, PseudoHeader(segment, ipv6, TcpProtocol, tcp.Length));
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~sum);
    }

    private static void Ipv4HeaderChecksum(Span<byte> ip, int ipLength)
    {
        ip[10] = 0;
        ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~Fold(ip[..ipLength]));
    }

    /// <summary>Finds the IP and TCP headers of a plain (unfragmented, no IPv6 extension header) TCP packet.</summary>
    public static bool TryTcpHeaders(ReadOnlySpan<byte> packet, out bool ipv6, out int ipLength, out int headers)
    {
        ipv6 = false;
        ipLength = 0;
        headers = 0;
        if (packet.Length < 20)
        {
            return false;
        }

        var version = packet[0] >> 4;
        if (version == 4)
        {
            ipLength = (packet[0] & 0x0F) * 4;
            if (ipLength < 20 || packet[9] != TcpProtocol || (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0)
            {
                return false; // not TCP, or a fragment
            }
        }
        else if (version == 6)
        {
            ipv6 = true;
            ipLength = 40;
            if (packet.Length < 40 || packet[6] != TcpProtocol)
            {
                return false;
            }
        }
        else
        {
            return false;
        }

        if (packet.Length < ipLength + 20)
        {
            return false;
        }

        headers = ipLength + ((packet[ipLength + 12] >> 4) * 4);
        return headers >= ipLength + 20 && headers <= packet.Length;
    }
}

/// <summary>
/// Merges in-order TCP segments of one flow, as they come out of a receive burst, into one super-packet written
/// to the TUN device with a GSO header (the receive-side half of <see cref="TcpOffload"/>). Anything that does
/// not extend the pending packet flushes it first. One instance per receive thread.
/// </summary>
public sealed class TcpCoalescer(TcpCoalescer.Writer write)
{
    public const int MaxPacket = 65535;

    /// <summary>Hands a packet, preceded by its virtio-net header, to the device.</summary>
    public delegate void Writer(ReadOnlySpan<byte> headerAndPacket);

    private readonly byte[] _buffer = new byte[VirtioNetHeader.Size + MaxPacket];
    private int _length; // bytes of the pending IP packet (after the header); 0: none
    private int _headers;
    private int _ipLength;
    private bool _ipv6;
    private int _segmentSize;
    private int _segments;
    private uint _nextSeq;
    private bool _closed; // the last merged segment was short or had PSH: nothing may follow

    public int Merged { get; private set; }

    /// <summary>Adds one inner packet (a complete IP packet with valid checksums).</summary>
    public void Add(ReadOnlySpan<byte> packet)
    {
        if (!TcpOffload.TryTcpHeaders(packet, out var ipv6, out var ipLength, out var headers) || packet.Length - headers == 0)
        {
            Flush();
            WritePlain(packet);
            return;
        }

        if (_length > 0 && CanAppend(packet, ipv6, ipLength, headers))
        {
            var payload = packet[headers..];
            payload.CopyTo(_buffer.AsSpan(VirtioNetHeader.Size + _length));
            _length += payload.Length;
            _segments++;
            _nextSeq += (uint)payload.Length;
            var flags = packet[ipLength + 13];
            _buffer[VirtioNetHeader.Size + _ipLength + 13] |= (byte)(flags & 0x08); // carry PSH
            _closed = payload.Length < _segmentSize || (flags & 0x08) != 0;
            Merged++;
            return;
        }

        Flush();
        var flagsNew = packet[ipLength + 13];
        if ((flagsNew & ~0x18) != 0)
        {
            WritePlain(packet); // SYN, FIN, RST, URG, ECE, CWR: never merged
            return;
        }

        packet.CopyTo(_buffer.AsSpan(VirtioNetHeader.Size));
        _length = packet.Length;
        _headers = headers;
        _ipLength = ipLength;
        _ipv6 = ipv6;
        _segmentSize = packet.Length - headers;
        _segments = 1;
        _nextSeq = BinaryPrimitives.ReadUInt32BigEndian(packet[(ipLength + 4)..]) + (uint)_segmentSize;
        _closed = (flagsNew & 0x08) != 0;
    }

    private bool CanAppend(ReadOnlySpan<byte> packet, bool ipv6, int ipLength, int headers)
    {
        var pending = _buffer.AsSpan(VirtioNetHeader.Size, _length);
        var payloadLength = packet.Length - headers;
        if (_closed || ipv6 != _ipv6 || ipLength != _ipLength || headers != _headers || payloadLength > _segmentSize
            || _length + payloadLength > MaxPacket)
        {
            return false;
        }

        // Same addresses, ports and TCP header apart from the sequence number, flags and checksum.
        if (ipv6)
        {
            if (!packet.Slice(8, 32).SequenceEqual(pending.Slice(8, 32)) || !packet[..4].SequenceEqual(pending[..4]) || packet[7] != pending[7])
            {
                return false;
            }
        }
        else if (!packet.Slice(12, 8).SequenceEqual(pending.Slice(12, 8)) || packet[1] != pending[1] || packet[8] != pending[8] || packet[6] != pending[6])
        {
            return false;
        }

        var tcp = packet[ipLength..];
        var mine = pending[ipLength..];
        return tcp[..4].SequenceEqual(mine[..4])
            && BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]) == _nextSeq
            && tcp.Slice(8, 4).SequenceEqual(mine.Slice(8, 4)) // ack
            && (tcp[13] & ~0x08) == 0x10 && (mine[13] & ~0x08) == 0x10 // ACK (and PSH) only
            && tcp.Slice(14, 2).SequenceEqual(mine.Slice(14, 2)) // window
            && tcp[20..(headers - ipLength)].SequenceEqual(mine[20..(headers - ipLength)]); // options (timestamps)
    }

    /// <summary>Writes the pending packet, as a GSO super-packet when it holds more than one segment.</summary>
    public void Flush()
    {
        if (_length == 0)
        {
            return;
        }

        var packet = _buffer.AsSpan(VirtioNetHeader.Size, _length);
        if (_segments == 1)
        {
            default(VirtioNetHeader).Write(_buffer);
        }
        else
        {
            if (_ipv6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(packet[4..], (ushort)(_length - 40));
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)_length);
                packet[10] = 0;
                packet[11] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(packet[10..], (ushort)~TcpOffload.Fold(packet[.._ipLength]));
            }

            // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel completes it per segment.
            var tcpLength = _length - _ipLength;
            BinaryPrimitives.WriteUInt16BigEndian(packet[(_ipLength + 16)..], TcpOffload.Fold([], TcpOffload.PseudoHeader(packet, _ipv6, 6, tcpLength)));
            new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, _ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4,
                (ushort)_headers, (ushort)_segmentSize, (ushort)_ipLength, 16).Write(_buffer);
        }

        write(_buffer.AsSpan(0, VirtioNetHeader.Size + _length));
        _length = 0;
    }

    private void WritePlain(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacket)
        {
            return;
        }

        default(VirtioNetHeader).Write(_buffer);
        packet.CopyTo(_buffer.AsSpan(VirtioNetHeader.Size));
        write(_buffer.AsSpan(0, VirtioNetHeader.Size + packet.Length));
    }
}
