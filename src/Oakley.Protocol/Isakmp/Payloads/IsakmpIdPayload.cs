using Oakley.Iana;

namespace Oakley.Protocol.Isakmp.Payloads;

/// <summary>
/// Identification payload with the IPsec DOI fields (RFC 2407 §4.6.2):
/// <code>
/// !   ID Type     !  Protocol ID  !             Port              !
/// ~                     Identification Data                       ~
/// </code>
/// </summary>
public sealed class IsakmpIdPayload(IsakmpIdType idType, byte protocol, ushort port, ReadOnlyMemory<byte> data) : IsakmpPayload
{
    public override IsakmpPayloadType Type => IsakmpPayloadType.Identification;

    public IsakmpIdType IdType { get; } = idType;

    public byte Protocol { get; } = protocol;

    public ushort Port { get; } = port;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static IsakmpIdPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, "ID payload");
        var type = (IsakmpIdType)r.ReadByte();
        var protocol = r.ReadByte();
        var port = r.ReadUInt16();
        var data = r.ReadRest();
        var length = data.End.Value - data.Start.Value;
        var expected = type switch
        {
            IsakmpIdType.Ipv4Address => 4,
            IsakmpIdType.Ipv4AddressSubnet or IsakmpIdType.Ipv4AddressRange => 8,
            IsakmpIdType.Ipv6Address => 16,
            IsakmpIdType.Ipv6AddressSubnet or IsakmpIdType.Ipv6AddressRange => 32,
            _ => -1,
        };
        if (expected >= 0 && length != expected)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.InvalidIdInformation, $"{type} identification of {length} bytes, expected {expected}");
        }

        return new IsakmpIdPayload(type, protocol, port, body[data]);
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteByte((byte)IdType);
        writer.WriteByte(Protocol);
        writer.WriteUInt16(Port);
        writer.WriteBytes(Data.Span);
    }
}

/// <summary>Certificate (RFC 2408 §3.9) or Certificate Request (§3.10) payload: an encoding octet, then data.</summary>
public sealed class IsakmpCertificatePayload(IsakmpPayloadType type, IsakmpCertificateEncoding encoding, ReadOnlyMemory<byte> data) : IsakmpPayload
{
    public override IsakmpPayloadType Type { get; } = type;

    public IsakmpCertificateEncoding Encoding { get; } = encoding;

    /// <summary>The certificate, or for a request the Certificate Authority (a DER-encoded name, possibly empty).</summary>
    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static IsakmpCertificatePayload DecodeBody(IsakmpPayloadType type, ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, type == IsakmpPayloadType.Certificate ? "CERT payload" : "CR payload");
        var encoding = (IsakmpCertificateEncoding)r.ReadByte();
        return new IsakmpCertificatePayload(type, encoding, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteByte((byte)Encoding);
        writer.WriteBytes(Data.Span);
    }
}

/// <summary>
/// Notification payload (RFC 2408 §3.14):
/// <code>
/// !              Domain of Interpretation  (DOI)                  !
/// !  Protocol-ID  !   SPI Size    !      Notify Message Type      !
/// ~                Security Parameter Index (SPI)                 ~
/// ~                       Notification Data                       ~
/// </code>
/// </summary>
public sealed class IsakmpNotificationPayload(Doi doi, byte protocol, ReadOnlyMemory<byte> spi, IsakmpNotifyType notifyType, ReadOnlyMemory<byte> data) : IsakmpPayload
{
    public override IsakmpPayloadType Type => IsakmpPayloadType.Notification;

    public Doi Doi { get; } = doi;

    public byte Protocol { get; } = protocol;

    public ReadOnlyMemory<byte> Spi { get; } = spi;

    public IsakmpNotifyType NotifyType { get; } = notifyType;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static IsakmpNotificationPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, "N payload");
        var doi = (Doi)r.ReadUInt32();
        var protocol = r.ReadByte();
        var spiSize = r.ReadByte();
        var type = (IsakmpNotifyType)r.ReadUInt16();
        var spi = r.ReadRange(spiSize);
        return new IsakmpNotificationPayload(doi, protocol, body[spi], type, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteUInt32((uint)Doi);
        writer.WriteByte(Protocol);
        writer.WriteByte(checked((byte)Spi.Length));
        writer.WriteUInt16((ushort)NotifyType);
        writer.WriteBytes(Spi.Span);
        writer.WriteBytes(Data.Span);
    }
}

