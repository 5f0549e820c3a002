using System.Diagnostics;
using System.Net;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Oakley.Host.Tests;

/// <summary>
/// The rtnetlink client against a real kernel, as root, inside a network namespace each test creates and deletes
/// (<c>ip netns add nlA…</c>): the operations run on a thread moved into it with setns(2), and <c>ip</c> reads back
/// what they did (the tests may run ip; the product does not). Without root they check nothing and pass.
/// </summary>
[Collection("netns")]
public sealed partial class RtNetlinkNamespaceTests : IDisposable
{
    private static int _next;
    private readonly string _ns = $"nlA{Environment.ProcessId}x{Interlocked.Increment(ref _next)}";
    private readonly bool _root = Environment.UserName == "root" && File.Exists("/dev/net/tun");

    public RtNetlinkNamespaceTests()
    {
        if (_root)
        {
            Ip($"netns add {_ns}");
            Ip($"-n {_ns} link set lo up");
            Ip($"-n {_ns} addr add 192.0.2.1/32 dev lo");
            Ip($"-n {_ns} addr add 2001:db8::1/128 dev lo nodad");
        }
    }

    public void Dispose()
    {
        if (_root)
        {
            Ip($"netns del {_ns}", check: false);
        }
    }

    [Fact]
    public void Dump_OfThisNamespace_ReadsTheKernelsLoopbackRoute_WithoutRoot()
    {
        // Reading needs no privilege: the local table (255) holds "local 127.0.0.0/8 dev lo proto kernel".
        using var netlink = Netlink.RtNetlink.Open();
        var routes = netlink.Dump(Netlink.RtMessages.DumpAll(Netlink.RtMessages.GetRoute, System.Net.Sockets.AddressFamily.InterNetwork), "route show", Netlink.RtMessages.ParseRoute);
        var loopback = Netlink.RtNetlink.InterfaceIndex("lo");
        Assert.Contains(routes, r => r.Table == 255 && r.DestinationLength == 8 && r.Protocol == 2 && r.OutputInterface == loopback
            && r.Destination is { } d && new IPAddress(d).Equals(IPAddress.Parse("127.0.0.0")));
        Assert.All(routes, r => Assert.Equal(2, r.Family));
        Assert.Throws<IOException>(() => Netlink.RtNetlink.InterfaceIndex("nl-none"));
    }

    [Fact]
    public void TunDevice_SetsLinkRulesAndRoutes_AndRemovesThem()
    {
        if (!_root)
        {
            return;
        }

        var device = InNamespace(() => TunDevice.Open("nl0t", 1400, queues: 1));
        try
        {
            var link = Ip($"-n {_ns} link show nl0t");
            Assert.Contains("mtu 1400", link, StringComparison.Ordinal);
            Assert.Contains("qlen 4096", link, StringComparison.Ordinal);
            Assert.Matches("<[^>]*\\bUP\\b[^>]*>", link);
            foreach (var family in new[] { "-4", "-6" })
            {
                var rules = Ip($"-n {_ns} {family} rule show");
                Assert.Contains("219:\tfrom all fwmark 0x4f414b lookup main proto 79", rules, StringComparison.Ordinal);
                Assert.Contains("220:\tfrom all lookup 220 proto 79", rules, StringComparison.Ordinal);
            }

            InNamespace(() =>
            {
                device.AddRoute("203.0.113.0/24", IPAddress.Parse("192.0.2.1"));
                device.AddRoute("198.51.100.7/32");
                device.AddRoute("198.51.100.7/32"); // replace: no error
                device.AddRoute("2001:db8:5::/48", IPAddress.Parse("2001:db8::1"));
                return 0;
            });
            var routes = Ip($"-n {_ns} route show table 220");
            Assert.Contains("203.0.113.0/24 dev nl0t proto 79 scope link src 192.0.2.1", routes, StringComparison.Ordinal);
            Assert.Contains("198.51.100.7 dev nl0t proto 79 scope link", routes, StringComparison.Ordinal);
            Assert.Contains("2001:db8:5::/48 dev nl0t proto 79 src 2001:db8::1", Ip($"-n {_ns} -6 route show table 220"), StringComparison.Ordinal);

            // A source the namespace does not own: the kernel refuses, and the error names the operation and errno.
            var refused = Assert.Throws<IOException>(() => InNamespace(() =>
            {
                device.AddRoute("203.0.113.128/25", IPAddress.Parse("192.0.2.99"));
                return 0;
            }));
            Assert.StartsWith("route replace 203.0.113.128/25 dev nl0t src 192.0.2.99 table 220 proto 79: EINVAL (Invalid argument)", refused.Message, StringComparison.Ordinal);

            InNamespace(() =>
            {
                device.RemoveRoute("198.51.100.7/32");
                device.RemoveRoute("198.51.100.7/32"); // already gone: not an error
                device.RemoveRoute("2001:db8:5::/48");
                return 0;
            });
            routes = Ip($"-n {_ns} route show table 220");
            Assert.DoesNotContain("198.51.100.7", routes, StringComparison.Ordinal);
            Assert.Contains("203.0.113.0/24", routes, StringComparison.Ordinal);
            Assert.Equal("", Ip($"-n {_ns} -6 route show table 220").Trim());
        }
        finally
        {
            InNamespace(() =>
            {
                device.Dispose();
                return 0;
            });
        }

        Assert.DoesNotContain("proto 79", Ip($"-n {_ns} rule show") + Ip($"-n {_ns} -6 rule show"), StringComparison.Ordinal);
        Assert.Equal("", Ip($"-n {_ns} route show table 220").Trim());
    }

