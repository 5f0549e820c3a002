using System.Net;
using Oakley.Engine;
using Oakley.Engine.Pools;

namespace Oakley.Host.Tests;

/// <summary>list-pools (swanctl --list-pools) built from AddressPool objects: counts, base, size, and each lease with its holder.</summary>
public class PoolViewsTests
{
    [Fact]
    public void ListPools_ShowsBaseCountsAndSize_AndLeasesOnlyWhenAsked()
    {
        var p4 = AddressPool.Parse("p4", "10.3.0.0/28"); // .1 to .14
        var carol = Identity.Parse("carol@example.org");
        var dave = Identity.Parse("dave@example.org");
        var eve = Identity.Parse("eve@example.org");
        Assert.Equal(IPAddress.Parse("10.3.0.1"), p4.Acquire(carol));
        Assert.Equal(IPAddress.Parse("10.3.0.2"), p4.Acquire(dave));
        Assert.Equal(IPAddress.Parse("10.3.0.3"), p4.Acquire(eve));
        p4.Release(dave);
        var p6 = AddressPool.Parse("p6", "2001:db8::/64");

        var plain = PoolViews.Json(PoolViews.Snapshot([p4, p6], leases: false));
        Assert.Equal(
            """{"ok":true,"pools":[{"name":"p4","base":"10.3.0.1","online":2,"offline":1,"size":14},{"name":"p6","base":"2001:db8::1","online":0,"offline":0,"size":"18446744073709551615"}]}""",
            plain.ToJsonString());

        var withLeases = PoolViews.Json(PoolViews.Snapshot([p4], leases: true));
        Assert.Equal(
            """[{"address":"10.3.0.1","status":"online","identity":"carol@example.org"},{"address":"10.3.0.2","status":"offline","identity":"dave@example.org"},{"address":"10.3.0.3","status":"online","identity":"eve@example.org"}]""",
            withLeases["pools"]![0]!["leases"]!.ToJsonString());
    }

    [Fact]
    public void Snapshot_IsACopy_ThatLaterLeasesDoNotChange()
    {
        var pool = AddressPool.Parse("p", "192.0.2.10-192.0.2.11");
        pool.Acquire(Identity.Parse("carol@example.org"));
        var snapshot = PoolViews.Snapshot([pool], leases: true);
        pool.Acquire(Identity.Parse("dave@example.org"));
        var json = PoolViews.Json(snapshot)["pools"]![0]!;
        Assert.Equal(1, (int)json["online"]!);
        Assert.Single(json["leases"]!.AsArray());
        Assert.Equal(2, (int)PoolViews.Json(PoolViews.Snapshot([pool], leases: false))["pools"]![0]!["online"]!);
    }

    [Fact]
    public void Leases_AreInAddressOrder_NotInOrderOfAcquisition()
    {
        var pool = AddressPool.Parse("p", "192.0.2.9-192.0.2.10");
        var a = Identity.Parse("a@example.org");
        pool.Acquire(a);
        pool.Acquire(Identity.Parse("b@example.org"));
        pool.Release(a);
        pool.Acquire(Identity.Parse("c@example.org")); // takes a's offline .9: the holder table now lists b first
        var leases = PoolViews.Json(PoolViews.Snapshot([pool], leases: true))["pools"]![0]!["leases"]!.AsArray();
        Assert.Equal(["192.0.2.9", "192.0.2.10"], leases.Select(l => (string)l!["address"]!));
        Assert.Equal("c@example.org", (string)leases[0]!["identity"]!);
    }
}
