using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Oakley.Host;

/// <summary>
/// The few Linux system calls the packet path needs and .NET does not expose: recvmmsg/sendmmsg (one system
/// call per batch of datagrams), poll, and read/write on raw descriptors. Layouts are those of x86-64 and
/// aarch64 glibc (LP64).
/// </summary>
internal static unsafe partial class LinuxIo
{
    public const short PollIn = 0x001;
    public const short PollOut = 0x004;
    public const int MsgDontWait = 0x40;
    public const int MsgTrunc = 0x20;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const ushort AfInet = 2;
    public const ushort AfInet6 = 10;
    public const int SockaddrSize = 28; // sockaddr_in6, the larger of the two

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Returned;
    }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMmsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMmsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, int* value, uint length);

    /// <summary>
    /// Turns on UDP generic receive offload (Linux 5.0): the kernel may hand over a train of equal-size datagrams
    /// from one peer as one message, with the segment size in a UDP_GRO control message. False when unsupported.
    /// </summary>
    public static bool EnableUdpGro(int fd)
    {
        const int solUdp = 17, udpGro = 104;
        var on = 1;
        return SetSockOpt(fd, solUdp, udpGro, &on, sizeof(int)) == 0;
    }

    /// <summary>
    /// The firewall mark of Oakley's own IKE and ESP sockets. A routing rule sends marked packets past the tunnel
    /// table, so that traffic to the peer itself never loops into the TUN device (a 0.0.0.0/0 or transport-mode
    /// selector covers the peer's address).
    /// </summary>
    public const uint BypassMark = 0x4f414b; // "OAK"

    /// <summary>Marks a socket with <see cref="BypassMark"/> (needs CAP_NET_ADMIN); false when refused.</summary>
    public static bool SetBypassMark(int fd)
    {
        const int solSocket = 1, soMark = 36;
        var mark = (int)BypassMark;
        return SetSockOpt(fd, solSocket, soMark, &mark, sizeof(int)) == 0;
    }

    /// <summary>Whether this kernel takes UDP_SEGMENT (UDP GSO, Linux 4.18) on the socket.</summary>
    public static bool SupportsUdpGso(int fd)
    {
        const int solUdp = 17, udpSegment = 103;
        var none = 0;
        return SetSockOpt(fd, solUdp, udpSegment, &none, sizeof(int)) == 0;
    }

    /// <summary>
    /// Socket buffers big enough to ride out a burst while a worker is busy (the default 208 KiB overflows at a few
    /// hundred Mbit/s); the *FORCE options pass net.core.rmem_max when we have CAP_NET_ADMIN, else the plain ones apply.
    /// </summary>
    public static void SetBuffers(int fd, int bytes)
    {
        const int solSocket = 1, soSndBuf = 7, soRcvBuf = 8, soSndBufForce = 32, soRcvBufForce = 33;
        var value = bytes;
        if (SetSockOpt(fd, solSocket, soRcvBufForce, &value, sizeof(int)) != 0)
        {
            SetSockOpt(fd, solSocket, soRcvBuf, &value, sizeof(int));
        }

        if (SetSockOpt(fd, solSocket, soSndBufForce, &value, sizeof(int)) != 0)
        {
            SetSockOpt(fd, solSocket, soSndBuf, &value, sizeof(int));
        }
    }

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    /// <summary>Waits until <paramref name="fd"/> is readable; false on timeout, EINTR or a closed descriptor.</summary>
    public static bool WaitReadable(int fd, int timeoutMs)
    {
        var p = new PollFd { Fd = fd, Events = PollIn };
        return Poll(&p, 1, timeoutMs) > 0 && (p.Returned & PollIn) != 0;
    }

    public static void WaitWritable(int fd, int timeoutMs)
    {
        var p = new PollFd { Fd = fd, Events = PollOut };
        Poll(&p, 1, timeoutMs);
    }

    /// <summary>Writes a sockaddr for <paramref name="address"/>; IPv4 becomes v4-mapped IPv6 on an IPv6 socket.</summary>
    public static uint WriteSockaddr(Span<byte> sa, IPAddress address, int port, bool ipv6Socket)
    {
        sa.Clear();
        if (address.AddressFamily == AddressFamily.InterNetwork && !ipv6Socket)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sa, AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(sa[2..], (ushort)port);
            address.TryWriteBytes(sa[4..], out _);
            return 16;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(sa, AfInet6);
        BinaryPrimitives.WriteUInt16BigEndian(sa[2..], (ushort)port);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            sa[18] = 0xFF;
            sa[19] = 0xFF;
            address.TryWriteBytes(sa[20..], out _);
        }
        else
        {
            address.TryWriteBytes(sa[8..], out _);
            BinaryPrimitives.WriteUInt32LittleEndian(sa[24..], (uint)address.ScopeId);
        }

        return SockaddrSize;
    }

    /// <summary>Reads a sockaddr written by the kernel; a v4-mapped IPv6 address comes back as IPv4.</summary>
    public static IPEndPoint ReadSockaddr(ReadOnlySpan<byte> sa)
    {
        var family = BinaryPrimitives.ReadUInt16LittleEndian(sa);
        var port = BinaryPrimitives.ReadUInt16BigEndian(sa[2..]);
        if (family == AfInet)
        {
            return new IPEndPoint(new IPAddress(sa.Slice(4, 4)), port);
        }

        var bytes = sa.Slice(8, 16);
        if (bytes[..10].IndexOfAnyExcept((byte)0) < 0 && bytes[10] == 0xFF && bytes[11] == 0xFF)
        {
            return new IPEndPoint(new IPAddress(bytes[12..]), port);
        }

        return new IPEndPoint(new IPAddress(bytes, BinaryPrimitives.ReadUInt32LittleEndian(sa[24..])), port);
    }

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>The S_IFMT bits of a socket file's mode (S_IFSOCK).</summary>
    public const int FileTypeSocket = 0xC000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>
    /// The type bits (S_IFMT) of <paramref name="path"/> itself (a symbolic link is not followed), or null when it
    /// cannot be examined (it does not exist). .NET reports sockets and regular files alike, so statx(2) is asked;
    /// its layout is the same on every architecture (stx_mode at byte 28).
    /// </summary>
    public static int? FileType(string path)
    {
        const int atFdCwd = -100, atSymlinkNoFollow = 0x100;
        const uint statxType = 1;
        var buffer = stackalloc byte[256];
        if (Statx(atFdCwd, path, atSymlinkNoFollow, statxType, buffer) != 0)
        {
            return null;
        }

        return *(ushort*)(buffer + 28) & 0xF000;
    }
}

