using System.Text;

namespace Oakley.Host.Netlink;

/// <summary>One message of a netlink reply: its header's type, flags and sequence, and what follows the header.</summary>
internal readonly record struct NetlinkPacket(ushort Type, ushort Flags, uint Sequence, ReadOnlyMemory<byte> Payload);

/// <summary>
/// Reads what the kernel answers: the messages of one datagram, an NLMSG_ERROR (an ACK when its error is 0, with
/// the extended ACK's text when the kernel sent one), and the attributes after a fixed header. Pure: tested on bytes.
/// </summary>
internal static class NetlinkReply
{
    public const ushort Error = 2;
    public const ushort Done = 3;

    /// <summary>NLM_F_CAPPED: the error echoes only the request's header, not its payload.</summary>
    private const ushort Capped = 0x100;

    /// <summary>NLM_F_ACK_TLVS: extended ACK attributes follow.</summary>
    private const ushort AckTlvs = 0x200;

    /// <summary>NLMSGERR_ATTR_MSG: the kernel's text for the error.</summary>
    private const ushort ErrorAttributeMessage = 1;

    /// <summary>The attribute type without NLA_F_NESTED and NLA_F_NET_BYTEORDER.</summary>
    private const ushort TypeMask = 0x3fff;

    /// <summary>The messages of one datagram; throws <see cref="InvalidDataException"/> for a length that does not fit.</summary>
    public static List<NetlinkPacket> Split(ReadOnlyMemory<byte> datagram)
    {
        var packets = new List<NetlinkPacket>();
        var offset = 0;
        while (datagram.Length - offset >= NetlinkMessage.HeaderSize)
        {
            var header = datagram.Span[offset..];
            var length = (int)NetlinkMessage.ReadU32(header);
            if (length < NetlinkMessage.HeaderSize || length > datagram.Length - offset)
            {
                throw new InvalidDataException($"netlink message of {length} bytes in {datagram.Length - offset} remaining");
            }

            packets.Add(new NetlinkPacket(NetlinkMessage.ReadU16(header[4..]), NetlinkMessage.ReadU16(header[6..]), NetlinkMessage.ReadU32(header[8..]),
                datagram.Slice(offset + NetlinkMessage.HeaderSize, length - NetlinkMessage.HeaderSize)));
            offset += NetlinkMessage.Align(length);
        }

        return packets;
    }

    /// <summary>
    /// An NLMSG_ERROR's errno (positive; 0 is an ACK) and the kernel's text, if it sent one (struct nlmsgerr: the
    /// negative errno, the request's nlmsghdr, the request's payload unless capped, then the extended ACK attributes).
    /// </summary>
    public static (int Errno, string? Message) ParseError(NetlinkPacket packet)
    {
        var payload = packet.Payload.Span;
        if (packet.Type != Error || payload.Length < 4)
        {
            throw new InvalidDataException("not a netlink error message");
        }

        var errno = -NetlinkMessage.ReadI32(payload);
        if ((packet.Flags & AckTlvs) == 0 || payload.Length < 4 + NetlinkMessage.HeaderSize)
        {
            return (errno, null);
        }

        var echoed = (packet.Flags & Capped) != 0 ? NetlinkMessage.HeaderSize : NetlinkMessage.Align((int)NetlinkMessage.ReadU32(payload[4..]));
        var start = 4 + echoed;
        if (start > payload.Length)
        {
            return (errno, null);
        }

        foreach (var (type, value) in Attributes(packet.Payload[start..]))
        {
            if (type == ErrorAttributeMessage)
            {
                var text = value.Span;
                var end = text.IndexOf((byte)0);
                return (errno, Encoding.UTF8.GetString(end >= 0 ? text[..end] : text));
            }
        }

        return (errno, null);
    }

    /// <summary>The attributes in <paramref name="data"/> (after the fixed header); stops at one whose length does not fit.</summary>
    public static List<(ushort Type, ReadOnlyMemory<byte> Value)> Attributes(ReadOnlyMemory<byte> data)
    {
        var attributes = new List<(ushort, ReadOnlyMemory<byte>)>();
        var offset = 0;
        while (data.Length - offset >= NetlinkMessage.AttributeHeaderSize)
        {
            var span = data.Span[offset..];
            var length = NetlinkMessage.ReadU16(span);
            if (length < NetlinkMessage.AttributeHeaderSize || length > data.Length - offset)
            {
                break;
            }

            attributes.Add(((ushort)(NetlinkMessage.ReadU16(span[2..]) & TypeMask), data.Slice(offset + NetlinkMessage.AttributeHeaderSize, length - NetlinkMessage.AttributeHeaderSize)));
            offset += NetlinkMessage.Align(length);
        }

        return attributes;
    }
}
