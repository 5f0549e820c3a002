using System.Net;
using Oakley.Engine.Pools;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Xunit;

namespace Oakley.Engine.Tests;

/// <summary>
/// Virtual IPs (RFC 7296 §2.19, §3.15) between a road warrior (moon, swanctl <c>vips</c>) and a gateway (sun, swanctl
/// <c>pools</c>): the CFG_REQUEST and CFG_REPLY, the TSi narrowed to the assigned address, leases kept on reconnect,
/// across an IKE rekey and a reload, and strongSwan's refusals.
/// </summary>
public class VirtualIpTests
{
    private static readonly IPAddress Any4 = IPAddress.Any;
    private static readonly IPAddress Any6 = IPAddress.IPv6Any;

    private static Scenario RoadWarrior(params PoolConfig[] pools) => new()
    {
        MoonVips = [Any4],
        SunPools = pools.Length > 0 ? pools : [new PoolConfig { Name = "rw", Addresses = "192.0.2.64/28", Dns = [IPAddress.Parse("198.51.100.53"), IPAddress.Parse("2001:db8::53")], Nbns = [IPAddress.Parse("198.51.100.137")] }],
    };

    [Fact]
    public void TheGatewayAssignsTheFirstAddress_WithItsAttributes_AndNarrowsTsiToIt()
    {
        var pair = RoadWarrior().Build();
        pair.Initiate(fromMoon: true);

        var assigned = Assert.Single(pair.EventsA.OfType<VirtualIpsAssigned>());
        Assert.Equal([IPAddress.Parse("192.0.2.65")], assigned.Addresses); // the network address is left out, as strongSwan does
        Assert.Equal([IPAddress.Parse("198.51.100.53"), IPAddress.Parse("2001:db8::53")], assigned.Dns);
        Assert.Equal([IPAddress.Parse("198.51.100.137")], assigned.Nbns);
        var moonChild = pair.EventsA.OfType<ChildSaInstall>().Single();
        var sunChild = pair.EventsB.OfType<ChildSaInstall>().Single();
        Assert.Equal("192.0.2.65/32", Assert.Single(moonChild.LocalTs).ToString());
        Assert.Equal("192.0.2.65/32", Assert.Single(sunChild.RemoteTs).ToString());
        var sunSa = Assert.Single(pair.B.IkeSas);
        Assert.Equal([IPAddress.Parse("192.0.2.65")], sunSa.PeerVirtualIps);
        Assert.Equal([IPAddress.Parse("192.0.2.65")], Assert.Single(pair.A.IkeSas).LocalVirtualIps);
        var pool = Assert.Single(pair.B.Pools.Pools);
        Assert.Equal((1, 0, 14), (pool.Online, pool.Offline, (int)pool.Size));
        var leased = Assert.Single(pair.EventsB.OfType<VirtualIpsLeased>());
        Assert.Equal(("moon.example", "192.0.2.65"), (leased.Holder, Assert.Single(leased.Addresses).ToString()));
    }

    [Fact]
    public void BothFamilies_AreRequestedAndAssigned_Ipv6WithPrefix64()
    {
        var scenario = RoadWarrior(
            new PoolConfig { Name = "v4", Addresses = "192.0.2.64/28" },
            new PoolConfig { Name = "v6", Addresses = "2001:db8:1::/120", Dns = [IPAddress.Parse("2001:db8::53")] });
        scenario.MoonVips = [Any4, Any6];
        scenario.MoonLocalTs = [];
        scenario.MoonRemoteTs = ["203.0.113.0/24", "2001:db8:2::/48"];
        scenario.SunLocalTs = ["203.0.113.0/24", "2001:db8:2::/48"];
        var cps = new List<ConfigurationPayload>();
        var pair = scenario.Build();
        Capture(pair, scenario, cps);
        pair.Initiate(fromMoon: true);

        var request = cps.First(c => c.CfgType == ConfigurationType.Request);
        Assert.Equal(
            [ConfigurationAttributeType.InternalIp4Address, ConfigurationAttributeType.InternalIp4Dns, ConfigurationAttributeType.InternalIp6Address, ConfigurationAttributeType.InternalIp6Dns],
            request.Attributes.Select(a => a.AttributeType));
        Assert.All(request.Attributes, a => Assert.Equal(0, a.Value.Length));
        var reply = cps.First(c => c.CfgType == ConfigurationType.Reply);
        var v6 = reply.Attributes.Single(a => a.AttributeType == ConfigurationAttributeType.InternalIp6Address);
        Assert.Equal(17, v6.Value.Length);
        Assert.Equal(64, v6.Value.Span[16]);
        var assigned = Assert.Single(pair.EventsA.OfType<VirtualIpsAssigned>());
        Assert.Equal([IPAddress.Parse("192.0.2.65"), IPAddress.Parse("2001:db8:1::1")], assigned.Addresses);
        var child = pair.EventsA.OfType<ChildSaInstall>().Single(c => c.ChildName == "net");
        Assert.Equal(["192.0.2.65/32", "2001:db8:1::1/128"], child.LocalTs.Select(t => t.ToString()));
    }

