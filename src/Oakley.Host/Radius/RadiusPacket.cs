using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Oakley.Host.Radius;

/// <summary>One attribute of a RADIUS packet: its type and value (at most 253 bytes, RFC 2865 §5).</summary>
public readonly record struct RadiusAttribute(RadiusAttributeType Type, byte[] Value);

/// <summary>
/// A RADIUS packet (RFC 2865 §3): code, identifier, the 16-byte authenticator and the attributes in order. Parsing
/// never throws: a datagram that is not a well-formed packet is null. Signing and verification are
/// <see cref="RadiusSigning"/>'s.
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Code      |  Identifier   |            Length             |
/// |                         Authenticator (16)                    |
/// |  Attributes ...
/// </code>
/// </summary>
public sealed class RadiusPacket
{
    public const int HeaderLength = 20;

    /// <summary>RFC 2865 §3: the maximum length of a packet.</summary>
    public const int MaxLength = 4096;

    /// <summary>RFC 2865 §5: an attribute's Length octet covers its 2-byte header too.</summary>
    public const int MaxValueLength = 253;

    public RadiusPacket(RadiusCode code, byte identifier = 0)
    {
        Code = code;
        Identifier = identifier;
    }

    public RadiusCode Code { get; }

    public byte Identifier { get; set; }

    /// <summary>The Request or Response Authenticator as last encoded or parsed.</summary>
    public byte[] Authenticator { get; } = new byte[16];

    public List<RadiusAttribute> Attributes { get; } = [];

    /// <summary>The length of the encoded packet.</summary>
    public int Length => HeaderLength + Attributes.Sum(a => 2 + a.Value.Length);

    public void Add(RadiusAttributeType type, ReadOnlySpan<byte> value)
    {
        if (value.Length > MaxValueLength)
        {
            throw new ArgumentException($"a RADIUS attribute holds at most {MaxValueLength} bytes", nameof(value));
        }

        Attributes.Add(new RadiusAttribute(type, value.ToArray()));
    }

    /// <summary>A text attribute (RFC 2865 §5: UTF-8, not NUL terminated), cut at 253 bytes.</summary>
    public void AddString(RadiusAttributeType type, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Add(type, bytes.AsSpan(0, Math.Min(bytes.Length, MaxValueLength)));
    }

    public void AddUInt32(RadiusAttributeType type, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        Add(type, b);
    }

    /// <summary>
    /// An address attribute: IPv4 as 4 bytes; for Framed-IPv6-Address and NAS-IPv6-Address the 16 bytes of the
    /// address (RFC 6911 §3.1, RFC 3162 §2.1).
    /// </summary>
    public void AddAddress(RadiusAttributeType type, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Add(type, address.GetAddressBytes());
    }

    /// <summary>A Vendor-Specific attribute with one vendor sub-attribute (RFC 2865 §5.26, the RFC 2548 layout).</summary>
    public void AddVendor(uint vendor, byte vendorType, ReadOnlySpan<byte> data)
    {
        var value = new byte[6 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(value, vendor);
        value[4] = vendorType;
        value[5] = checked((byte)(2 + data.Length));
        data.CopyTo(value.AsSpan(6));
        Add(RadiusAttributeType.VendorSpecific, value);
    }

    /// <summary>The first attribute of <paramref name="type"/>'s value, or null.</summary>
    public byte[]? Find(RadiusAttributeType type)
    {
        foreach (var a in Attributes)
        {
            if (a.Type == type)
            {
                return a.Value;
            }
        }

        return null;
    }

    public IEnumerable<byte[]> FindAll(RadiusAttributeType type) => Attributes.Where(a => a.Type == type).Select(a => a.Value);

    /// <summary>The first 4-byte integer attribute of <paramref name="type"/>; null when absent or of another length.</summary>
    public uint? FindUInt32(RadiusAttributeType type) => Find(type) is { Length: 4 } v ? BinaryPrimitives.ReadUInt32BigEndian(v) : null;

    public string? FindString(RadiusAttributeType type) => Find(type) is { } v ? Encoding.UTF8.GetString(v) : null;

    /// <summary>
    /// Adds an EAP message as EAP-Message attributes (RFC 3579 §3.1: split into 253-byte pieces, in order). An empty
    /// message is one empty EAP-Message, the EAP-Start of RFC 3579 §2.1.
    /// </summary>
    public void AddEapMessage(ReadOnlySpan<byte> eap)
    {
        if (eap.IsEmpty)
        {
            Attributes.Add(new RadiusAttribute(RadiusAttributeType.EapMessage, []));
            return;
        }

        for (var offset = 0; offset < eap.Length; offset += MaxValueLength)
        {
            Add(RadiusAttributeType.EapMessage, eap.Slice(offset, Math.Min(MaxValueLength, eap.Length - offset)));
        }
    }

    /// <summary>The EAP message carried in the EAP-Message attributes, joined in order (RFC 3579 §3.1); null without any.</summary>
    public byte[]? EapMessage()
    {
        var parts = FindAll(RadiusAttributeType.EapMessage).ToList();
        if (parts.Count == 0)
        {
            return null;
        }

        var joined = new byte[parts.Sum(p => p.Length)];
        var at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(joined, at);
            at += p.Length;
        }

        return joined;
    }

