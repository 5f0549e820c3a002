using System.Runtime.InteropServices;

namespace Oakley.Host.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket to the kernel of the network namespace it was opened in: sends one request built by
/// <see cref="RtMessages"/> and waits (bounded) for its ACK or its dump. A refusal becomes an
/// <see cref="IOException"/> that names the operation, the errno and the kernel's own text, in one line. One
/// request at a time (a lock), since the engine thread and start-up/shutdown may share it.
/// </summary>
internal sealed unsafe partial class RtNetlink : IDisposable
{
    private const int AfNetlink = 16;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private const int NetlinkRoute = 0;
    private const int SolNetlink = 270;
    private const int NetlinkCapAck = 10;
    private const int NetlinkExtAck = 11;
    private const int ReceiveBuffer = 1 << 16;
    private const int ReplyTimeoutMs = 5000;

    /// <summary>Upper bound on datagrams read for one request (a dump of a few thousand routes takes a few dozen).</summary>
    private const int MaxDatagrams = 4096;

    private readonly int _fd;
    private readonly byte[] _buffer = new byte[ReceiveBuffer];
    private readonly Lock _lock = new();
    private uint _sequence;
    private int _disposed;

    private RtNetlink(int fd)
    {
        _fd = fd;
        _sequence = (uint)Environment.TickCount64; // any start; replies are matched by it
    }

    /// <summary>Opens the socket; throws <see cref="IOException"/> when the kernel refuses.</summary>
    public static RtNetlink Open()
    {
        var fd = LinuxIo.Socket(AfNetlink, SockRaw | SockCloexec, NetlinkRoute);
        if (fd < 0)
        {
            throw new IOException($"cannot open a rtnetlink socket: {Describe(LinuxIo.Errno)}");
        }

        // Extended ACKs carry the kernel's text ("Invalid prefsrc address"); capped ACKs do not echo the request.
        var on = 1;
        SetSockOpt(fd, SolNetlink, NetlinkExtAck, &on, sizeof(int));
        SetSockOpt(fd, SolNetlink, NetlinkCapAck, &on, sizeof(int));
        return new RtNetlink(fd);
    }

    /// <summary>Sends a request that asks for an ACK; throws <see cref="IOException"/> "<paramref name="operation"/>: ERRNO (...)" if refused.</summary>
    public void Execute(NetlinkMessage request, string operation)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            var sequence = Send(request, operation);
            for (var i = 0; i < MaxDatagrams; i++)
            {
                foreach (var packet in Receive(operation))
                {
                    if (packet.Sequence == sequence && packet.Type == NetlinkReply.Error)
                    {
                        ThrowIfError(packet, operation);
                        return;
                    }
                }
            }

