using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Oakley.Host;

/// <summary>
/// A Linux TUN device (IFF_TUN | IFF_NO_PI): whole IP packets in both directions. Opening it needs
/// CAP_NET_ADMIN. Links and routes are configured with iproute2, as the rest of the system would see them.
/// </summary>
public sealed partial class TunDevice : IDisposable
{
    private const uint TunSetIff = 0x400454ca;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const int ORdWr = 2;
    private readonly SafeFileHandle _handle;
    private readonly FileStream _stream;

    private TunDevice(string name, SafeFileHandle handle)
    {
        Name = name;
        _handle = handle;
        _stream = new FileStream(handle, FileAccess.ReadWrite, 0, isAsync: false);
    }

    public string Name { get; }

    public static TunDevice Open(string name, int mtu)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 15)
        {
            throw new ArgumentException("interface names have at most 15 characters", nameof(name));
        }

        var fd = open("/dev/net/tun", ORdWr);
        if (fd < 0)
        {
            throw new IOException($"cannot open /dev/net/tun (errno {Marshal.GetLastPInvokeError()}): Oakley needs CAP_NET_ADMIN for its TUN device");
        }

        var ifr = new byte[40];
        System.Text.Encoding.ASCII.GetBytes(name).CopyTo(ifr, 0);
        BitConverter.TryWriteBytes(ifr.AsSpan(16), (short)(IffTun | IffNoPi));
        if (ioctl(fd, TunSetIff, ifr) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            close(fd);
            throw new IOException($"TUNSETIFF {name} failed (errno {errno})");
        }

        var device = new TunDevice(name, new SafeFileHandle(fd, ownsHandle: true));
        Ip($"link set dev {name} mtu {mtu} up");
        return device;
    }

    /// <summary>Reads one packet (blocking); returns its length.</summary>
    public int Read(Span<byte> buffer) => _stream.Read(buffer);

    public void Write(ReadOnlySpan<byte> packet) => _stream.Write(packet);

    /// <summary>Routes a remote traffic selector into the device (replaces an existing route).</summary>
    public void AddRoute(string cidr) => Ip($"route replace {cidr} dev {Name}");

    public void RemoveRoute(string cidr) => Ip($"route del {cidr} dev {Name}", ignoreErrors: true);

    private static void Ip(string arguments, bool ignoreErrors = false)
    {
        using var p = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true, UseShellExecute = false })
            ?? throw new IOException("cannot run ip");
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !ignoreErrors)
        {
            throw new IOException($"ip {arguments}: {error.Trim()}");
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _handle.Dispose();
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, uint request, byte[] ifr);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