    [Fact]
    public void AReconnectingClient_GetsItsAddressBack_AndTheLeaseIsOfflineInBetween()
    {
        var pair = RoadWarrior().Build();
        pair.Initiate(fromMoon: true);
        pair.A.Terminate(pair.Now, "moon-sun");
        pair.Deliver();
        var pool = Assert.Single(pair.B.Pools.Pools);
        Assert.Equal((0, 1), (pool.Online, pool.Offline));
        var lease = Assert.Single(pool.Leases);
        Assert.Equal(("192.0.2.65", "moon.example", false), (lease.Address.ToString(), lease.Holder.ToString(), lease.Online));

        pair.Initiate(fromMoon: true);
        Assert.Equal(2, pair.EventsA.OfType<VirtualIpsAssigned>().Count());
        Assert.All(pair.EventsA.OfType<VirtualIpsAssigned>(), e => Assert.Equal([IPAddress.Parse("192.0.2.65")], e.Addresses));
        Assert.Equal((1, 0), (pool.Online, pool.Offline));
    }

    [Fact]
    public void AnIkeRekey_KeepsTheVirtualIpAndTheLease()
    {
        var scenario = RoadWarrior();
        scenario.SunIkeRekey = TimeSpan.FromMinutes(30);
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);
        pair.AdvanceBy(TimeSpan.FromMinutes(31));

        Assert.NotEmpty(pair.EventsB.OfType<IkeSaRekeyed>());
        var sunSa = Assert.Single(pair.B.IkeSas);
        Assert.Equal([IPAddress.Parse("192.0.2.65")], sunSa.PeerVirtualIps);
        var pool = Assert.Single(pair.B.Pools.Pools);
        Assert.Equal((1, 0), (pool.Online, pool.Offline));
        Assert.Equal([IPAddress.Parse("192.0.2.65")], Assert.Single(pair.A.IkeSas).LocalVirtualIps);
        // A CHILD SA created after the rekey proposes the virtual IP itself.
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        var net2 = pair.EventsB.OfType<ChildSaInstall>().Single(c => c.ChildName == "net2");
        Assert.Equal("192.0.2.65/32", Assert.Single(net2.RemoteTs).ToString()); // dynamic (no protocol in this scenario)
    }

    [Fact]
    public void AReloadThatMovesThePoolsFirstAddress_KeepsTheLease()
    {
        var pair = RoadWarrior().Build();
        pair.Initiate(fromMoon: true);
        // 192.0.2.64/28 hands out .65-.78; /31 hands out .64 and .65: the pool is rebased, the lease of .65 stays online.
        pair.B.SetPools([new PoolConfig { Name = "rw", Addresses = "192.0.2.64/31" }]);
        var pool = Assert.Single(pair.B.Pools.Pools);
        Assert.Equal(("192.0.2.64", 1, 2), (pool.Base.ToString(), pool.Online, (int)pool.Size));
        Assert.Equal(("192.0.2.65", true), (Assert.Single(pool.Leases).Address.ToString(), pool.Leases.Single().Online));
        Assert.Equal(IPAddress.Parse("192.0.2.64"), pool.Acquire(Identity.Parse("other.example")));
        Assert.Null(pool.Acquire(Identity.Parse("third.example")));
    }

    [Fact]
    public void AnExhaustedPool_AnswersInternalAddressFailure_AndNoChildSaIsBuilt()
    {
        var pair = RoadWarrior(new PoolConfig { Name = "tiny", Addresses = "192.0.2.70-192.0.2.70" }).Build();
        pair.B.Pools.Acquire(["tiny"], Identity.Parse("someone.else"), System.Net.Sockets.AddressFamily.InterNetwork, []);
        pair.Initiate(fromMoon: true);

        Assert.Single(pair.A.IkeSas, s => s.State == IkeSaState.Established);
        Assert.Empty(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Contains(pair.EventsA.OfType<ChildSaFailed>(), f => f.Reason.Contains("InternalAddressFailure", StringComparison.Ordinal));
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("assigned no virtual IP", StringComparison.Ordinal));
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("no virtual IP found for 'moon.example'", StringComparison.Ordinal));
    }

    [Fact]
    public void AClientThatRequestsNothing_GetsFailedCpRequired()
    {
        var scenario = RoadWarrior();
        scenario.MoonVips = [];
        var pair = scenario.Build();
        pair.Initiate(fromMoon: true);

        Assert.Empty(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Contains(pair.EventsA.OfType<ChildSaFailed>(), f => f.Reason.Contains("FailedCpRequired", StringComparison.Ordinal));
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains("FAILED_CP_REQUIRED", StringComparison.Ordinal));
    }

    [Fact]
    public void AReloadThatShrinksThePool_KeepsTheLease()
    {
        var pair = RoadWarrior().Build();
        pair.Initiate(fromMoon: true);
        pair.B.SetPools([new PoolConfig { Name = "rw", Addresses = "192.0.2.64/30" }]);
        var pool = Assert.Single(pair.B.Pools.Pools);
        Assert.Equal((1, 2), (pool.Online, (int)pool.Size));
        pair.A.Terminate(pair.Now, "moon-sun");
        pair.Deliver();
        pair.Initiate(fromMoon: true);
        Assert.Equal([IPAddress.Parse("192.0.2.65")], pair.EventsA.OfType<VirtualIpsAssigned>().Last().Addresses);
    }

    /// <summary>The decrypted CP payloads of every IKE_AUTH message, both ways (the payload rules are checked as usual).</summary>
    private static void Capture(Testing.EnginePair pair, Scenario scenario, List<ConfigurationPayload> into)
    {
        _ = scenario;
        var watch = new PayloadRuleWatch(pair.A, pair.B);
        pair.Inspect = (fromA, datagram) =>
        {
            if (datagram is [0xFF])
            {
                return;
            }

            var payloads = watch.Check(datagram, out var header);
            if (header.ExchangeType == ExchangeType.IkeAuth && payloads is not null)
            {
                into.AddRange(payloads.OfType<ConfigurationPayload>());
            }
        };
    }
}