    [Fact]
    public void RemoveStale_RemovesOnlyOakleysRulesAndRoutes_AndAForeignTableRuleKeepsOakleysOff()
    {
        if (!_root)
        {
            return;
        }

        Ip($"-n {_ns} link add nl0d type veth peer name nl0e");
        Ip($"-n {_ns} link set nl0e up");
        Ip($"-n {_ns} link set nl0d up");
        Ip($"-n {_ns} route add 203.0.113.0/24 dev nl0d table 220 proto 79");
        Ip($"-n {_ns} route add 203.0.113.64/26 dev nl0d table 220 proto 79");
        Ip($"-n {_ns} route add 198.51.100.0/24 dev nl0d table 220"); // not Oakley's: stays
        Ip($"-n {_ns} -6 route add 2001:db8:7::/48 dev nl0d table 220 proto 79");
        foreach (var family in new[] { "-4", "-6" })
        {
            Ip($"-n {_ns} {family} rule add priority 219 fwmark 0x4f414b lookup main protocol 79");
            Ip($"-n {_ns} {family} rule add priority 220 table 220 protocol 79");
        }

        Ip($"-n {_ns} rule add priority 300 fwmark 0x1 lookup main"); // someone else's rules: stay
        Ip($"-n {_ns} rule add priority 230 table 220");

        // Two rules and one route table per family.
        Assert.Equal(6, InNamespace(TunDevice.RemoveStale));
        var rules = Ip($"-n {_ns} rule show") + Ip($"-n {_ns} -6 rule show");
        Assert.DoesNotContain("proto 79", rules, StringComparison.Ordinal);
        Assert.Contains("300:\tfrom all fwmark 0x1 lookup main", rules, StringComparison.Ordinal);
        Assert.Contains("230:\tfrom all lookup 220", rules, StringComparison.Ordinal);
        Assert.Equal("198.51.100.0/24 dev nl0d scope link", Ip($"-n {_ns} route show table 220").Trim());
        Assert.Equal("", Ip($"-n {_ns} -6 route show table 220").Trim());
        Assert.Equal(0, InNamespace(TunDevice.RemoveStale)); // idempotent

        // A rule for table 220 that is not Oakley's (strongSwan's): Oakley adds none of its own, and removes none.
        var device = InNamespace(() => TunDevice.Open("nl0t", 1400, queues: 1));
        InNamespace(() =>
        {
            device.Dispose();
            return 0;
        });
        rules = Ip($"-n {_ns} rule show");
        Assert.DoesNotContain("proto 79", rules, StringComparison.Ordinal);
        Assert.Contains("230:\tfrom all lookup 220", rules, StringComparison.Ordinal);
    }

