using Oakley.Iana;

namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Security Association payload (RFC 7296 §3.3): one or more proposals.
/// <code>
/// Proposal substructure:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Last Substruc |   RESERVED    |         Proposal Length       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                        SPI (variable)                         ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                        &lt;Transforms&gt;                           ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Transform substructure:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Last Substruc |   RESERVED    |        Transform Length       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Transform Type |   RESERVED    |          Transform ID         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                      Transform Attributes                     ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Attribute:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |A|       Attribute Type        |    AF=0  Attribute Length     |
/// |F|                             |    AF=1  Attribute Value      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   AF=0  Attribute Value                       |
/// |                   AF=1  Not Transmitted                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class SecurityAssociationPayload : IkePayload
{
    private const byte LastSubstructure = 0;
    private const byte MoreProposals = 2;
    private const byte MoreTransforms = 3;

    public SecurityAssociationPayload(List<Proposal> proposals) => Proposals = proposals;

    public override PayloadType Type => PayloadType.SecurityAssociation;

    public List<Proposal> Proposals { get; }

    internal static SecurityAssociationPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var proposals = new List<Proposal>();
        var r = new WireReader(body.Span, "SA payload");
        if (r.IsEmpty)
        {
            r.Fail("no proposals");
        }

        var last = false;
        while (!r.IsEmpty)
        {
            if (last)
            {
                r.Fail("data after the last proposal");
            }

            var start = r.Offset;
            var marker = r.ReadByte();
            if (marker is not (LastSubstructure or MoreProposals))
            {
                r.Fail($"proposal Last Substruc {marker} is neither 0 nor 2");
            }

            last = marker == LastSubstructure;
            r.ReadByte(); // RESERVED
            int length = r.ReadUInt16();
            if (length < 8)
            {
                r.Fail($"proposal length {length} is shorter than 8");
            }

            var range = r.ReadRange(length - 4);
            proposals.Add(Proposal.Decode(body[start..range.End]));
        }

        if (!last)
        {
            r.Fail("the last proposal is not marked last");
        }

        return new SecurityAssociationPayload(proposals);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        for (var i = 0; i < Proposals.Count; i++)
        {
            Proposals[i].Write(ref writer, i == Proposals.Count - 1);
        }
    }

    internal static void WriteTransforms(ref IkeMessageWriter writer, List<Transform> transforms)
    {
        for (var i = 0; i < transforms.Count; i++)
        {
            var t = transforms[i];
            var start = writer.BeginLength();
            writer.WriteByte(i == transforms.Count - 1 ? LastSubstructure : MoreTransforms);
            writer.WriteByte(0);
            writer.WriteUInt16(0);
            writer.WriteByte((byte)t.Type);
            writer.WriteByte(0);
            writer.WriteUInt16(t.Id);
            foreach (var a in t.Attributes)
            {
                a.Write(ref writer);
            }

            writer.EndLength(start, 2);
        }
    }

    internal static void WriteProposalHeader(ref IkeMessageWriter writer, bool last) =>
        writer.WriteByte(last ? LastSubstructure : MoreProposals);

    internal static List<Transform> DecodeTransforms(ReadOnlyMemory<byte> data, int count)
    {
        var transforms = new List<Transform>(count);
        var r = new WireReader(data.Span, "transform");
        for (var i = 0; i < count; i++)
        {
            var start = r.Offset;
            var marker = r.ReadByte();
            var isLast = i == count - 1;
            if (marker != (isLast ? LastSubstructure : MoreTransforms))
            {
                r.Fail($"transform {i + 1} of {count} has Last Substruc {marker}");
            }

            r.ReadByte();
            int length = r.ReadUInt16();
            if (length < 8)
            {
                r.Fail($"transform length {length} is shorter than 8");
            }

            var type = (TransformType)r.ReadByte();
            r.ReadByte();
            var id = r.ReadUInt16();
            var attrs = r.ReadRange(length - 8);
            transforms.Add(new Transform(type, id, TransformAttribute.DecodeList(data[attrs])));
        }

        r.ExpectEnd();
        return transforms;
    }
}

/// <summary>A proposal substructure (RFC 7296 §3.3.1).</summary>
public sealed class Proposal
{
    public Proposal(byte number, ProtocolId protocol, ReadOnlyMemory<byte> spi, List<Transform> transforms)
    {
        Number = number;
        Protocol = protocol;
        Spi = spi;
        Transforms = transforms;
    }

    public byte Number { get; }

    public ProtocolId Protocol { get; }