    /// <summary>
    /// The vendor sub-attributes of every Vendor-Specific attribute that uses the RFC 2865 §5.26 suggested layout
    /// (type, length, data); a malformed one is skipped.
    /// </summary>
    public IEnumerable<(uint Vendor, byte Type, byte[] Data)> VendorAttributes()
    {
        foreach (var value in FindAll(RadiusAttributeType.VendorSpecific))
        {
            if (value.Length < 6)
            {
                continue;
            }

            var vendor = BinaryPrimitives.ReadUInt32BigEndian(value);
            var subs = new List<(uint, byte, byte[])>();
            var ok = true;
            for (var at = 4; at < value.Length;)
            {
                int length = at + 1 < value.Length ? value[at + 1] : 0;
                if (length < 2 || at + length > value.Length)
                {
                    ok = false;
                    break;
                }

                subs.Add((vendor, value[at], value.AsSpan(at + 2, length - 2).ToArray()));
                at += length;
            }

            if (ok)
            {
                foreach (var s in subs)
                {
                    yield return s;
                }
            }
        }
    }

    /// <summary>The Framed-IP-Address and Framed-IPv6-Address values of the right sizes (RFC 2865 §5.8, RFC 6911 §3.1).</summary>
    public List<IPAddress> FramedAddresses()
    {
        var list = new List<IPAddress>();
        foreach (var a in Attributes)
        {
            if (a.Type == RadiusAttributeType.FramedIpAddress && a.Value.Length == 4 || a.Type == RadiusAttributeType.FramedIpv6Address && a.Value.Length == 16)
            {
                var address = new IPAddress(a.Value);
                // RFC 2865 §5.8: 0xFFFFFFFF (the user chooses) and 0xFFFFFFFE (the NAS chooses) are not addresses.
                if (address.AddressFamily == AddressFamily.InterNetworkV6 || !a.Value.AsSpan().SequenceEqual((byte[])[0xFF, 0xFF, 0xFF, 0xFF]) && !a.Value.AsSpan().SequenceEqual((byte[])[0xFF, 0xFF, 0xFF, 0xFE]))
                {
                    list.Add(address);
                }
            }
        }

        return list;
    }

    /// <summary>
    /// Parses a datagram. RFC 2865 §3: octets beyond the Length field are padding and ignored; a Length beyond the
    /// datagram, below 20 or above 4096, or an attribute running past the end, is a packet to discard (null).
    /// </summary>
    public static RadiusPacket? Parse(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < HeaderLength)
        {
            return null;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (length < HeaderLength || length > MaxLength || length > datagram.Length)
        {
            return null;
        }

        var packet = new RadiusPacket((RadiusCode)datagram[0], datagram[1]);
        datagram.Slice(4, 16).CopyTo(packet.Authenticator);
        var at = HeaderLength;
        while (at < length)
        {
            if (at + 2 > length || datagram[at + 1] < 2 || at + datagram[at + 1] > length)
            {
                return null; // RFC 2865 §5: an attribute of length < 2 or past the packet
            }

            var attributeLength = datagram[at + 1];
            packet.Attributes.Add(new RadiusAttribute((RadiusAttributeType)datagram[at], datagram.Slice(at + 2, attributeLength - 2).ToArray()));
            at += attributeLength;
        }

        return packet;
    }

    /// <summary>The packet's bytes with its current authenticator (throws when it would exceed 4096 bytes).</summary>
    public byte[] Encode()
    {
        var length = Length;
        if (length > MaxLength)
        {
            throw new InvalidOperationException($"a RADIUS packet is at most {MaxLength} bytes; this one would be {length}");
        }

        var bytes = new byte[length];
        bytes[0] = (byte)Code;
        bytes[1] = Identifier;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)length);
        Authenticator.CopyTo(bytes, 4);
        var at = HeaderLength;
        foreach (var a in Attributes)
        {
            bytes[at] = (byte)a.Type;
            bytes[at + 1] = (byte)(2 + a.Value.Length);
            a.Value.CopyTo(bytes, at + 2);
            at += 2 + a.Value.Length;
        }

        return bytes;
    }
}