    [Fact]
    public void TunRoutes_ReadTheHostsAddresses_OnlyForANewPrefix()
    {
        if (!_root)
        {
            return;
        }

        var device = InNamespace(() => TunDevice.Open("nl0u", 1400, queues: 1));
        try
        {
            var reads = 0;
            var routes = new TunRoutes(device, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, () =>
            {
                reads++;
                return [System.Net.IPAddress.Parse("192.0.2.1")];
            });
            var local = new[] { Engine.TrafficSelectorRange.Parse("192.0.2.1/32") };
            var remote = new[] { Engine.TrafficSelectorRange.Parse("203.0.113.0/24") };
            InNamespace(() =>
            {
                routes.Handle(Install(0x1101, local, remote));
                routes.Handle(Install(0x1102, local, remote)); // same prefix: already routed, no lookup
                routes.Handle(Install(0x1103, local, remote));
                return 0;
            });
            Assert.Equal(1, reads);
            Assert.Contains("203.0.113.0/24 dev nl0u proto 79 scope link src 192.0.2.1", Ip($"-n {_ns} route show table 220"), StringComparison.Ordinal);
            InNamespace(() =>
            {
                routes.Handle(Install(0x1104, local, [Engine.TrafficSelectorRange.Parse("198.51.100.0/24")]));
                routes.RemoveAll();
                return 0;
            });
            Assert.Equal(2, reads);
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

    [Fact]
    public void TunRoutes_FollowTheChildSaEvents_AndShareAPrefixWithATrap()
    {
        if (!_root)
        {
            return;
        }

        var device = InNamespace(() => TunDevice.Open("nl0t", 1400, queues: 1));
        try
        {
            var routes = new TunRoutes(device, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            var local = new[] { Engine.TrafficSelectorRange.Parse("192.0.2.1/32") };
            var remote = new[] { Engine.TrafficSelectorRange.Parse("203.0.113.0/24"), Engine.TrafficSelectorRange.Parse("198.51.100.0-198.51.100.2") };
            InNamespace(() =>
            {
                routes.Handle(Install(0x1001, local, remote));
                routes.Add(TunRoutes.TrapKey, local, remote[..1]);
                return 0;
            });
            var table = Ip($"-n {_ns} route show table 220");
            Assert.Contains("203.0.113.0/24 dev nl0t proto 79 scope link src 192.0.2.1", table, StringComparison.Ordinal);
            Assert.Contains("198.51.100.0/31 dev nl0t", table, StringComparison.Ordinal);
            Assert.Contains("198.51.100.2 dev nl0t", table, StringComparison.Ordinal);
            Assert.Equal(["203.0.113.0/24", "198.51.100.0/31", "198.51.100.2/32"], routes.RoutesOf(0x1001));
            Assert.Same(routes.RoutesOf(0x1001)[0], Assert.Single(routes.RoutesOf(TunRoutes.TrapKey))); // one string per prefix

            // The CHILD SA goes: its own prefixes go, the one the trap shares stays until the trap goes too.
            InNamespace(() =>
            {
                routes.Handle(new Engine.ChildSaRemove(DateTimeOffset.UnixEpoch, 1, "net", 0x1001, 0x2001));
                return 0;
            });
            Assert.Equal("203.0.113.0/24 dev nl0t proto 79 scope link src 192.0.2.1", Ip($"-n {_ns} route show table 220").Trim());
            InNamespace(() =>
            {
                routes.Remove(TunRoutes.TrapKey);
                return 0;
            });
            Assert.Equal("", Ip($"-n {_ns} route show table 220").Trim());

            InNamespace(() =>
            {
                routes.Handle(Install(0x1002, local, remote));
                routes.RemoveAll();
                return 0;
            });
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

    private static Engine.ChildSaInstall Install(uint spi, Engine.TrafficSelectorRange[] local, Engine.TrafficSelectorRange[] remote) =>
        new(DateTimeOffset.UnixEpoch, 1, "gw", "net", spi, spi + 0x1000, false, false, default, 128, default, false,
            [], [], [], [], local, remote, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500), new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500), TimeSpan.FromHours(1), TimeSpan.FromHours(2));

    /// <summary>Runs <paramref name="body"/> on a new thread that setns(2) moved into the test's namespace.</summary>
    private T InNamespace<T>(Func<T> body)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{_ns}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new IOException($"setns {_ns}: errno {Marshal.GetLastPInvokeError()}");
                }

                result = body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "the namespace thread did not finish");
        failure?.Throw();
        return result;
    }

    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int type);

    private static string Ip(string arguments, bool check = true)
    {
        using var p = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), $"ip {arguments} did not finish");
        Assert.True(!check || p.ExitCode == 0, $"ip {arguments}: {error}");
        return output.Result;
    }
}
