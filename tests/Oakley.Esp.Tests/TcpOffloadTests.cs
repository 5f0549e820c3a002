using System.Buffers.Binary;
using System.Net;

namespace Oakley.Esp.Tests;

/// <summary>TSO segmentation and GRO coalescing of the TUN offload path, checked against independent arithmetic.</summary>
public class TcpOffloadTests
{
    /// <summary>RFC 1071 done the textbook way: big-endian 16-bit words, end-around carry.</summary>
    private static ushort ReferenceSum(ReadOnlySpan<byte> data, ulong initial = 0)
    {
        var sum = initial;
        for (var i = 0; i < data.Length; i += 2)
        {
            sum += (ulong)((data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0));
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }

    [Fact]
    public void Fold_MatchesTheTextbookSum_ForAnyLengthAndSeed()
    {
        var random = new Random(7);
        for (var n = 0; n < 300; n++)
        {
            var data = new byte[random.Next(0, 1600)];
            random.NextBytes(data);
            var initial = (ulong)random.Next(0, 1 << 20);
            Assert.Equal(ReferenceSum(data, initial), TcpOffload.Fold(data, initial));
        }
    }

    [Fact]
    public void Fold_MatchesTheTextbookSum_OnUnalignedSlicesAndAtTheLargestPacket()
    {
        // The vector paths load 16 or 32 bytes at a time: slices that start off a word boundary and end in every
        // remainder, and a whole 64 KiB super-packet of 0xFF bytes (the largest lane sums there are).
        var random = new Random(11);
        var data = new byte[70000];
        random.NextBytes(data);
        foreach (var start in new[] { 0, 1, 2, 3, 5, 31 })
        {
            foreach (var length in new[] { 31, 32, 33, 63, 64, 65, 95, 127, 1399, 1400, 1401, 65535 })
            {
                var slice = data.AsSpan(start, length);
                Assert.Equal(ReferenceSum(slice, 0x1234), TcpOffload.Fold(slice, 0x1234));
            }
        }

        var ones = new byte[65534];
        ones.AsSpan().Fill(0xFF);
        Assert.Equal(ReferenceSum(ones), TcpOffload.Fold(ones));
        Assert.Equal(0xFFFF, TcpOffload.Fold(ones)); // 32,767 words of 0xFFFF: one's-complement negative zero
    }

    private static byte[] TcpPacket(bool ipv6, int payloadLength, byte flags, uint seq = 1000, int optionsLength = 12)
    {
        var ipLength = ipv6 ? 40 : 20;
        var tcpLength = 20 + optionsLength;
        var p = new byte[ipLength + tcpLength + payloadLength];
        if (ipv6)
        {
            p[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
            p[6] = 6;
            p[7] = 64;
            IPAddress.Parse("2001:db8:a::1").GetAddressBytes().CopyTo(p, 8);
            IPAddress.Parse("2001:db8:b::1").GetAddressBytes().CopyTo(p, 24);
        }
        else
        {
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0x1234);
            p[6] = 0x40; // DF
            p[8] = 64;
            p[9] = 6;
            IPAddress.Parse("198.51.100.1").GetAddressBytes().CopyTo(p, 12);
            IPAddress.Parse("203.0.113.1").GetAddressBytes().CopyTo(p, 16);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), (ushort)~ReferenceSum(p.AsSpan(0, 20)));
        }

