using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Oakley.Esp;

namespace Oakley.Benchmarks;

/// <summary>
/// The TUN offload path's own work per packet: the Internet checksum of one MSS-sized segment, and cutting one
/// 64 KiB TCP super-packet (what the kernel hands a TUN reader with TSO on) into segments with their checksums.
/// Segmentation works in place, so each run first copies the super-packet into the read buffer, as the TUN read
/// does (that 64 KiB copy is part of the figure).
/// </summary>
[Config(typeof(BenchConfig))]
public class TcpOffloadBenchmarks
{
    private const int Mss = 1348;
    private readonly byte[] _segment = new byte[Mss + 52];
    private readonly byte[] _superPacket = new byte[65000];
    private readonly byte[] _readBuffer = new byte[65536];
    private readonly TcpOffload.SegmentSink _sink = _ => { };

    [GlobalSetup]
    public void Setup()
    {
        new Random(3).NextBytes(_segment);
        var p = _superPacket;
        new Random(4).NextBytes(p);
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[6] = 0x40; // DF, no fragment offset
        p[7] = 0;
        p[8] = 64;
        p[9] = 6; // TCP
        p[32] = 0x80; // data offset: 32 bytes of TCP header (timestamps)
        p[33] = 0x10; // ACK
    }

    [Benchmark]
    public ushort ChecksumOfOneSegment() => TcpOffload.Fold(_segment);

    [Benchmark]
    public int SegmentA64KiBSuperPacket()
    {
        _superPacket.CopyTo(_readBuffer, 0);
        var segments = TcpOffload.Segment(_readBuffer.AsSpan(0, _superPacket.Length), Mss, _sink);
        return segments > 0 ? segments : throw new InvalidOperationException("the super-packet was refused");
    }
}
