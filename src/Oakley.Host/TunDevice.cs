using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Oakley.Host.Netlink;

namespace Oakley.Host;

/// <summary>
/// A Linux TUN device (IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR): whole IP packets in both directions,
/// each behind a virtio-net header, with one non-blocking queue per packet worker so that workers never share a
/// descriptor. With offloads on (TUNSETOFFLOAD: checksum, TSO4, TSO6) the kernel hands over TCP super-packets of
/// up to 64 KiB, and accepts them back (see <see cref="Esp.TcpOffload"/>). Opening it needs
/// CAP_NET_ADMIN. The link, its routes and Oakley's policy routing rules are set over rtnetlink (<see cref="RtNetlink"/>),
/// in the network namespace the device was opened in; no process is spawned.
/// </summary>
public sealed unsafe partial class TunDevice : IDisposable
{
    private const uint TunSetIff = 0x400454ca;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const short IffMultiQueue = 0x0100;
    private const short IffVnetHdr = 0x4000;
    private const uint TunSetOffload = 0x400454d0;
    private const uint TunOffloads = 0x01 | 0x02 | 0x04; // TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
    private const int ORdWr = 2;
    private const int ONonBlock = 0x800;
    private const int EPerm = 1;
    /// <summary>The routing table of tunnel routes, consulted by a rule of the same priority (as strongSwan does).</summary>
    public const int RouteTable = 220;

    /// <summary>
    /// The routing protocol number on Oakley's rules and routes ("proto 79" in <c>ip rule</c>/<c>ip route</c>): what
    /// carries it was installed by Oakley, so cleaning up never touches another daemon's rules (strongSwan's rule
    /// for table 220 looks the same otherwise).
    /// </summary>
    public const int RouteProtocol = 79;
    /// <summary>txqueuelen: a longer queue toward the workers than the default 500 absorbs bursts while they seal.</summary>
    private const uint TxQueueLength = 4096;
    private readonly int[] _queues;
    private readonly RtNetlink _netlink;
    private int _index;
    private int _disposed;
    private bool _ruleAdded;

    private TunDevice(string name, int[] queues, RtNetlink netlink)
    {
        Name = name;
        _queues = queues;
        _netlink = netlink;
    }

    public string Name { get; }

    /// <summary>Whether the kernel may hand over TCP super-packets (TUNSETOFFLOAD succeeded).</summary>
    public bool Offload { get; private init; }

    /// <summary>The queue descriptors (kernel hashes flows over them).</summary>
    public IReadOnlyList<int> Queues => _queues;

    /// <summary>Opens (or creates) the device with <paramref name="queues"/> queues; <paramref name="offloads"/> asks for TSO.</summary>
    public static TunDevice Open(string name, int mtu, int queues = 1, bool offloads = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 15)
        {
            throw new ArgumentException("interface names have at most 15 characters", nameof(name));
        }

        var fds = new List<int>();
        var offload = offloads;
        try
        {
            for (var q = 0; q < Math.Max(1, queues); q++)
            {
                var fd = open("/dev/net/tun", ORdWr | ONonBlock);
                if (fd < 0)
                {
                    throw new IOException($"cannot open /dev/net/tun: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())} (Oakley needs CAP_NET_ADMIN and the tun module for its TUN device)");
                }

                fds.Add(fd);
                var ifr = new byte[40];
                System.Text.Encoding.ASCII.GetBytes(name).CopyTo(ifr, 0);
                BitConverter.TryWriteBytes(ifr.AsSpan(16), (short)(IffTun | IffNoPi | IffMultiQueue | IffVnetHdr));
                if (ioctl(fd, TunSetIff, ifr) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new IOException($"cannot create the TUN device {name}: {Marshal.GetPInvokeErrorMessage(errno)}{(errno == EPerm ? " (Oakley needs CAP_NET_ADMIN for its TUN device)" : "")}");
                }

                offload = offload && ioctl(fd, TunSetOffload, (nuint)TunOffloads) == 0;
            }
        }
        catch
        {
            fds.ForEach(fd => close(fd));
            throw;
        }

        RtNetlink netlink;
        try
        {
            netlink = RtNetlink.Open();
        }
        catch
        {
            fds.ForEach(fd => close(fd));
            throw;
        }

        var device = new TunDevice(name, [.. fds], netlink) { Offload = offload };
        try
        {
            device.Configure(mtu);
        }
        catch
        {
            device.Dispose();
            throw;
        }

