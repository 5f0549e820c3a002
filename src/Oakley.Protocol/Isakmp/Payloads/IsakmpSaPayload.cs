using Oakley.Iana;

namespace Oakley.Protocol.Isakmp.Payloads;

/// <summary>
/// SA payload (RFC 2408 §3.4, RFC 2407 §4.6.1): DOI, situation, then Proposal payloads, each with Transform
/// payloads (§3.5, §3.6), chained by their own Next Payload fields (2 = more proposals, 3 = more transforms).
/// <code>
/// SA:        ! Domain of Interpretation (DOI) !  Situation  ! Proposals...
/// Proposal:  ! Proposal # ! Protocol-Id ! SPI Size !# of Transforms! SPI ! Transforms...
/// Transform: ! Transform # ! Transform-Id ! RESERVED2 (2) ! SA Attributes...
/// </code>
/// </summary>
public sealed class IsakmpSaPayload(Doi doi, uint situation, List<IsakmpProposal> proposals) : IsakmpPayload
{
    public override IsakmpPayloadType Type => IsakmpPayloadType.SecurityAssociation;

    public Doi Doi { get; } = doi;

    public uint Situation { get; } = situation;

    public List<IsakmpProposal> Proposals { get; } = proposals;

    internal static IsakmpSaPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = Reader(body.Span, "SA payload");
        var doi = (Doi)r.ReadUInt32();
        if (doi != Doi.IpsecDoi)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.DoiNotSupported, $"DOI {(uint)doi} is not supported");
        }

        var situation = r.ReadUInt32();
        if ((situation & ~(uint)IpsecSituation.IdentityOnly) != 0)
        {
            // RFC 2407 §4.2: secrecy and integrity situations carry labelled-domain data we do not support.
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.SituationNotSupported, $"situation 0x{situation:x} is not supported");
        }

        var proposals = new List<IsakmpProposal>();
        var chain = body[r.ReadRest()];
        var next = IsakmpPayloadType.Proposal;
        var offset = 0;
        while (next != IsakmpPayloadType.None)
        {
            if (next != IsakmpPayloadType.Proposal)
            {
                IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.BadProposalSyntax, $"payload {(byte)next} inside an SA payload");
            }

            var (nextField, proposalBody, length) = Substructure(chain, offset, "proposal");
            proposals.Add(IsakmpProposal.Decode(proposalBody));
            next = nextField;
            offset += length;
        }

        if (offset != chain.Length)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.BadProposalSyntax, "bytes after the last proposal");
        }

        return new IsakmpSaPayload(doi, situation, proposals);
    }

    internal static (IsakmpPayloadType Next, ReadOnlyMemory<byte> Body, int Length) Substructure(ReadOnlyMemory<byte> chain, int offset, string what)
    {
        var r = Reader(chain.Span[offset..], what);
        var next = (IsakmpPayloadType)r.ReadByte();
        r.ReadByte();
        int length = r.ReadUInt16();
        if (length < 4)
        {
            r.Fail($"length {length} is shorter than the header");
        }

        r.Skip(length - 4);
        return (next, chain.Slice(offset + 4, length - 4), length);
    }

    public override void WriteBody(ref IsakmpMessageWriter writer)
    {
        writer.WriteUInt32((uint)Doi);
        writer.WriteUInt32(Situation);
        for (var i = 0; i < Proposals.Count; i++)
        {
            Proposals[i].Write(ref writer, i == Proposals.Count - 1);
        }
    }
}

/// <summary>A Proposal payload inside an SA (RFC 2408 §3.5). Proposals with the same number form a logical AND (RFC 2408 §4.2).</summary>
public sealed class IsakmpProposal(byte number, IsakmpProtocolId protocol, ReadOnlyMemory<byte> spi, List<IsakmpTransform> transforms)
{
    public byte Number { get; } = number;

    public IsakmpProtocolId Protocol { get; } = protocol;

    public ReadOnlyMemory<byte> Spi { get; } = spi;

    public List<IsakmpTransform> Transforms { get; } = transforms;

    internal static IsakmpProposal Decode(ReadOnlyMemory<byte> body)
    {
        var r = IsakmpPayload.Reader(body.Span, "proposal");
        var number = r.ReadByte();
        var protocol = (IsakmpProtocolId)r.ReadByte();
        var spiSize = r.ReadByte();
        var count = r.ReadByte();
        var spi = body[r.ReadRange(spiSize)];
        var chain = body[r.ReadRest()];
        var transforms = new List<IsakmpTransform>(count);
        var offset = 0;
        var next = count == 0 ? IsakmpPayloadType.None : IsakmpPayloadType.Transform;
        while (next != IsakmpPayloadType.None)
        {
            if (next != IsakmpPayloadType.Transform)
            {
                IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.BadProposalSyntax, $"payload {(byte)next} inside a proposal");
            }

            var (nextField, tBody, length) = IsakmpSaPayload.Substructure(chain, offset, "transform");
            transforms.Add(IsakmpTransform.Decode(tBody));
            next = nextField;
            offset += length;
        }

        if (transforms.Count != count || offset != chain.Length)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.BadProposalSyntax, $"proposal announces {count} transforms, carries {transforms.Count}");
        }

        return new IsakmpProposal(number, protocol, spi, transforms);
    }

    internal void Write(ref IsakmpMessageWriter writer, bool last)
    {
        var start = writer.BeginLength();
        writer.WriteByte(last ? (byte)IsakmpPayloadType.None : (byte)IsakmpPayloadType.Proposal);
        writer.WriteByte(0);
        writer.WriteUInt16(0);
        writer.WriteByte(Number);
        writer.WriteByte((byte)Protocol);
        writer.WriteByte(checked((byte)Spi.Length));
        writer.WriteByte(checked((byte)Transforms.Count));
        writer.WriteBytes(Spi.Span);
        for (var i = 0; i < Transforms.Count; i++)
        {
            Transforms[i].Write(ref writer, i == Transforms.Count - 1);
        }

        writer.EndLength(start, 2);
    }
}

/// <summary>A Transform payload (RFC 2408 §3.6) with its SA attributes.</summary>
public sealed class IsakmpTransform(byte number, byte transformId, List<DataAttribute> attributes)
{
    public byte Number { get; } = number;

    public byte TransformId { get; } = transformId;

    public List<DataAttribute> Attributes { get; } = attributes;

    public DataAttribute? Find(ushort type) => Attributes.Find(a => a.Type == type);

    internal static IsakmpTransform Decode(ReadOnlyMemory<byte> body)
    {
        var r = IsakmpPayload.Reader(body.Span, "transform");
        var number = r.ReadByte();
        var id = r.ReadByte();
        r.Skip(2);
        return new IsakmpTransform(number, id, DataAttribute.DecodeList(body[r.ReadRest()]));
    }

    internal void Write(ref IsakmpMessageWriter writer, bool last)
    {
        var start = writer.BeginLength();
        writer.WriteByte(last ? (byte)IsakmpPayloadType.None : (byte)IsakmpPayloadType.Transform);
        writer.WriteByte(0);
        writer.WriteUInt16(0);
        writer.WriteByte(Number);
        writer.WriteByte(TransformId);
        writer.WriteUInt16(0);
        foreach (var a in Attributes)
        {
            a.Write(ref writer);
        }

        writer.EndLength(start, 2);
    }
}
