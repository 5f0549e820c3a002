using Oakley.Iana;

namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Delete payload (RFC 7296 §3.11).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Protocol ID   |   SPI Size    |          Num of SPIs          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~               Security Parameter Index(es) (SPI)              ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// For IKE the SPI size is 0 and there are no SPIs; for ESP and AH each SPI is 4 bytes.
/// </summary>
public sealed class DeletePayload(ProtocolId protocol, byte spiSize, ushort spiCount, ReadOnlyMemory<byte> spis) : IkePayload
{
    public override PayloadType Type => PayloadType.Delete;

    public ProtocolId Protocol { get; } = protocol;

    public byte SpiSize { get; } = spiSize;

    public ushort SpiCount { get; } = spiCount;

    /// <summary>The SPIs concatenated (SpiCount × SpiSize bytes).</summary>
    public ReadOnlyMemory<byte> Spis { get; } = spis;

    public static DeletePayload ForIke() => new(ProtocolId.Ike, 0, 0, default);

    public static DeletePayload ForChildSas(ProtocolId protocol, IReadOnlyList<uint> spis)
    {
        var bytes = new byte[spis.Count * 4];
        for (var i = 0; i < spis.Count; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), spis[i]);
        }

        return new DeletePayload(protocol, 4, checked((ushort)spis.Count), bytes);
    }

    /// <summary>The 32-bit SPIs of an ESP/AH delete.</summary>
    public uint[] GetSpis32()
    {
        if (SpiSize != 4)
        {
            return [];
        }

        var s = Spis.Span;
        var result = new uint[SpiCount];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(s[(i * 4)..]);
        }

        return result;
    }

    internal static DeletePayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "Delete payload");
        var protocol = (ProtocolId)r.ReadByte();
        var spiSize = r.ReadByte();
        var count = r.ReadUInt16();
        if (count * spiSize != r.Remaining)
        {
            r.Fail($"{count} SPIs of {spiSize} bytes do not fill the remaining {r.Remaining} bytes");
        }

        if (protocol == ProtocolId.Ike && (spiSize != 0 || count != 0))
        {
            // RFC 7296 §3.11: for IKE the SPI Size MUST be zero and Num of SPIs zero.
            r.Fail("an IKE SA delete carries no SPIs");
        }

        return new DeletePayload(protocol, spiSize, count, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteByte(SpiSize);
        writer.WriteUInt16(SpiCount);
        writer.WriteBytes(Spis.Span);
    }
}
