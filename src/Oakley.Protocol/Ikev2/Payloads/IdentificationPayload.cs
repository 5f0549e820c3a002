namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Identification payload, IDi or IDr (RFC 7296 §3.5).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   ID Type     |                 RESERVED                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                   Identification Data                         ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class IdentificationPayload(bool initiator, IdentificationType idType, ReadOnlyMemory<byte> data) : IkePayload
{
    public override PayloadType Type => IsInitiator ? PayloadType.IdentificationInitiator : PayloadType.IdentificationResponder;

    public bool IsInitiator { get; } = initiator;

    public IdentificationType IdType { get; } = idType;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static IdentificationPayload DecodeBody(ReadOnlyMemory<byte> body, bool initiator)
    {
        var r = new WireReader(body.Span, initiator ? "IDi payload" : "IDr payload");
        var type = (IdentificationType)r.ReadByte();
        r.Skip(3);
        var data = r.ReadRest();
        if (type == IdentificationType.Ipv4Address && data.End.Value - data.Start.Value != 4)
        {
            r.Fail("ID_IPV4_ADDR must be 4 bytes");
        }

        if (type == IdentificationType.Ipv6Address && data.End.Value - data.Start.Value != 16)
        {
            r.Fail("ID_IPV6_ADDR must be 16 bytes");
        }

        return new IdentificationPayload(initiator, type, body[data]);
    }

    /// <summary>The body as it enters the AUTH computation (RFC 7296 §2.15: IDi' is the payload without its generic header).</summary>
    public byte[] GetBodyBytes()
    {
        var b = new byte[4 + Data.Length];
        b[0] = (byte)IdType;
        Data.Span.CopyTo(b.AsSpan(4));
        return b;
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte((byte)IdType);
        writer.WriteZeros(3);
        writer.WriteBytes(Data.Span);
    }
}
