using Oakley.Iana;

namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Notify payload (RFC 7296 §3.10).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                Security Parameter Index (SPI)                 ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                       Notification Data                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class NotifyPayload(ProtocolId protocol, ReadOnlyMemory<byte> spi, NotifyType notifyType, ReadOnlyMemory<byte> data) : IkePayload
{
    public NotifyPayload(NotifyType notifyType, ReadOnlyMemory<byte> data = default)
        : this(ProtocolId.None, default, notifyType, data)
    {
    }

    public override PayloadType Type => PayloadType.Notify;

    public ProtocolId Protocol { get; } = protocol;

    public ReadOnlyMemory<byte> Spi { get; } = spi;

    public NotifyType NotifyType { get; } = notifyType;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static NotifyPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "Notify payload");
        var protocol = (ProtocolId)r.ReadByte();
        var spiSize = r.ReadByte();
        var type = (NotifyType)r.ReadUInt16();
        var spi = r.ReadRange(spiSize);
        return new NotifyPayload(protocol, body[spi], type, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteByte(checked((byte)Spi.Length));
        writer.WriteUInt16((ushort)NotifyType);
        writer.WriteBytes(Spi.Span);
        writer.WriteBytes(Data.Span);
    }
}
