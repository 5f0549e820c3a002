using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace Oakley.Host;

/// <summary>
/// A Linux TUN device (IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR): whole IP packets in both directions,
/// each behind a virtio-net header, with one non-blocking queue per packet worker so that workers never share a
/// descriptor. With offloads on (TUNSETOFFLOAD: checksum, TSO4, TSO6) the kernel hands over TCP super-packets of
/// up to 64 KiB, and accepts them back (see <see cref="Esp.TcpOffload"/>). Opening it needs
/// CAP_NET_ADMIN. Links and routes are configured with iproute2, as the rest of the system would see them.
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
    private readonly int[] _queues;
    private int _disposed;
    private bool _ruleAdded;

    private TunDevice(string name, int[] queues)
    {
        Name = name;
        _queues = queues;
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

        var device = new TunDevice(name, [.. fds]) { Offload = offload };
        try
        {
            // A longer queue toward the workers than the default 500 absorbs bursts while they seal.
            Ip($"link set dev {name} mtu {mtu} txqueuelen 4096 up");
            if (!Ip("rule show", capture: true).Contains($"lookup {RouteTable}", StringComparison.Ordinal))
            {
                // A rule for table 220 that is not Oakley's (RemoveStale ran first), e.g. strongSwan's, is left alone.
                device._ruleAdded = true;
                foreach (var rule in Rules)
                {
                    Ip($"{rule.Family} rule add {rule.Spec}", ignoreErrors: rule.Family == "-6");
                }
            }
        }
        catch
        {
            device.Dispose();
            throw;
        }

        return device;
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
        Ip(source is null ? $"route replace {cidr} dev {Name} table {RouteTable} proto {RouteProtocol}" : $"route replace {cidr} dev {Name} src {source} table {RouteTable} proto {RouteProtocol}");

    /// <summary>Oakley's rules: its own (marked) sockets use the main table, everything else sees the tunnel routes first.</summary>
    private static IEnumerable<(string Family, string Spec)> Rules =>
        from family in new[] { "-4", "-6" }
        from spec in new[]
        {
            $"priority {RouteTable - 1} fwmark 0x{LinuxIo.BypassMark:x} lookup main protocol {RouteProtocol}",
            $"priority {RouteTable} table {RouteTable} protocol {RouteProtocol}",
        }
        select (family, spec);

    /// <summary>
    /// Removes the rules and routes an earlier Oakley left behind (killed, crashed): those carrying
    /// <see cref="RouteProtocol"/>, nothing else. Idempotent; without CAP_NET_ADMIN it removes nothing. Returns how
    /// many rules and route tables were cleaned.
    /// </summary>
    public static int RemoveStale()
    {
        var removed = 0;
        foreach (var family in new[] { "-4", "-6" })
        {
            // One rule per call; bounded (Oakley installs two per family).
            for (var i = 0; i < 8 && TryIp($"{family} rule del protocol {RouteProtocol}"); i++)
            {
                removed++;
            }

            if (TryIp($"{family} route show table {RouteTable} proto {RouteProtocol}", out var routes) && routes.Trim().Length > 0
                && TryIp($"{family} route flush table {RouteTable} proto {RouteProtocol}"))
            {
                removed++;
            }
        }

        return removed;
    }

    private static bool TryIp(string arguments) => TryIp(arguments, out _);

    private static bool TryIp(string arguments, out string output)
    {
        try
        {
            output = Ip(arguments, capture: true);
            return true;
        }
        catch (IOException)
        {
            output = "";
            return false;
        }
    }

    public void RemoveRoute(string cidr) => Ip($"route del {cidr} dev {Name} table {RouteTable}", ignoreErrors: true);

    private static string Ip(string arguments, bool ignoreErrors = false, bool capture = false)
    {
        Process? started;
        try
        {
            started = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true, RedirectStandardOutput = capture, UseShellExecute = false });
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"cannot run ip (iproute2): {e.Message}", e);
        }

        using var p = started ?? throw new IOException("cannot run ip (iproute2)");
        var output = capture ? p.StandardOutput.ReadToEnd() : "";
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !ignoreErrors)
        {
            throw new IOException($"ip {arguments}: {error.Trim()}");
        }

        return output;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_ruleAdded)
            {
                foreach (var rule in Rules)
                {
                    Ip($"{rule.Family} rule del {rule.Spec}", ignoreErrors: true);
                }
            }

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
