using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Iana;

namespace Oakley.Esp.Tests;

public class SecurityDatabaseTests
{
    private static UInt128 A(string ip) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse(ip).GetAddressBytes());

    private static Selector Net(string first, string last, byte proto = 0, ushort sp = 0, ushort ep = 65535) => new(false, A(first), A(last), proto, sp, ep);

    private static byte[] Ipv4Udp(string src, string dst, ushort sport, ushort dport)
    {
        var p = new byte[28];
        p[0] = 0x45;
        p[9] = 17;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 16);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), sport);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), dport);
        return p;
    }

    private static EspSa Sa(uint spi) =>
        new(spi, TransformRegistry.GetEncryption(EncrId.AesGcm16, 128)!, new byte[20], null, default, false, 64, new Seeded(spi.GetHashCode()));

    [Fact]
    public void MostSpecificPolicyWins_AndUnmatchedTrafficIsDiscarded()
    {
        using var broad = Sa(0x100);
        using var dns = Sa(0x200);
        var snapshot = new SecuritySnapshot(
        [
            new Policy(Net("198.51.100.0", "198.51.100.255"), Net("203.0.113.0", "203.0.113.255"), broad, "net"),
            new Policy(Net("198.51.100.0", "198.51.100.255", 17), Net("203.0.113.53", "203.0.113.53", 17, 53, 53), dns, "dns"),
            new Policy(Net("198.51.100.7", "198.51.100.7"), Net("192.0.2.0", "192.0.2.255"), null, "trap"),
        ], [new InboundSa(broad, []), new InboundSa(dns, [])]);

        Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.1", "203.0.113.53", 4000, 53), out var f1));
        Assert.Equal("dns", snapshot.Lookup(f1)!.Name);
        Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.1", "203.0.113.53", 4000, 54), out var f2));
        Assert.Equal("net", snapshot.Lookup(f2)!.Name);
        Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.7", "192.0.2.9", 1, 2), out var f3));
        Assert.Equal(PolicyAction.Acquire, snapshot.Lookup(f3)!.Action);
        Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.1", "192.0.2.9", 1, 2), out var f4));
        Assert.Null(snapshot.Lookup(f4));
        Assert.Same(dns, snapshot.Inbound(0x200));
        Assert.Null(snapshot.Inbound(0x300));
    }

    [Fact]
    public void AnInstalledSa_WinsOverATrapWithTheSameSelectors()
    {
        using var sa = Sa(0x100);
        var trap = new Policy(Net("198.51.100.0", "198.51.100.255"), Net("203.0.113.0", "203.0.113.255"), null, "net") { Connection = "c" };
        var installed = trap with { Outbound = sa };
        foreach (var order in new[] { new[] { trap, installed }, [installed, trap] })
        {
            var snapshot = new SecuritySnapshot(order, []);
            Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.1", "203.0.113.1", 1, 2), out var f));
            Assert.Equal(PolicyAction.Protect, snapshot.Lookup(f)!.Action);
        }
    }

    [Fact]
    public void InboundCheck_AcceptsAnyOfTheChildsSelectorPairs()
    {
        var a = new Policy(Net("198.51.100.0", "198.51.100.255"), Net("203.0.113.0", "203.0.113.255"), null, "net");
        var b = new Policy(Net("192.0.2.0", "192.0.2.255"), Net("203.0.113.0", "203.0.113.255"), null, "net");
        Assert.True(FlowKey.TryParse(Ipv4Udp("203.0.113.5", "192.0.2.9", 1, 2), out var toB));
        Assert.True(SecuritySnapshot.InboundAllowed([a, b], toB));
        Assert.False(SecuritySnapshot.InboundAllowed([a], toB));
        Assert.True(SecuritySnapshot.InboundAllowed([], toB));
    }

    [Fact]
    public void Publish_SwapsTheWholeSnapshot()
    {
        var db = new SecurityDatabases();
        Assert.Equal(0, db.Current.PolicyCount);
        using var sa = Sa(0x1);
        var next = new SecuritySnapshot([new Policy(Net("10.0.0.0", "10.0.0.255"), Net("10.1.0.0", "10.1.0.255"), sa, "p")], [new InboundSa(sa, [])]);
        db.Publish(next);
        Assert.Same(next, db.Current);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x45, 0, 0 })]
    [InlineData(new byte[] { 0x60, 0, 0, 0 })]
    [InlineData(new byte[] { 0x4f, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2 })] // IHL 60 > length
    [InlineData(new byte[] { 0x70 })]
    public void MalformedHeaders_DoNotParse(byte[] packet) => Assert.False(FlowKey.TryParse(packet, out _));

    [Fact]
    public void Ipv6AndIcmp_AreParsed()
    {
        var p = new byte[48];
        p[0] = 0x60;
        p[6] = 58; // ICMPv6
        IPAddress.Parse("2001:db8::1").GetAddressBytes().CopyTo(p, 8);
        IPAddress.Parse("2001:db8::2").GetAddressBytes().CopyTo(p, 24);
        p[40] = 128; // echo request
        Assert.True(FlowKey.TryParse(p, out var f));
        Assert.True(f.Ipv6);
        Assert.Equal((58, (ushort)128, (ushort)0), (f.Protocol, f.SourcePort, f.DestinationPort));
    }
}