/// <summary>
/// Delete payload (RFC 2408 §3.15):
/// <code>
/// !              Domain of Interpretation  (DOI)                  !
/// !  Protocol-Id  !   SPI Size    !           # of SPIs           !
/// ~               Security Parameter Index(es) (SPI)              ~
/// </code>
/// </summary>
public sealed class IsakmpDeletePayload(Doi doi, byte protocol, byte spiSize, ushort count, ReadOnlyMemory<byte> spis) : IsakmpPayload
{
    public override IsakmpPayloadType Type => IsakmpPayloadType.Delete;

    public Doi Doi { get; } = doi;

    public byte Protocol { get; } = protocol;

    public byte SpiSize { get; } = spiSize;

    public ushort SpiCount { get; } = count;

    public ReadOnlyMemory<byte> Spis { get; } = spis;

    internal static IsakmpDeletePayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, "D payload");
        var doi = (Doi)r.ReadUInt32();
        var protocol = r.ReadByte();
        var size = r.ReadByte();
        var count = r.ReadUInt16();
        if (size * count != r.Remaining)
        {
            r.Fail($"{count} SPIs of {size} bytes do not fill the remaining {r.Remaining} bytes");
        }

        return new IsakmpDeletePayload(doi, protocol, size, count, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteUInt32((uint)Doi);
        writer.WriteByte(Protocol);
        writer.WriteByte(SpiSize);
        writer.WriteUInt16(SpiCount);
        writer.WriteBytes(Spis.Span);
    }
}

/// <summary>
/// Mode Config Attribute payload (draft-dukes-ike-mode-cfg §3.2): type (request/reply/set/ack), identifier,
/// then data attributes.
/// </summary>
public sealed class IsakmpAttributePayload(byte cfgType, ushort identifier, List<DataAttribute> attributes) : IsakmpPayload
{
    public override IsakmpPayloadType Type => IsakmpPayloadType.Attribute;

    public byte CfgType { get; } = cfgType;

    public ushort Identifier { get; } = identifier;

    public List<DataAttribute> Attributes { get; } = attributes;

    internal static IsakmpAttributePayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, "attribute payload");
        var type = r.ReadByte();
        r.ReadByte();
        var id = r.ReadUInt16();
        return new IsakmpAttributePayload(type, id, DataAttribute.DecodeList(body[r.ReadRest()]));
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteByte(CfgType);
        writer.WriteByte(0);
        writer.WriteUInt16(Identifier);
        foreach (var a in Attributes)
        {
            a.Write(ref writer);
        }
    }
}

/// <summary>NAT-OA payload (RFC 3947 §5.2): ID type (IPv4 or IPv6 address), three reserved octets, the address.</summary>
public sealed class IsakmpNatOaPayload(IsakmpPayloadType type, IsakmpIdType idType, ReadOnlyMemory<byte> address) : IsakmpPayload
{
    public override IsakmpPayloadType Type { get; } = type;

    public IsakmpIdType IdType { get; } = idType;

    public ReadOnlyMemory<byte> Address { get; } = address;

    internal static IsakmpNatOaPayload DecodeBody(IsakmpPayloadType type, ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, "NAT-OA payload");
        var idType = (IsakmpIdType)r.ReadByte();
        r.Skip(3);
        var address = r.ReadRest();
        var length = address.End.Value - address.Start.Value;
        if ((idType, length) is not ((IsakmpIdType.Ipv4Address, 4) or (IsakmpIdType.Ipv6Address, 16)))
        {
            r.Fail($"NAT-OA must carry an IPv4 or IPv6 address, got type {(byte)idType} with {length} bytes");
        }

        return new IsakmpNatOaPayload(type, idType, body[address]);
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteByte((byte)IdType);
        writer.WriteZeros(3);
        writer.WriteBytes(Address.Span);
    }
}

/// <summary>IKEv1 fragment payload (vendor extension, type 132): fragment ID, number, flags (1 = last), data.</summary>
public sealed class IsakmpFragmentPayload(ushort fragmentId, byte number, byte flags, ReadOnlyMemory<byte> data) : IsakmpPayload
{
    public override IsakmpPayloadType Type => IsakmpPayloadType.Fragment;

    public ushort FragmentId { get; } = fragmentId;

    public byte Number { get; } = number;

    public byte Flags { get; } = flags;

    public bool IsLast => (Flags & 1) != 0;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static IsakmpFragmentPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, "fragment payload");
        var id = r.ReadUInt16();
        var number = r.ReadByte();
        var flags = r.ReadByte();
        if (number == 0)
        {
            r.Fail("fragment numbers start at 1");
        }

        return new IsakmpFragmentPayload(id, number, flags, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteUInt16(FragmentId);
        writer.WriteByte(Number);
        writer.WriteByte(Flags);
        writer.WriteBytes(Data.Span);
    }
}