        var tcp = p.AsSpan(ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 777);
        tcp[12] = (byte)((tcpLength / 4) << 4);
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 512);
        for (var i = 0; i < optionsLength; i++)
        {
            tcp[20 + i] = 1; // NOPs
        }

        for (var i = 0; i < payloadLength; i++)
        {
            p[ipLength + tcpLength + i] = (byte)(i * 7);
        }

        return p;
    }

    private static void AssertValidChecksums(byte[] segment, bool ipv6)
    {
        var ipLength = ipv6 ? 40 : 20;
        if (!ipv6)
        {
            Assert.Equal(0xFFFF, ReferenceSum(segment.AsSpan(0, 20)));
        }

        var tcp = segment.AsSpan(ipLength);
        var pseudo = ReferenceSum(segment.AsSpan(ipv6 ? 8 : 12, ipv6 ? 32 : 8), (ulong)(6 + tcp.Length));
        Assert.Equal(0xFFFF, ReferenceSum(tcp, pseudo));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Segment_CutsASuperPacketIntoValidSegments(bool ipv6)
    {
        const int mss = 1000;
        var super = TcpPacket(ipv6, 4500, 0x19); // ACK | PSH | FIN
        var headers = (ipv6 ? 40 : 20) + 32;
        var original = super.ToArray(); // segmentation works in place
        var segments = new List<byte[]>();
        var n = TcpOffload.Segment(super, mss, s => segments.Add(s.ToArray()));

        Assert.Equal(5, n);
        Assert.Equal(5, segments.Count);
        var payload = new List<byte>();
        for (var i = 0; i < segments.Count; i++)
        {
            var s = segments[i];
            AssertValidChecksums(s, ipv6);
            var tcp = s.AsSpan(ipv6 ? 40 : 20);
            Assert.Equal(1000u + (uint)(i * mss), BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]));
            var last = i == segments.Count - 1;
            Assert.Equal(last ? 0x19 : 0x10, tcp[13]);
            if (ipv6)
            {
                Assert.Equal(s.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(4)));
            }
            else
            {
                Assert.Equal(s.Length, BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(2)));
                Assert.Equal(0x1234 + i, BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(4)));
            }

            Assert.Equal(last ? 500 : mss, s.Length - headers);
            payload.AddRange(s.AsSpan(headers).ToArray());
        }

        Assert.Equal(original.AsSpan(headers).ToArray(), payload.ToArray());
    }

    [Fact]
    public void Segment_InPlace_KeepsEveryPayloadByte_ForAnyMssAndHeaderLength()
    {
        // In place, segment k's headers overwrite the tail of segment k-1's payload after it was emitted: with any
        // MSS (also below the header length) and any TCP options, the emitted segments must still carry the
        // original payload in order, behind headers that are the original ones with only the per-segment fields
        // changed, and valid checksums.
        var random = new Random(5);
        for (var n = 0; n < 200; n++)
        {
            var ipv6 = random.Next(2) == 1;
            var options = random.Next(0, 11) * 4;
            var super = TcpPacket(ipv6, random.Next(1, 9000), 0x18, (uint)random.Next(), options);
            var original = super.ToArray();
            var ipLength = ipv6 ? 40 : 20;
            var headers = ipLength + 20 + options;
            var mss = random.Next(1, 1500);
            var segments = new List<byte[]>();
            var count = TcpOffload.Segment(super, mss, s => segments.Add(s.ToArray()));

            Assert.Equal((original.Length - headers + mss - 1) / mss, count);
            var payload = new List<byte>();
            for (var i = 0; i < segments.Count; i++)
            {
                var s = segments[i];
                AssertValidChecksums(s, ipv6);
                Assert.Equal(original.AsSpan(ipLength + 20, options).ToArray(), s.AsSpan(ipLength + 20, options).ToArray());
                Assert.Equal(original.AsSpan(ipv6 ? 8 : 12, ipv6 ? 32 : 8).ToArray(), s.AsSpan(ipv6 ? 8 : 12, ipv6 ? 32 : 8).ToArray());
                var seq = BinaryPrimitives.ReadUInt32BigEndian(original.AsSpan(ipLength + 4)) + (uint)(i * mss);
                Assert.Equal(seq, BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(ipLength + 4)));
                payload.AddRange(s.AsSpan(headers).ToArray());
            }

            Assert.Equal(original.AsSpan(headers).ToArray(), payload.ToArray());
        }
    }

    [Fact]
    public void Segment_RefusesWhatIsNotTcp()
    {
        var udp = TcpPacket(false, 100, 0x10);
        udp[9] = 17;
        var original = udp.ToArray();
        Assert.Equal(-1, TcpOffload.Segment(udp, 1000, _ => Assert.Fail("no segment expected")));
        Assert.Equal(-1, TcpOffload.Segment(udp.AsSpan(0, 10), 1000, _ => Assert.Fail("no segment expected")));
        Assert.Equal(original, udp); // a refused packet is left as it was
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Coalescer_MergesInOrderSegments_AndTheKernelHeaderDescribesThem(bool ipv6)
    {
        var super = TcpPacket(ipv6, 4500, 0x18); // ACK | PSH
        var segments = new List<byte[]>();
        TcpOffload.Segment(super.ToArray(), 1000, s => segments.Add(s.ToArray())); // in place: on a copy
        var written = new List<byte[]>();
        var coalescer = new TcpCoalescer(f => written.Add(f.ToArray()));
        segments.ForEach(s => coalescer.Add(s));
        coalescer.Flush();

        var frame = Assert.Single(written);
        var header = VirtioNetHeader.Read(frame);
        Assert.Equal(ipv6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4, header.GsoType);
        Assert.Equal(VirtioNetHeader.NeedsChecksum, header.Flags);
        Assert.Equal(1000, header.GsoSize);
        var ipLength = ipv6 ? 40 : 20;
        Assert.Equal(ipLength, header.ChecksumStart);
        Assert.Equal(16, header.ChecksumOffset);
        var packet = frame.AsSpan(VirtioNetHeader.Size);
        Assert.Equal(super.Length, packet.Length);
        Assert.Equal(super.AsSpan(ipLength + 32).ToArray(), packet[(ipLength + 32)..].ToArray());
        Assert.Equal(0x18, packet[ipLength + 13]); // PSH came from the last segment
        // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum over the merged length.
        var pseudo = ReferenceSum(packet.Slice(ipv6 ? 8 : 12, ipv6 ? 32 : 8), (ulong)(6 + packet.Length - ipLength));
        Assert.Equal(pseudo, BinaryPrimitives.ReadUInt16BigEndian(packet[(ipLength + 16)..]));
        if (!ipv6)
        {
            Assert.Equal(0xFFFF, ReferenceSum(packet[..20]));
        }

        Assert.Equal(4, coalescer.Merged);
    }

    [Fact]
    public void Coalescer_FlushesOnGapsOtherFlowsAndControlSegments()
    {
        var written = new List<byte[]>();
        var coalescer = new TcpCoalescer(f => written.Add(f.ToArray()));
        coalescer.Add(TcpPacket(false, 1000, 0x10, seq: 1000));
        coalescer.Add(TcpPacket(false, 1000, 0x10, seq: 3000)); // a gap: not merged
        coalescer.Add(TcpPacket(false, 1000, 0x12, seq: 4000)); // SYN|ACK: never merged
        var other = TcpPacket(false, 1000, 0x10, seq: 5000);
        other[19] = 2; // another destination
        coalescer.Add(other);
        coalescer.Flush();

        Assert.Equal(4, written.Count);
        Assert.All(written, f => Assert.Equal(VirtioNetHeader.GsoNone, VirtioNetHeader.Read(f).GsoType));
        Assert.Equal(0, coalescer.Merged);
    }

    [Fact]
    public void Coalescer_PassesNonTcpThrough()
    {
        var written = new List<byte[]>();
        var coalescer = new TcpCoalescer(f => written.Add(f.ToArray()));
        var udp = TcpPacket(false, 100, 0x10);
        udp[9] = 17;
        coalescer.Add(udp);
        var frame = Assert.Single(written);
        Assert.Equal(udp, frame.AsSpan(VirtioNetHeader.Size).ToArray());
    }

    [Fact]
    public void CompleteChecksum_FinishesAKernelPartialChecksum()
    {
        var p = TcpPacket(false, 333, 0x18);
        var tcpLength = p.Length - 20;
        // What the kernel leaves with CHECKSUM_PARTIAL: the pseudo-header sum, not complemented.
        var partial = ReferenceSum(p.AsSpan(12, 8), (ulong)(6 + tcpLength));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(36), partial);
        Assert.True(TcpOffload.CompleteChecksum(p, 20, 16));
        AssertValidChecksums(p, ipv6: false);
        Assert.False(TcpOffload.CompleteChecksum(p, p.Length - 1, 16));
    }
}
