using System.Net;
using Oakley.Engine.Pools;

namespace Oakley.Engine.Tests;

/// <summary>Virtual IP pools with strongSwan's mem-pool semantics (groundwork of issue 16).</summary>
public class AddressPoolTests
{
    private static Identity Id(int n) => Identity.Parse($"client{n}@example.org");

    [Theory]
    [InlineData("10.3.0.0/24", "10.3.0.1", "10.3.0.254", 254)]
    [InlineData("10.3.0.0/30", "10.3.0.1", "10.3.0.2", 2)]
    [InlineData("10.3.0.7/32", "10.3.0.7", "10.3.0.7", 1)]
    [InlineData("10.3.0.10-10.3.0.19", "10.3.0.10", "10.3.0.19", 10)]
    [InlineData("2001:db8::/120", "2001:db8::1", "2001:db8::ff", 255)]
    public void Parse_CidrsAndRanges_AsStrongSwanCountsThem(string addrs, string first, string last, int size)
    {
        var pool = AddressPool.Parse("p", addrs);
        Assert.Equal(size, (int)pool.Size);
        var got = new List<IPAddress>();
        for (var i = 0; i < size; i++)
        {
            got.Add(pool.Acquire(Id(i))!);
        }

        Assert.Equal(IPAddress.Parse(first), got[0]);
        Assert.Equal(IPAddress.Parse(last), got[^1]);
        Assert.Equal(size, got.Distinct().Count());
        Assert.Null(pool.Acquire(Id(size)));
    }

    [Fact]
    public void AClient_GetsItsAddressBack_AndOfflineLeasesAreReassignedOldestFirst()
    {
        var pool = AddressPool.Parse("p", "10.3.0.0/29"); // 6 addresses
        var first = Enumerable.Range(0, 6).Select(i => pool.Acquire(Id(i))!).ToList();
        pool.Release(Id(2));
        pool.Release(Id(4));
        Assert.Equal((4, 2), (pool.Online, pool.Offline));
        Assert.Equal(first[4], pool.Acquire(Id(4))); // reconnect: the same address
        Assert.Equal(first[2], pool.Acquire(Id(9))); // full: the offline lease of client 2 goes to a newcomer
        Assert.Null(pool.Acquire(Id(10)));
        Assert.Equal(first[2], pool.Leases.Single(l => l.Holder.Equals(Id(9))).Address);
        Assert.DoesNotContain(pool.Leases, l => l.Holder.Equals(Id(2)));
    }

    [Fact]
    public void AShrunkPool_KeepsLeasesOutsideItUntilReleased()
    {
        var pool = AddressPool.Parse("p", "10.3.0.1-10.3.0.10");
        var addresses = Enumerable.Range(0, 8).Select(i => pool.Acquire(Id(i))!).ToList();
        pool.Release(Id(6));
        pool.Resize(4); // 10.3.0.1-10.3.0.4
        Assert.Equal(addresses[7], pool.Leases.Single(l => l.Holder.Equals(Id(7))).Address); // online: kept
        Assert.DoesNotContain(pool.Leases, l => l.Holder.Equals(Id(6))); // offline outside: gone
        pool.Release(Id(7));
        Assert.DoesNotContain(pool.Leases, l => l.Holder.Equals(Id(7)));
        Assert.Null(pool.Acquire(Id(20)));
    }

    [Fact]
    public void SixtyThousandLeases_InASlash16()
    {
        var pool = AddressPool.Parse("p", "10.8.0.0/16");
        var seen = new HashSet<IPAddress>();
        for (var i = 0; i < 60_000; i++)
        {
            Assert.True(seen.Add(pool.Acquire(Id(i))!));
        }

        Assert.Equal(60_000, pool.Online);
        Assert.Equal(IPAddress.Parse("10.8.234.96"), pool.Acquire(Id(59_999)));
    }
}
