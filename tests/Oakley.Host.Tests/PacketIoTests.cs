using System.Net;
using System.Net.Sockets;
using Oakley.Engine;

namespace Oakley.Host.Tests;

/// <summary>The native batch I/O on real loopback sockets, sockaddr encoding, and route prefixes.</summary>
public class PacketIoTests
{
    [Theory]
    [InlineData("192.0.2.7", 4500, false)]
    [InlineData("192.0.2.7", 4500, true)] // an IPv4 peer on a dual-stack socket: v4-mapped on the wire, IPv4 back
    [InlineData("2001:db8::9", 500, true)]
    public void Sockaddr_RoundTrips(string address, int port, bool ipv6Socket)
    {
        Span<byte> sa = stackalloc byte[32];
        var length = LinuxIo.WriteSockaddr(sa, IPAddress.Parse(address), port, ipv6Socket);
        Assert.Equal(ipv6Socket ? 28u : 16u, length);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), LinuxIo.ReadSockaddr(sa[..(int)length]));
    }

    [Fact]
    public void SendAndReceiveBatches_OverLoopback_IncludingAGsoTrain()
    {
        using var rx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var tx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rx.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tx.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)rx.LocalEndPoint!).Port;
        var rxFd = (int)rx.SafeHandle.DangerousGetHandle();
        var txFd = (int)tx.SafeHandle.DangerousGetHandle();
        using var send = new DatagramBatch(4, 4096);
        using var receive = new DatagramBatch(16, 4096);

        for (var i = 0; i < 2; i++)
        {
            send.Slot(i)[..100].Fill((byte)(i + 1));
            send.Prepare(i, 100, IPAddress.Loopback, port, ipv6Socket: false);
        }

        // A train of three 300-byte datagrams and a 100-byte tail in one message (UDP GSO).
        var gso = LinuxIo.SupportsUdpGso(txFd);
        for (var k = 0; k < 4; k++)
        {
            send.Slot(2).Slice(k * 300, 300).Fill((byte)(0x10 + k));
        }

        send.Prepare(2, gso ? 1000 : 300, IPAddress.Loopback, port, ipv6Socket: false, segmentSize: gso ? 300 : 0);
        Assert.Equal(3, send.Send(txFd, 0, 3));

        var got = new List<byte[]>();
        for (var tries = 0; tries < 50 && got.Count < (gso ? 6 : 3); tries++)
        {
            LinuxIo.WaitReadable(rxFd, 100);
            var n = receive.Receive(rxFd);
            for (var i = 0; i < n; i++)
            {
                var data = receive.Data(i);
                var segment = receive.GroSize(i) is > 0 and var s ? s : data.Length;
                for (var offset = 0; offset < data.Length; offset += segment)
                {
                    got.Add(data.Slice(offset, Math.Min(segment, data.Length - offset)).ToArray());
                }

                Assert.Equal(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)tx.LocalEndPoint!).Port), LinuxIo.ReadSockaddr(receive.Name(i)));
            }
        }

        Assert.Equal(gso ? 6 : 3, got.Count);
        Assert.Equal(Enumerable.Repeat((byte)1, 100), got[0]);
        Assert.Equal(Enumerable.Repeat((byte)2, 100), got[1]);
        Assert.Equal(Enumerable.Repeat((byte)0x10, 300), got[2]);
        if (gso)
        {
            Assert.Equal(Enumerable.Repeat((byte)0x12, 300), got[4]);
            Assert.Equal(Enumerable.Repeat((byte)0x13, 100), got[5]);
        }
    }

    [Fact]
    public void AGsoTrainTheKernelRefuses_IsSentDatagramByDatagram()
    {
        using var rx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var tx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rx.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tx.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var rxFd = (int)rx.SafeHandle.DangerousGetHandle();
        var txFd = (int)tx.SafeHandle.DangerousGetHandle();
        Assert.True(LinuxIo.SupportsUdpGso(txFd));
        LinuxIo.SetBuffers(rxFd, 4 << 20); // 200 small datagrams outgrow the default receive buffer
        using var send = new DatagramBatch(1, 4096);
        using var receive = new DatagramBatch(64, 256);
        // 200 segments of 8 bytes: more than any kernel's UDP_MAX_SEGMENTS (64, 128 since 6.x), so the GSO send fails.
        for (var k = 0; k < 200; k++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(send.Slot(0)[(k * 8)..], (ulong)k);
        }

        send.Prepare(0, 1600, IPAddress.Loopback, ((IPEndPoint)rx.LocalEndPoint!).Port, ipv6Socket: false, segmentSize: 8);
        Assert.Equal(200, send.Send(txFd, 0, 1));
        var got = new List<ulong>();
        for (var tries = 0; tries < 50 && got.Count < 200; tries++)
        {
            LinuxIo.WaitReadable(rxFd, 100);
            var n = receive.Receive(rxFd);
            for (var i = 0; i < n; i++)
            {
                got.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(receive.Data(i)));
            }
        }

        Assert.Equal(Enumerable.Range(0, 200).Select(k => (ulong)k), got);
    }

    [Theory]
    [InlineData("198.51.100.0-198.51.100.255", "198.51.100.0/24")]
    [InlineData("192.0.2.1-192.0.2.1", "192.0.2.1/32")]
    [InlineData("192.0.2.1-192.0.2.6", "192.0.2.1/32 192.0.2.2/31 192.0.2.4/31 192.0.2.6/32")]
    [InlineData("0.0.0.0-255.255.255.255", "0.0.0.0/0")]
    [InlineData("2001:db8::-2001:db8::ffff:ffff:ffff:ffff", "2001:db8::/64")]
    [InlineData("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0")]
    public void Prefixes_CoverTheRangeExactly(string range, string expected)
    {
        var parts = range.Split('-');
        var ts = new TrafficSelectorRange(0, 0, 65535, IPAddress.Parse(parts[0]), IPAddress.Parse(parts[1]));
        Assert.Equal(expected, string.Join(" ", TunRoutes.Prefixes(ts)));
    }
}
