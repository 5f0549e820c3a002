using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Iana;

namespace Oakley.Esp.Tests;

/// <summary>Two sans-IO data planes back to back: tunnel-mode packets cross, and every kind of bad packet is counted.</summary>
public class DataPlaneTests
{
    private static UInt128 A(string ip) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse(ip).GetAddressBytes());

    private static Selector Net(string first, string last) => new(false, A(first), A(last), 0, 0, 65535);

    private static byte[] Ping(string src, string dst, int payload = 56)
    {
        var p = new byte[28 + payload];
        p[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[8] = 64;
        p[9] = 1;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 16);
        p[20] = 8; // echo request
        return p;
    }

    private sealed class Side : IDisposable
    {
        public required EspDataPlane Plane { get; init; }

        public required Policy Policy { get; init; }

        public required EspSa Inbound { get; init; }

        public void Dispose()
        {
            Policy.Outbound?.Dispose();
            Inbound.Dispose();
        }
    }

    private static (Side Moon, Side Sun) Build()
    {
        var encryption = TransformRegistry.GetEncryption(EncrId.AesGcm16, 256)!;
        var k1 = Enumerable.Range(0, 36).Select(i => (byte)i).ToArray();
        var k2 = Enumerable.Range(100, 36).Select(i => (byte)i).ToArray();
        EspSa New(uint spi, byte[] key) => new(spi, encryption, key, null, default, false, 128, new Seeded((int)spi));
        // moon -> sun uses SPI 0x1111 with k1; sun -> moon uses SPI 0x2222 with k2.
        var moonOut = New(0x1111, k1);
        var sunIn = New(0x1111, k1);
        var sunOut = New(0x2222, k2);
        var moonIn = New(0x2222, k2);
        var moonPolicy = new Policy(Net("198.51.100.0", "198.51.100.255"), Net("203.0.113.0", "203.0.113.255"), moonOut, "net");
        var sunPolicy = new Policy(Net("203.0.113.0", "203.0.113.255"), Net("198.51.100.0", "198.51.100.255"), sunOut, "net");
        var moonDb = SecurityDatabases.Of([moonPolicy], [new InboundSa(moonIn, [moonPolicy])]);
        var sunDb = SecurityDatabases.Of([sunPolicy], [new InboundSa(sunIn, [sunPolicy])]);
        return (new Side { Plane = new EspDataPlane(moonDb), Policy = moonPolicy, Inbound = moonIn },
                new Side { Plane = new EspDataPlane(sunDb), Policy = sunPolicy, Inbound = sunIn });
    }

    [Fact]
    public void PingsCrossBothWays()
    {
        var (moon, sun) = Build();
        using var moonSide = moon;
        using var sunSide = sun;
        var esp = new byte[2048];
        var ip = new byte[2048];
        for (var i = 0; i < 100; i++)
        {
            var request = Ping("198.51.100.1", "203.0.113.1", i);
            Assert.Equal(OutboundResult.Send, moon.Plane.Outbound(request, esp, out var n, out var policy));
            Assert.Same(moon.Policy, policy);
            var length = sun.Plane.Inbound(esp.AsSpan(0, n), ip);
            Assert.Equal(request, ip.AsSpan(0, length).ToArray());

            var reply = Ping("203.0.113.1", "198.51.100.1", i);
            Assert.Equal(OutboundResult.Send, sun.Plane.Outbound(reply, esp, out n, out _));
            length = moon.Plane.Inbound(esp.AsSpan(0, n), ip);
            Assert.Equal(reply, ip.AsSpan(0, length).ToArray());
        }

        Assert.Equal(100, moon.Inbound.Packets);
        Assert.Equal(0, moon.Plane.Counters.BadIcv + moon.Plane.Counters.Replay + sun.Plane.Counters.NoPolicy);
    }

    /// <summary>A UDP datagram with a valid checksum (so the test can tell a recomputed one from a wrong one).</summary>
    private static byte[] Udp(string src, string dst, int payload)
    {
        var p = new byte[28 + payload];
        p[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[8] = 64;
        p[9] = 17;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 16);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), (ushort)~TcpOffload.Fold(p.AsSpan(0, 20)));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), 4000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), 53);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), (ushort)(8 + payload));
        for (var i = 0; i < payload; i++)
        {
            p[28 + i] = (byte)i;
        }

        var sum = (ushort)~TcpOffload.Fold(p.AsSpan(20), TcpOffload.PseudoHeader(p, false, 17, 8 + payload));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(26), sum);
        return p;
    }

    [Fact]
    public void TransportMode_CarriesOnlyThePayload_AndTheReceiverRebuildsTheHeader()
    {
        var encryption = TransformRegistry.GetEncryption(EncrId.AesGcm16, 128)!;
        var key = Enumerable.Range(0, 20).Select(i => (byte)i).ToArray();
        using var tx = new EspSa(0x3333, encryption, key, null, default, false, 128, new Seeded(1));
        using var rx = new EspSa(0x3333, encryption, key, null, default, false, 128, new Seeded(2));
        var moonHost = Net("192.0.2.1", "192.0.2.1");
        var sunHost = Net("192.0.2.2", "192.0.2.2");
        var moonPolicy = new Policy(moonHost, sunHost, tx, "host") { TransportMode = true, Peer = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500), LocalAddress = IPAddress.Parse("192.0.2.1") };
        var sunPolicy = new Policy(sunHost, moonHost, null, "host") { TransportMode = true, Peer = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500), LocalAddress = IPAddress.Parse("192.0.2.2") };
        var moonDb = SecurityDatabases.Of([moonPolicy], []);
        var sunDb = SecurityDatabases.Of([], [new InboundSa(rx, [sunPolicy])]);
        var moon = new EspDataPlane(moonDb);
        var sun = new EspDataPlane(sunDb);

        var datagram = Udp("192.0.2.1", "192.0.2.2", 100);
        var esp = new byte[512];
        Assert.Equal(OutboundResult.Send, moon.Outbound(datagram, esp, out var n, out _));
        // SPI, sequence, IV, then 108 bytes of UDP + 2 of trailer (+ padding to 4) + 16 of ICV: no IP header inside.
        Assert.Equal(8 + 8 + 108 + 2 + 2 + 16, n);

        var ip = new byte[512];
        var length = sun.Inbound(esp.AsSpan(0, n), ip);
        Assert.Equal(datagram.Length, length);
        var rebuilt = ip.AsSpan(0, length);
        Assert.Equal(datagram.AsSpan(20).ToArray(), rebuilt[20..].ToArray()); // the UDP datagram, checksum included
        Assert.Equal(datagram.AsSpan(12, 8).ToArray(), rebuilt.Slice(12, 8).ToArray()); // addresses from the SA
        Assert.Equal(17, rebuilt[9]);
        Assert.Equal(0xFFFF, TcpOffload.Fold(rebuilt[..20]));
    }

    [Fact]
    public void EveryBadPacket_IsDroppedAndCounted()
    {
        var (moon, sun) = Build();
        using var moonSide = moon;
        using var sunSide = sun;
        var esp = new byte[2048];
        var ip = new byte[2048];

        Assert.Equal(OutboundResult.Dropped, moon.Plane.Outbound(Ping("198.51.100.1", "192.0.2.1"), esp, out _, out _));
        Assert.Equal(1, moon.Plane.Counters.NoPolicy);
        Assert.Equal(OutboundResult.Dropped, moon.Plane.Outbound([0x45, 0], esp, out _, out _));
        Assert.Equal(1, moon.Plane.Counters.Malformed);

        moon.Plane.Outbound(Ping("198.51.100.1", "203.0.113.1"), esp, out var n, out _);
        var packet = esp.AsSpan(0, n).ToArray();
        Assert.True(sun.Plane.Inbound(packet, ip) > 0);
        Assert.Equal(-1, sun.Plane.Inbound(packet, ip));
        Assert.Equal(1, sun.Plane.Counters.Replay);

        moon.Plane.Outbound(Ping("198.51.100.1", "203.0.113.1"), esp, out n, out _);
        packet = esp.AsSpan(0, n).ToArray();
        packet[^1] ^= 1;
        Assert.Equal(-1, sun.Plane.Inbound(packet, ip));
        Assert.Equal(1, sun.Plane.Counters.BadIcv);

        packet[0] = 0x7F; // unknown SPI
        Assert.Equal(-1, sun.Plane.Inbound(packet, ip));
        Assert.Equal(1, sun.Plane.Counters.UnknownSpi);
        Assert.Equal(-1, sun.Plane.Inbound(packet.AsSpan(0, 5), ip));
        Assert.Equal(1, sun.Plane.Counters.Malformed);

        // An authentic packet whose inner addresses are outside the SA's selectors (RFC 4301 §5.2).
        moon.Policy.Outbound!.Seal(Ping("192.0.2.66", "203.0.113.1"), 4, esp, out n);
        Assert.Equal(-1, sun.Plane.Inbound(esp.AsSpan(0, n), ip));
        Assert.Equal(1, sun.Plane.Counters.PolicyMismatch);
    }

    [Fact]
    public void TrapPolicies_Acquire()
    {
        var db = SecurityDatabases.Of([new Policy(Net("198.51.100.0", "198.51.100.255"), Net("203.0.113.0", "203.0.113.255"), null, "trap")], []);
        var plane = new EspDataPlane(db);
        Assert.Equal(OutboundResult.Acquire, plane.Outbound(Ping("198.51.100.1", "203.0.113.1"), new byte[256], out _, out var policy));
        Assert.Equal("trap", policy!.Name);
        Assert.Equal(1, plane.Counters.Acquires);
    }
}
