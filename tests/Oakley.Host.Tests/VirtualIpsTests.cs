using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Engine;

namespace Oakley.Host.Tests;

/// <summary>Which addresses and DNS servers the client's virtual IPs install for which engine events (the system behind a fake).</summary>
public class VirtualIpsTests
{
    private static readonly DateTimeOffset T = DateTimeOffset.UnixEpoch;
    private static readonly IPAddress Vip4 = IPAddress.Parse("198.51.100.10");
    private static readonly IPAddress Vip6 = IPAddress.Parse("2001:db8:10::5");
    private static readonly IPAddress Dns1 = IPAddress.Parse("192.0.2.53");
    private static readonly IPAddress Dns2 = IPAddress.Parse("2001:db8::53");

    private sealed class FakeSystem : IVirtualIpSystem
    {
        public List<string> Calls { get; } = [];

        public bool FailAdd { get; set; }

        public void AddAddress(IPAddress address)
        {
            if (FailAdd)
            {
                throw new IOException("addr replace: EPERM");
            }

            Calls.Add($"add {address}");
        }

        public void RemoveAddress(IPAddress address) => Calls.Add($"del {address}");

        public void SetDns(IReadOnlyList<IPAddress> servers) => Calls.Add(servers.Count == 0 ? "dns restore" : $"dns {string.Join(" ", servers)}");
    }

    private static VirtualIpsAssigned Assigned(long id, IPAddress[] addresses, IPAddress[] dns) => new(T, id, "home", addresses, dns, []);

    [Fact]
    public void Assigned_AddsEachAddress_AndTheDns_AndIkeSaDownTakesThemAway()
    {
        var system = new FakeSystem();
        var vips = new VirtualIps(system, NullLogger.Instance);
        vips.Handle(Assigned(3, [Vip4, Vip6], [Dns1, Dns2]));
        Assert.Equal(["add 198.51.100.10", "add 2001:db8:10::5", "dns 192.0.2.53 2001:db8::53"], system.Calls);
        Assert.Equal(Vip4, vips.PreferredSource(3, ipv6: false));
        Assert.Equal(Vip6, vips.PreferredSource(3, ipv6: true));
        Assert.Null(vips.PreferredSource(4, ipv6: false));

        system.Calls.Clear();
        vips.Handle(new IkeSaRekeyed(T, 3, "home", 1, 2, 5, 6)); // RFC 7296 §2.18: the SA lives on (same unique id)
        vips.Handle(new IkeSaDown(T, 9, "other", "deleted")); // not ours
        Assert.Empty(system.Calls);

        vips.Handle(new IkeSaDown(T, 3, "home", "deleted"));
        Assert.Equal(["del 198.51.100.10", "del 2001:db8:10::5", "dns restore"], system.Calls);
        Assert.Null(vips.PreferredSource(3, ipv6: false));
    }

    [Fact]
    public void Reauthentication_GettingTheSameAddress_KeepsIt_WhenTheOldIkeSaGoes()
    {
        var system = new FakeSystem();
        var vips = new VirtualIps(system, NullLogger.Instance);
        vips.Handle(Assigned(3, [Vip4], [Dns1]));
        vips.Handle(Assigned(4, [Vip4], [Dns1])); // make-before-break: the new IKE SA, same address and server
        Assert.Equal(["add 198.51.100.10", "dns 192.0.2.53"], system.Calls);

        system.Calls.Clear();
        vips.Handle(new IkeSaDown(T, 3, "home", "reauthenticated"));
        Assert.Empty(system.Calls); // the address is still held by #4, the servers did not change
        Assert.Equal(Vip4, vips.PreferredSource(4, ipv6: false));

        vips.Handle(new IkeSaDown(T, 4, "home", "deleted"));
        Assert.Equal(["del 198.51.100.10", "dns restore"], system.Calls);
    }

    [Fact]
    public void DnsServers_AreThoseOfEverySaHoldingOne_InOrderOfArrival()
    {
        var system = new FakeSystem();
        var vips = new VirtualIps(system, NullLogger.Instance);
        vips.Handle(Assigned(1, [Vip4], [Dns1]));
        vips.Handle(Assigned(2, [Vip6], [Dns2, Dns1]));
        vips.Handle(new IkeSaDown(T, 1, "home", "deleted"));
        Assert.Equal(["add 198.51.100.10", "dns 192.0.2.53", "add 2001:db8:10::5", "dns 192.0.2.53 2001:db8::53", "del 198.51.100.10", "dns 2001:db8::53 192.0.2.53"], system.Calls);
    }

    [Fact]
    public void ASecondReply_ForTheSameSa_ReplacesTheFirst_AndRemoveAllRestoresEverything()
    {
        var system = new FakeSystem();
        var vips = new VirtualIps(system, NullLogger.Instance);
        vips.Handle(Assigned(1, [Vip4], []));
        vips.Handle(Assigned(1, [Vip6], []));
        Assert.Equal(["add 198.51.100.10", "del 198.51.100.10", "add 2001:db8:10::5"], system.Calls);
        Assert.Null(vips.PreferredSource(1, ipv6: false));

        system.Calls.Clear();
        vips.Handle(Assigned(2, [Vip4], [Dns1]));
        vips.RemoveAll();
        Assert.Equal(["add 198.51.100.10", "dns 192.0.2.53", "del 2001:db8:10::5", "del 198.51.100.10", "dns restore"], system.Calls);
    }

    [Fact]
    public void AnAddressThatCannotBeInstalled_IsNotRemovedLater_AndIsNoRouteSourceProblem()
    {
        var system = new FakeSystem { FailAdd = true };
        var vips = new VirtualIps(system, NullLogger.Instance);
        vips.Handle(Assigned(1, [Vip4], [Dns1]));
        system.FailAdd = false;
        vips.Handle(new IkeSaDown(T, 1, "home", "deleted"));
        Assert.Equal(["dns 192.0.2.53", "dns restore"], system.Calls);
    }
}