        return device;
    }

    /// <summary>Sets the link up with its MTU and queue length, and adds Oakley's rules unless table 220 already has one.</summary>
    private void Configure(int mtu)
    {
        _index = RtNetlink.InterfaceIndex(Name);
        _netlink.Execute(RtMessages.SetLink(_index, (uint)mtu, TxQueueLength), $"link set dev {Name} mtu {mtu} txqueuelen {TxQueueLength} up");

        // Like "ip rule show" (IPv4): a rule for table 220 that is not Oakley's (RemoveStale ran first), e.g.
        // strongSwan's, is left alone.
        var rules = _netlink.Dump(RtMessages.DumpAll(RtMessages.GetRule, AddressFamily.InterNetwork), "rule show", RtMessages.ParseRule);
        if (rules.Any(r => r.Table == RouteTable))
        {
            return;
        }

        _ruleAdded = true;
        foreach (var rule in Rules)
        {
            try
            {
                _netlink.Execute(RtMessages.Rule(rule, add: true), $"rule add {Describe(rule)}");
            }
            catch (IOException) when (rule.Family == AddressFamily.InterNetworkV6)
            {
                // A host without IPv6 has no IPv6 rules to add.
            }
        }
    }

    /// <summary>Reads one packet (virtio-net header first) without blocking; 0 when none is waiting, -1 when the device is gone.</summary>
    public static int Read(int queue, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = LinuxIo.Read(queue, p, (nuint)buffer.Length);
            if (n >= 0)
            {
                return (int)n;
            }

            var errno = LinuxIo.Errno;
            return errno is LinuxIo.EAgain or LinuxIo.EIntr ? 0 : -1;
        }
    }

    /// <summary>Hands one packet (virtio-net header first) to the kernel through a queue (a full queue drops it, as a NIC would).</summary>
    public static void Write(int queue, ReadOnlySpan<byte> packet)
    {
        fixed (byte* p = packet)
        {
            LinuxIo.Write(queue, p, (nuint)packet.Length);
        }
    }

    /// <summary>Routes a remote traffic selector into the device, from <paramref name="source"/> when given (replaces an existing route).</summary>
    public void AddRoute(string cidr, IPAddress? source = null) =>
        _netlink.Execute(RtMessages.ReplaceRoute(IPNetwork.Parse(cidr), _index, source, RouteTable, RouteProtocol),
            $"route replace {cidr} dev {Name}{(source is null ? "" : $" src {source}")} table {RouteTable} proto {RouteProtocol}");

    /// <summary>Puts a virtual IP on the device (<c>ip addr replace A/32 dev X</c>; /128 for IPv6).</summary>
    public void AddAddress(IPAddress address) =>
        _netlink.Execute(RtMessages.Address(address, _index, add: true), $"addr replace {address}/{(address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32)} dev {Name}");

    /// <summary>Removes a virtual IP of <see cref="AddAddress"/> (one already gone is not an error).</summary>
    public void RemoveAddress(IPAddress address)
    {
        try
        {
            _netlink.Execute(RtMessages.Address(address, _index, add: false), $"addr del {address} dev {Name}");
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Removes a route of <see cref="AddRoute"/> (one already gone is not an error).</summary>
    public void RemoveRoute(string cidr)
    {
        var prefix = IPNetwork.Parse(cidr);
        try
        {
            _netlink.Execute(RtMessages.DeleteRoute(RtMessages.Family(prefix.BaseAddress.AddressFamily), (byte)prefix.PrefixLength, prefix.BaseAddress.GetAddressBytes(), _index, RouteTable),
                $"route del {cidr} dev {Name} table {RouteTable}");
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Oakley's rules: its own (marked) sockets use the main table, everything else sees the tunnel routes first.</summary>
    internal static IEnumerable<RuleSpec> Rules =>
        from family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 }
        from rule in new[]
        {
            new RuleSpec(family, RouteTable - 1, RtMessages.TableMain, RouteProtocol, LinuxIo.BypassMark),
            new RuleSpec(family, RouteTable, RouteTable, RouteProtocol),
        }
        select rule;

    /// <summary>A rule as <c>ip rule</c> would be told it, for error messages.</summary>
    private static string Describe(RuleSpec rule) =>
        $"{(rule.Family == AddressFamily.InterNetworkV6 ? "-6" : "-4")} priority {rule.Priority}{(rule.FwMark is { } m ? $" fwmark 0x{m:x}" : "")} lookup {(rule.Table == RtMessages.TableMain ? "main" : rule.Table)} protocol {rule.Protocol}";

    /// <summary>
    /// Removes the rules and routes an earlier Oakley left behind (killed, crashed): those carrying
    /// <see cref="RouteProtocol"/>, nothing else. Idempotent; without CAP_NET_ADMIN it removes nothing. Returns how
    /// many rules and route tables were cleaned.
    /// </summary>
    public static int RemoveStale()
    {
        try
        {
            using var netlink = RtNetlink.Open();
            return RemoveStale(netlink, AddressFamily.InterNetwork) + RemoveStale(netlink, AddressFamily.InterNetworkV6);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static int RemoveStale(RtNetlink netlink, AddressFamily family)
    {
        var removed = 0;

        // One rule per request; bounded (Oakley installs two per family).
        for (var i = 0; i < 8; i++)
        {
            try
            {
                netlink.Execute(RtMessages.DeleteRuleByProtocol(family, RouteProtocol), $"rule del protocol {RouteProtocol}");
                removed++;
            }
            catch (IOException)
            {
                break;
            }
        }

        try
        {
            // "ip route flush table 220 proto 79": read the family's routes, delete Oakley's.
            var stale = netlink.Dump(RtMessages.DumpAll(RtMessages.GetRoute, family), "route show", RtMessages.ParseRoute)
                .Where(r => r.Table == RouteTable && r.Protocol == RouteProtocol).ToList();
            foreach (var route in stale)
            {
                netlink.Execute(RtMessages.DeleteRoute(route.Family, route.DestinationLength, route.Destination, route.OutputInterface, RouteTable, RouteProtocol),
                    $"route flush table {RouteTable} proto {RouteProtocol}");
            }

            removed += stale.Count > 0 ? 1 : 0;
        }
        catch (IOException)
        {
        }

        return removed;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_ruleAdded)
            {
                foreach (var rule in Rules)
                {
                    try
                    {
                        _netlink.Execute(RtMessages.Rule(rule, add: false), $"rule del {Describe(rule)}");
                    }
                    catch (IOException)
                    {
                    }
                }
            }

            _netlink.Dispose();

            foreach (var fd in _queues)
            {
                close(fd);
            }
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, uint request, byte[] ifr);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl(int fd, uint request, nuint value);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
