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
        var snapshot = SecurityDatabases.Of(
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
            var snapshot = SecurityDatabases.Of(order, []);
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
        Assert.True(SecurityDatabases.InboundAllowed([a, b], toB));
        Assert.False(SecurityDatabases.InboundAllowed([a], toB));
        Assert.True(SecurityDatabases.InboundAllowed([], toB));
    }

    [Fact]
    public void Removing_TheNewerOfTwoSasWithTheSameSelectors_GivesTheTrafficBackToTheOlder()
    {
        using var older = Sa(0x1);
        using var newer = Sa(0x2);
        var trap = new Policy(Net("198.51.100.0", "198.51.100.255"), Net("203.0.113.0", "203.0.113.255"), null, "net") { Connection = "c" };
        var first = trap with { Outbound = older, Generation = 1 };
        var second = trap with { Outbound = newer, Generation = 2 };
        var db = new SecurityDatabases();
        db.AddPolicy(trap);
        db.AddPolicy(second);
        db.AddPolicy(first); // install order does not matter: the generation does
        Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.1", "203.0.113.1", 1, 2), out var f));
        Assert.Same(second, db.Lookup(f));
        Assert.Equal(3, db.PolicyCount);
        Assert.True(db.RemovePolicy(second));
        Assert.Same(first, db.Lookup(f));
        Assert.True(db.RemovePolicy(first));
        Assert.Same(trap, db.Lookup(f));
        Assert.False(db.RemovePolicy(first));
        Assert.True(db.RemovePolicy(trap));
        Assert.Null(db.Lookup(f));
        Assert.Equal(0, db.PolicyCount);
    }

    [Fact]
    public void AHostPolicy_AndASubnetPolicy_CompeteOnBreadth()
    {
        using var client = Sa(0x1);
        using var site = Sa(0x2);
        var toClient = new Policy(Net("0.0.0.0", "255.255.255.255"), Net("203.0.113.5", "203.0.113.5"), client, "client");
        var toSite = new Policy(Net("198.51.100.1", "198.51.100.1"), Net("203.0.113.0", "203.0.113.255"), site, "site");
        var db = SecurityDatabases.Of([toClient, toSite], [new InboundSa(client, [toClient]), new InboundSa(site, [toSite])]);
        Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.1", "203.0.113.5", 1, 2), out var narrow));
        Assert.Same(toSite, db.Lookup(narrow)); // 1 x 256 addresses is narrower than 2^32 x 1
        Assert.True(FlowKey.TryParse(Ipv4Udp("198.51.100.2", "203.0.113.5", 1, 2), out var other));
        Assert.Same(toClient, db.Lookup(other));
        Assert.Equal(2, db.InboundCount);
        Assert.True(db.RemoveInbound(0x1));
        Assert.Null(db.Inbound(0x1));
        Assert.Same(site, db.Inbound(0x2));
        Assert.Equal(1, db.InboundCount);
    }

    /// <summary>
    /// Random adds and removals over a small address space: every lookup equals the brute-force answer (the most
    /// specific matching policy; at equal breadth an installed SA over a trap, then the newest generation).
    /// </summary>
    [Fact]
    public void Lookups_AfterRandomChanges_EqualTheBruteForceAnswer()
    {
        using var sa = Sa(0x1);
        var random = new Random(14);
        var live = new List<Policy>();
        var db = new SecurityDatabases();
        for (var step = 0; step < 3000; step++)
        {
            if (live.Count > 0 && random.Next(3) == 0)
            {
                var at = random.Next(live.Count);
                var gone = live[at];
                live.RemoveAt(at); // by position: equal records may be distinct entries
                Assert.True(db.RemovePolicy(gone));
            }
            else
            {
                var p = new Policy(RandomRange(random), RandomRange(random), random.Next(4) == 0 ? null : sa, "p") { Generation = random.Next(1, 20) };
                live.Add(p);
                db.AddPolicy(p);
            }

            var flow = new FlowKey(false, (UInt128)random.Next(16), (UInt128)random.Next(16), 17, 1, 2);
            var expected = live.Where(p => p.Local.Matches(false, flow.Source, 17, 1) && p.Remote.Matches(false, flow.Destination, 17, 2))
                .OrderBy(p => p.Breadth).ThenBy(p => p.Outbound is null).ThenByDescending(p => p.Generation).FirstOrDefault();
            var actual = db.Lookup(flow);
            Assert.Equal(expected is null, actual is null);
            if (expected is not null)
            {
                Assert.Equal((expected.Breadth, expected.Outbound is null, expected.Generation), (actual!.Breadth, actual.Outbound is null, actual.Generation));
            }
        }

        Assert.Equal(live.Count, db.PolicyCount);
    }

    private static Selector RandomRange(Random random)
    {
        var start = random.Next(16);
        var end = random.Next(3) == 0 ? start : Math.Min(15, start + random.Next(8));
        return new Selector(false, (UInt128)start, (UInt128)end, 0, 0, 65535);
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