    /// <summary>Empty in IKE_SA_INIT, 8 bytes for an IKE SA rekey, 4 bytes for ESP/AH.</summary>
    public ReadOnlyMemory<byte> Spi { get; }

    public List<Transform> Transforms { get; }

    internal static Proposal Decode(ReadOnlyMemory<byte> whole)
    {
        var r = new WireReader(whole.Span, "proposal");
        r.Skip(4);
        var number = r.ReadByte();
        var protocol = (ProtocolId)r.ReadByte();
        var spiSize = r.ReadByte();
        var count = r.ReadByte();
        var spi = r.ReadRange(spiSize);
        if (count == 0)
        {
            r.Fail("proposal without transforms");
        }

        var rest = r.ReadRest();
        return new Proposal(number, protocol, whole[spi], SecurityAssociationPayload.DecodeTransforms(whole[rest], count));
    }

    internal void Write(ref IkeMessageWriter writer, bool last)
    {
        if (Transforms.Count is 0 or > 255)
        {
            throw new ArgumentException("a proposal needs 1..255 transforms");
        }

        var start = writer.BeginLength();
        SecurityAssociationPayload.WriteProposalHeader(ref writer, last);
        writer.WriteByte(0);
        writer.WriteUInt16(0);
        writer.WriteByte(Number);
        writer.WriteByte((byte)Protocol);
        writer.WriteByte(checked((byte)Spi.Length));
        writer.WriteByte((byte)Transforms.Count);
        writer.WriteBytes(Spi.Span);
        SecurityAssociationPayload.WriteTransforms(ref writer, Transforms);
        writer.EndLength(start, 2);
    }
}

/// <summary>A transform substructure (RFC 7296 §3.3.2). <see cref="Id"/> is interpreted per <see cref="Type"/>.</summary>
public sealed class Transform
{
    public Transform(TransformType type, ushort id, List<TransformAttribute>? attributes = null)
    {
        Type = type;
        Id = id;
        Attributes = attributes ?? [];
    }

    public TransformType Type { get; }

    public ushort Id { get; }

    public List<TransformAttribute> Attributes { get; }

    /// <summary>The Key Length attribute in bits (RFC 7296 §3.3.5), or null when absent.</summary>
    public ushort? KeyLength
    {
        get
        {
            foreach (var a in Attributes)
            {
                if (a.Type == (ushort)TransformAttributeType.KeyLength && a.IsTv)
                {
                    return a.TvValue;
                }
            }

            return null;
        }
    }

    public static Transform Create(TransformType type, ushort id, ushort keyLengthBits = 0) =>
        keyLengthBits == 0
            ? new Transform(type, id)
            : new Transform(type, id, [TransformAttribute.Tv((ushort)TransformAttributeType.KeyLength, keyLengthBits)]);
}

/// <summary>A data attribute in TV (AF=1) or TLV (AF=0) form (RFC 7296 §3.3.5).</summary>
public sealed class TransformAttribute
{
    private TransformAttribute(ushort type, bool isTv, ushort tvValue, ReadOnlyMemory<byte> value)
    {
        Type = type;
        IsTv = isTv;
        TvValue = tvValue;
        Value = value;
    }

    /// <summary>The attribute type without the AF bit.</summary>
    public ushort Type { get; }

    public bool IsTv { get; }

    public ushort TvValue { get; }

    public ReadOnlyMemory<byte> Value { get; }

    public static TransformAttribute Tv(ushort type, ushort value) => new((ushort)(type & 0x7FFF), true, value, default);

    public static TransformAttribute Tlv(ushort type, ReadOnlyMemory<byte> value) => new((ushort)(type & 0x7FFF), false, 0, value);

    internal static List<TransformAttribute> DecodeList(ReadOnlyMemory<byte> data)
    {
        var list = new List<TransformAttribute>();
        var r = new WireReader(data.Span, "transform attribute");
        while (!r.IsEmpty)
        {
            var typeField = r.ReadUInt16();
            var type = (ushort)(typeField & 0x7FFF);
            if ((typeField & 0x8000) != 0)
            {
                list.Add(Tv(type, r.ReadUInt16()));
            }
            else
            {
                int length = r.ReadUInt16();
                list.Add(Tlv(type, data[r.ReadRange(length)]));
            }
        }

        return list;
    }

    internal void Write(ref IkeMessageWriter writer)
    {
        if (IsTv)
        {
            writer.WriteUInt16((ushort)(Type | 0x8000));
            writer.WriteUInt16(TvValue);
        }
        else
        {
            writer.WriteUInt16(Type);
            writer.WriteUInt16(checked((ushort)Value.Length));
            writer.WriteBytes(Value.Span);
        }
    }
}
