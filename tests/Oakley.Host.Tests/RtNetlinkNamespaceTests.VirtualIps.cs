using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Engine;

namespace Oakley.Host.Tests;

/// <summary>The client's virtual IPs against a real kernel, in the test's own network namespace (root only).</summary>
public sealed partial class RtNetlinkNamespaceTests
{
    [Fact]
    public void VirtualIps_OnTheTunDevice_AreTheRoutesSource_SurviveAnIkeRekey_AndGoWithTheIkeSa()
    {
        if (!_root)
        {
            return;
        }

        var device = InNamespace(() => TunDevice.Open("nl0v", 1400, queues: 1));
        try
        {
            var vips = new VirtualIps(new TunVirtualIpSystem(device, null), NullLogger.Instance);
            var routes = new TunRoutes(device, NullLogger.Instance, () => []) { VirtualSource = vips.PreferredSource };
            void Deliver(EngineEvent e)
            {
                vips.Handle(e);
                routes.Handle(e);
            }

            var t = DateTimeOffset.UnixEpoch;
            InNamespace(() =>
            {
                Deliver(new VirtualIpsAssigned(t, 1, "gw", [IPAddress.Parse("198.51.100.10"), IPAddress.Parse("2001:db8:10::5")], [], []));
                Deliver(Install(0x2101, [TrafficSelectorRange.Parse("198.51.100.10/32")], [TrafficSelectorRange.Parse("203.0.113.0/24")]));
                Deliver(Install(0x2102, [TrafficSelectorRange.Parse("2001:db8:10::5/128")], [TrafficSelectorRange.Parse("2001:db8:5::/48")]));
                return 0;
            });
            var addresses = Ip($"-n {_ns} addr show dev nl0v");
            Assert.Contains("inet 198.51.100.10/32 scope global nl0v", addresses, StringComparison.Ordinal);
            Assert.Contains("inet6 2001:db8:10::5/128 scope global", addresses, StringComparison.Ordinal);
            Assert.DoesNotContain("tentative", addresses, StringComparison.Ordinal);
            Assert.Contains("203.0.113.0/24 dev nl0v proto 79 scope link src 198.51.100.10", Ip($"-n {_ns} route show table 220"), StringComparison.Ordinal);
            Assert.Contains("2001:db8:5::/48 dev nl0v proto 79 src 2001:db8:10::5", Ip($"-n {_ns} -6 route show table 220"), StringComparison.Ordinal);

            InNamespace(() =>
            {
                Deliver(new IkeSaRekeyed(t, 1, "gw", 1, 2, 3, 4)); // same IKE SA id: nothing changes
                return 0;
            });
            Assert.Contains("inet 198.51.100.10/32", Ip($"-n {_ns} addr show dev nl0v"), StringComparison.Ordinal);

            InNamespace(() =>
            {
                Deliver(new ChildSaRemove(t, 1, "net", 0x2101, 0x3101));
                Deliver(new ChildSaRemove(t, 1, "net", 0x2102, 0x3102));
                Deliver(new IkeSaDown(t, 1, "gw", "deleted"));
                return 0;
            });
            addresses = Ip($"-n {_ns} addr show dev nl0v");
            Assert.DoesNotContain("198.51.100.10", addresses, StringComparison.Ordinal);
            Assert.DoesNotContain("2001:db8:10::5", addresses, StringComparison.Ordinal);
            Assert.Equal("", Ip($"-n {_ns} route show table 220").Trim());
        }
        finally
        {
            InNamespace(() =>
            {
                device.Dispose();
                return 0;
            });
        }
    }
}
