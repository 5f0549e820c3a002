using System.Runtime.InteropServices;

namespace Oakley.Host.Netlink;

/// <summary>
/// Builds one netlink request (netlink(7)): a <c>struct nlmsghdr</c> (length, type, flags, sequence, port ID; host
/// byte order), the family's fixed header, then attributes (<c>struct rtattr</c>: length, type, value, each padded
/// to 4 bytes). Pure: no socket, so the bytes can be checked against the kernel's layout in tests.
/// </summary>
internal sealed class NetlinkMessage
{
    /// <summary>sizeof(struct nlmsghdr).</summary>
    public const int HeaderSize = 16;

    /// <summary>sizeof(struct rtattr).</summary>
    public const int AttributeHeaderSize = 4;

    private byte[] _buffer = new byte[256];

    public NetlinkMessage(ushort type, ushort flags)
    {
        Type = type;
        Flags = flags;
        Length = HeaderSize;
    }

    public ushort Type { get; }

    public ushort Flags { get; }

    /// <summary>Bytes written so far (the header included).</summary>
    public int Length { get; private set; }

    /// <summary>Appends the family's fixed header (rtmsg, fib_rule_hdr, ifinfomsg), padded to 4 bytes.</summary>
    public NetlinkMessage Fixed(ReadOnlySpan<byte> header)
    {
        header.CopyTo(Reserve(Align(header.Length)));
        return this;
    }

    public NetlinkMessage Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        var span = Reserve(Align(AttributeHeaderSize + value.Length));
        MemoryMarshal.Write(span, (ushort)(AttributeHeaderSize + value.Length));
        MemoryMarshal.Write(span[2..], type);
        value.CopyTo(span[AttributeHeaderSize..]);
        return this;
    }

    public NetlinkMessage U8(ushort type, byte value) => Attribute(type, [value]);

    public NetlinkMessage U32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, value);
        return Attribute(type, bytes);
    }

    /// <summary>The finished message with its length and <paramref name="sequence"/> filled in (port ID 0: the kernel).</summary>
    public byte[] ToArray(uint sequence)
    {
        var bytes = _buffer.AsSpan(0, Length).ToArray();
        MemoryMarshal.Write(bytes, (uint)Length);
        MemoryMarshal.Write(bytes.AsSpan(4), Type);
        MemoryMarshal.Write(bytes.AsSpan(6), Flags);
        MemoryMarshal.Write(bytes.AsSpan(8), sequence);
        return bytes;
    }

    /// <summary>NLMSG_ALIGN / RTA_ALIGN: 4 bytes.</summary>
    public static int Align(int length) => (length + 3) & ~3;

    private Span<byte> Reserve(int length)
    {
        if (Length + length > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + length));
        }

        var span = _buffer.AsSpan(Length, length);
        span.Clear();
        Length += length;
        return span;
    }

    internal static uint ReadU32(ReadOnlySpan<byte> span) => MemoryMarshal.Read<uint>(span);

    internal static ushort ReadU16(ReadOnlySpan<byte> span) => MemoryMarshal.Read<ushort>(span);

    internal static int ReadI32(ReadOnlySpan<byte> span) => MemoryMarshal.Read<int>(span);
}