/// <summary>
/// A batch of datagram slots in native memory for recvmmsg/sendmmsg: message headers, one iovec, one sockaddr and
/// one buffer per slot, allocated once. Not thread-safe: one per thread.
/// </summary>
internal sealed unsafe class DatagramBatch : IDisposable
{
    private readonly LinuxIo.MMsgHdr* _messages;
    private readonly LinuxIo.IoVec* _iov;
    private const int ControlSize = 32;
    private readonly byte* _names;
    private readonly byte* _control;
    private readonly byte* _buffers;
    private bool _disposed;

    public DatagramBatch(int capacity, int slotSize)
    {
        Capacity = capacity;
        SlotSize = slotSize;
        _messages = (LinuxIo.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(LinuxIo.MMsgHdr)));
        _iov = (LinuxIo.IoVec*)NativeMemory.AllocZeroed((nuint)(capacity * sizeof(LinuxIo.IoVec)));
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * 32));
        _control = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * ControlSize));
        _buffers = (byte*)NativeMemory.AlignedAlloc((nuint)(capacity * slotSize), 64);
        for (var i = 0; i < capacity; i++)
        {
            _iov[i].Base = _buffers + (i * slotSize);
            _messages[i].Header.Iov = _iov + i;
            _messages[i].Header.IovLength = 1;
            _messages[i].Header.Name = _names + (i * 32);
        }
    }

    public int Capacity { get; }

    public int SlotSize { get; }

    /// <summary>The whole buffer of slot <paramref name="i"/>.</summary>
    public Span<byte> Slot(int i) => new(_buffers + (i * SlotSize), SlotSize);

    /// <summary>The received (or to-be-sent) bytes of slot <paramref name="i"/>.</summary>
    public Span<byte> Data(int i) => new(_buffers + (i * SlotSize), (int)_messages[i].Length);

    public ReadOnlySpan<byte> Name(int i) => new(_names + (i * 32), (int)_messages[i].Header.NameLength);

    public bool Truncated(int i) => (_messages[i].Header.Flags & LinuxIo.MsgTrunc) != 0;

    /// <summary>The segment size of a coalesced message (UDP_GRO control message), or 0 for a single datagram.</summary>
    public int GroSize(int i)
    {
        var control = new ReadOnlySpan<byte>(_control + (i * ControlSize), (int)_messages[i].Header.ControlLength);
        // struct cmsghdr { size_t len; int level; int type; } followed by the data, each aligned to 8 bytes.
        while (control.Length >= 16)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(control);
            if (length < 16 || length > control.Length)
            {
                return 0;
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(control[8..]) == 17 && BinaryPrimitives.ReadInt32LittleEndian(control[12..]) == 104 && length >= 20)
            {
                return BinaryPrimitives.ReadInt32LittleEndian(control[16..]);
            }

            control = control[Math.Min(control.Length, (length + 7) & ~7)..];
        }

        return 0;
    }

    /// <summary>Receives up to <see cref="Capacity"/> datagrams without blocking; 0 when none are waiting.</summary>
    public int Receive(int fd)
    {
        for (var i = 0; i < Capacity; i++)
        {
            _iov[i].Length = (nuint)SlotSize;
            _messages[i].Header.NameLength = 32;
            _messages[i].Header.Flags = 0;
            _messages[i].Header.Control = _control + (i * ControlSize);
            _messages[i].Header.ControlLength = ControlSize;
        }

        var n = LinuxIo.RecvMmsg(fd, _messages, (uint)Capacity, LinuxIo.MsgDontWait, null);
        return n < 0 ? 0 : n;
    }

    /// <summary>
    /// Marks slot <paramref name="i"/> to be sent: <paramref name="length"/> bytes to <paramref name="address"/>:<paramref name="port"/>.
    /// A non-zero <paramref name="segmentSize"/> sends the slot as a train of datagrams of that size (UDP GSO; the
    /// last may be shorter).
    /// </summary>
    public void Prepare(int i, int length, IPAddress address, int port, bool ipv6Socket, int segmentSize = 0)
    {
        _iov[i].Length = (nuint)length;
        _messages[i].Header.NameLength = LinuxIo.WriteSockaddr(new Span<byte>(_names + (i * 32), 32), address, port, ipv6Socket);
        if (segmentSize > 0 && length > segmentSize)
        {
            var control = new Span<byte>(_control + (i * ControlSize), ControlSize);
            control.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(control, 18); // CMSG_LEN(sizeof(u16))
            BinaryPrimitives.WriteInt32LittleEndian(control[8..], 17); // SOL_UDP
            BinaryPrimitives.WriteInt32LittleEndian(control[12..], 103); // UDP_SEGMENT
            BinaryPrimitives.WriteUInt16LittleEndian(control[16..], (ushort)segmentSize);
            _messages[i].Header.Control = _control + (i * ControlSize);
            _messages[i].Header.ControlLength = 24; // CMSG_SPACE(sizeof(u16))
        }
        else
        {
            _messages[i].Header.Control = null;
            _messages[i].Header.ControlLength = 0;
        }
    }

    /// <summary>
    /// Sends slots [first, first + count) on <paramref name="fd"/>; returns how many the kernel took. A
    /// datagram the kernel refuses (no route, buffer full) is skipped: ESP is best-effort like IP.
    /// </summary>
    public int Send(int fd, int first, int count)
    {
        var done = 0;
        var sent = 0;
        var waits = 0;
        while (done < count)
        {
            var n = LinuxIo.SendMmsg(fd, _messages + first + done, (uint)(count - done), 0);
            if (n > 0)
            {
                done += n;
                sent += n;
                continue;
            }

            var errno = n < 0 ? LinuxIo.Errno : 0;
            if (errno == LinuxIo.EIntr)
            {
                continue;
            }

            if (errno == LinuxIo.EAgain && waits++ < 100)
            {
                LinuxIo.WaitWritable(fd, 10); // socket buffer full: wait briefly rather than drop
                continue;
            }

            if (_messages[first + done].Header.ControlLength != 0)
            {
                // A GSO train the kernel refused (a segment larger than the path MTU, or a kernel without UDP GSO
                // for this socket): send its datagrams one by one, so that they fragment like any other.
                sent += SendSegments(fd, first + done);
            }

            done++; // skip the message the kernel refused
        }

        return sent;
    }

    /// <summary>Sends the datagrams of GSO slot <paramref name="i"/> separately; returns how many left.</summary>
    private int SendSegments(int fd, int i)
    {
        var segment = (int)BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(_control + (i * ControlSize) + 16, 2));
        var total = (int)_iov[i].Length;
        var sent = 0;
        for (var offset = 0; segment > 0 && offset < total; offset += segment)
        {
            var iov = new LinuxIo.IoVec { Base = _iov[i].Base + offset, Length = (nuint)Math.Min(segment, total - offset) };
            var message = _messages[i];
            message.Header.Iov = &iov;
            message.Header.Control = null;
            message.Header.ControlLength = 0;
            sent += LinuxIo.SendMmsg(fd, &message, 1, 0) == 1 ? 1 : 0;
        }

        return sent;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NativeMemory.Free(_messages);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_names);
        NativeMemory.Free(_control);
        NativeMemory.AlignedFree(_buffers);
    }
}
