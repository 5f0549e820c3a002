using System.Buffers.Binary;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>Small pieces several tasks share: SPI bytes, KE retries, the nonce tie-break, and the common checks of a CREATE_CHILD_SA request.</summary>
internal static class ExchangeHelpers
{
    public static byte[] SpiBytes(uint spi)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, spi);
        return b;
    }

    public static byte[] SpiBytes(ulong spi)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, spi);
        return b;
    }

    /// <summary>In IKE_AUTH the first CHILD SA never carries a KE (RFC 7296 §1.2): drop PFS groups from ESP proposals.</summary>
    public static AlgorithmProposal StripKe(AlgorithmProposal p) =>
        new(p.Protocol, p.Transforms.Where(t => t.Type != TransformType.KeyExchange));

    /// <summary>RFC 7296 §1.3 / §1.2: INVALID_KE_PAYLOAD naming the group we selected.</summary>
    public static NotifyPayload InvalidKe(KeId group)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)group);
        return new NotifyPayload(NotifyType.InvalidKePayload, data);
    }

    /// <summary>The group an INVALID_KE_PAYLOAD in a response asks for, if it is one we offered (else null: a failure).</summary>
    public static KeId? RequestedGroup(List<IkePayload> payloads, IEnumerable<AlgorithmProposal> offered)
    {
        if (payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.InvalidKePayload) is not { Data.Length: 2 } invalidKe)
        {
            return null;
        }

        var wanted = (KeId)BinaryPrimitives.ReadUInt16BigEndian(invalidKe.Data.Span);
        return offered.Any(p => p.OfType(TransformType.KeyExchange).Any(t => t.Id == (ushort)wanted)) ? wanted : null;
    }

    /// <summary>The lower of two nonces (the tie-break of simultaneous rekeys, RFC 7296 §2.8.1, §2.8.2).</summary>
    public static byte[] Lowest(byte[] a, byte[] b) => a.AsSpan().SequenceCompareTo(b) <= 0 ? a : b;

    /// <summary>Whether the exchange created with nonces (a, b) loses against the one created with (c, d): it holds the lowest nonce.</summary>
    public static bool Loses(byte[] a, byte[] b, byte[] c, byte[] d) => Lowest(a, b).AsSpan().SequenceCompareTo(Lowest(c, d)) < 0;

    /// <summary>The first error notify of a response (types below 16384), if any.</summary>
    public static NotifyPayload? Error(List<IkePayload> payloads) => payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());

    /// <summary>
    /// The checks every CREATE_CHILD_SA request shares (CHILD SA, CHILD rekey, IKE rekey): its nonce, required by
    /// RFC 7296 §1.3 (INVALID_SYNTAX without), and whether this SA may take it now. It may not while the IKE SA is
    /// being rekeyed (ours in flight, rekeyed away, or a collision undecided; §2.25.2), and an IKE rekey also not while
    /// a CHILD SA of ours is being created, rekeyed or closed (§2.25.1). Returns the nonce, or null with
    /// TEMPORARY_FAILURE as the answer.
    /// </summary>
    public static NoncePayload? CheckCreateChild(IkeSa sa, List<IkePayload> request, bool ikeRekey, out NotifyPayload? refusal)
    {
        // Our own IKE rekey in flight is no reason to refuse the peer's: that collision is decided by the nonces.
        var busy = ikeRekey
            ? sa.InIkeRekey || sa.State != IkeSaState.Established || sa.Tasks.ChildExchange is not null || sa.Tasks.DeletingChild is not null
            : sa.Tasks.IkeRekeyActive || sa.InIkeRekey;
        refusal = busy ? new NotifyPayload(NotifyType.TemporaryFailure) : null;
        if (busy && ikeRekey)
        {
            return null;
        }

        var nonce = request.OfType<NoncePayload>().FirstOrDefault()
            ?? throw IkeProtocolException.InvalidSyntax(ikeRekey ? "IKE SA rekey without nonce or KE" : "CREATE_CHILD_SA request without a nonce");
        return busy ? null : nonce;
    }
}
