using Oakley.Iana;

namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Key Exchange payload (RFC 7296 §3.4).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Diffie-Hellman Group Num    |           RESERVED            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                       Key Exchange Data                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class KeyExchangePayload(KeId group, ReadOnlyMemory<byte> data) : IkePayload
{
    public override PayloadType Type => PayloadType.KeyExchange;

    public KeId Group { get; } = group;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static KeyExchangePayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "KE payload");
        var group = (KeId)r.ReadUInt16();
        r.ReadUInt16();
        return new KeyExchangePayload(group, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteUInt16((ushort)Group);
        writer.WriteUInt16(0);
        writer.WriteBytes(Data.Span);
    }
}