            throw new IOException($"{operation}: no acknowledgement from the kernel");
        }
    }

    /// <summary>
    /// Sends a dump request and returns its entries, each read by <paramref name="parse"/> (NLMSG_DONE ends it);
    /// an entry that does not parse is an <see cref="IOException"/> too.
    /// </summary>
    public List<T> Dump<T>(NetlinkMessage request, string operation, Func<ReadOnlyMemory<byte>, T> parse)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parse);
        lock (_lock)
        {
            var sequence = Send(request, operation);
            var result = new List<T>();
            for (var i = 0; i < MaxDatagrams; i++)
            {
                foreach (var packet in Receive(operation))
                {
                    if (packet.Sequence != sequence)
                    {
                        continue;
                    }

                    switch (packet.Type)
                    {
                        case NetlinkReply.Error:
                            ThrowIfError(packet, operation);
                            return result;
                        case NetlinkReply.Done:
                            // NLMSG_DONE may carry the dump's error as a negative int.
                            if (packet.Payload.Length >= 4 && NetlinkMessage.ReadI32(packet.Payload.Span) is var error and < 0)
                            {
                                throw new IOException($"{operation}: {Describe(-error)}");
                            }

                            return result;
                        default:
                            result.Add(Parse(packet.Payload, parse, operation));
                            break;
                    }
                }
            }

            throw new IOException($"{operation}: the dump did not end");
        }
    }

    private static T Parse<T>(ReadOnlyMemory<byte> payload, Func<ReadOnlyMemory<byte>, T> parse, string operation)
    {
        try
        {
            return parse(payload);
        }
        catch (InvalidDataException e)
        {
            throw new IOException($"{operation}: {e.Message}", e);
        }
    }

    /// <summary>if_nametoindex(3); throws <see cref="IOException"/> when there is no such interface.</summary>
    public static int InterfaceIndex(string name)
    {
        var index = if_nametoindex(name);
        return index != 0 ? (int)index : throw new IOException($"no interface {name}: {Describe(LinuxIo.Errno)}");
    }

    private static void ThrowIfError(NetlinkPacket packet, string operation)
    {
        var (errno, message) = NetlinkReply.ParseError(packet);
        if (errno != 0)
        {
            throw new IOException($"{operation}: {Describe(errno)}{(message is { Length: > 0 } ? $": {message}" : "")}");
        }
    }

    private uint Send(NetlinkMessage request, string operation)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var sequence = ++_sequence;
        var bytes = request.ToArray(sequence);
        Span<byte> kernel = stackalloc byte[12]; // struct sockaddr_nl: family, pad, pid 0 (the kernel), groups 0
        kernel.Clear();
        BitConverter.TryWriteBytes(kernel, (ushort)AfNetlink);
        fixed (byte* p = bytes)
        fixed (byte* a = kernel)
        {
            if (sendto(_fd, p, (nuint)bytes.Length, 0, a, (uint)kernel.Length) != bytes.Length)
            {
                throw new IOException($"{operation}: cannot send to rtnetlink: {Describe(LinuxIo.Errno)}");
            }
        }

        return sequence;
    }

    private List<NetlinkPacket> Receive(string operation)
    {
        var deadline = Environment.TickCount64 + ReplyTimeoutMs;
        while (true)
        {
            nint n;
            fixed (byte* p = _buffer)
            {
                n = recv(_fd, p, (nuint)_buffer.Length, LinuxIo.MsgDontWait | LinuxIo.MsgTrunc);
            }

            if (n > _buffer.Length)
            {
                throw new IOException($"{operation}: a rtnetlink reply of {n} bytes does not fit {_buffer.Length}");
            }

            if (n > 0)
            {
                try
                {
                    return NetlinkReply.Split(_buffer.AsMemory(0, (int)n));
                }
                catch (InvalidDataException e)
                {
                    throw new IOException($"{operation}: {e.Message}", e);
                }
            }

            var errno = LinuxIo.Errno;
            var left = deadline - Environment.TickCount64;
            if (n == 0 || errno is not (LinuxIo.EAgain or LinuxIo.EIntr) || left <= 0)
            {
                throw new IOException($"{operation}: {(left <= 0 ? "no answer from the kernel" : $"cannot read from rtnetlink: {Describe(errno)}")}");
            }

            LinuxIo.WaitReadable(_fd, (int)Math.Min(left, 250));
        }
    }

    /// <summary>"EPERM (Operation not permitted)": the errno's name and the C library's text.</summary>
    public static string Describe(int errno) =>
        $"{ErrnoName(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})";

    /// <summary>The symbolic names of the errnos rtnetlink answers with (asm-generic/errno-base.h, errno.h).</summary>
    public static string ErrnoName(int errno) => errno switch
    {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        4 => "EINTR",
        5 => "EIO",
        6 => "ENXIO",
        7 => "E2BIG",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        19 => "ENODEV",
        22 => "EINVAL",
        23 => "ENFILE",
        24 => "EMFILE",
        28 => "ENOSPC",
        34 => "ERANGE",
        71 => "EPROTO",
        90 => "EMSGSIZE",
        93 => "EPROTONOSUPPORT",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        99 => "EADDRNOTAVAIL",
        100 => "ENETDOWN",
        101 => "ENETUNREACH",
        105 => "ENOBUFS",
        113 => "EHOSTUNREACH",
        _ => $"errno {errno}",
    };

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            LinuxIo.Close(_fd);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendto(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, int* value, uint length);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);
}
