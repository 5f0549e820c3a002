using System.Globalization;
using System.Runtime.InteropServices;

namespace Oakley.Host.Systemd;

/// <summary>
/// Whether the daemon's standard error is the journal's stream (systemd.exec(5), JOURNAL_STREAM): systemd sets the
/// variable to the device and inode numbers of the stream it connected, and only a descriptor with the same numbers is
/// still that stream (a shell redirect in between, or a child that inherited the variable, sees other numbers). Then
/// the daemon may log to the journal natively, with fields, instead of through the stream.
/// </summary>
public static unsafe partial class JournalStream
{
    /// <summary>The socket of journald's native protocol.</summary>
    public const string SocketPath = "/run/systemd/journal/socket";

    /// <summary>Whether <paramref name="journalStream"/> (<c>DEVICE:INODE</c>, in decimal) names the file open on <paramref name="fd"/>.</summary>
    public static bool Matches(string? journalStream, int fd)
    {
        if (journalStream?.Split(':') is not [var d, var i]
            || !ulong.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var device)
            || !ulong.TryParse(i, NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
        {
            return false;
        }

        return Identity(fd) is { } id && id.Device == device && id.Inode == inode;
    }

    /// <summary>Standard error under systemd with the journal as its stream, as the environment says.</summary>
    public static bool StandardErrorIsJournal() => Matches(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), 2);

    /// <summary>
    /// The device number (as glibc's st_dev encodes it, which is what systemd prints) and the inode of the file open on
    /// <paramref name="fd"/>, or null if the descriptor is not open. statx(2), whose layout is the same on every
    /// architecture: stx_ino at byte 32, stx_dev_major and stx_dev_minor at 136 and 140.
    /// </summary>
    public static (ulong Device, ulong Inode)? Identity(int fd)
    {
        const int atEmptyPath = 0x1000;
        const uint statxIno = 0x100;
        var buffer = stackalloc byte[256];
        if (Statx(fd, string.Empty, atEmptyPath, statxIno, buffer) != 0)
        {
            return null;
        }

        var inode = *(ulong*)(buffer + 32);
        return (MakeDevice(*(uint*)(buffer + 136), *(uint*)(buffer + 140)), inode);
    }

    /// <summary>glibc's makedev(3): the 64-bit dev_t of a major and minor number.</summary>
    public static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0x00000fffu) << 8) | ((ulong)(major & 0xfffff000u) << 32) | (minor & 0x000000ffu) | ((ulong)(minor & 0xffffff00u) << 12);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
