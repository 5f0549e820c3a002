namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Encrypted and Authenticated payload, SK (RFC 7296 §3.14). The codec keeps the body opaque
/// (IV ‖ ciphertext ‖ padding ‖ ICV): splitting and decrypting it needs the negotiated transforms, which is
/// the engine's and crypto layer's job. <see cref="FirstInnerPayload"/> is the SK header's Next Payload.
/// </summary>
public sealed class EncryptedPayload(PayloadType firstInnerPayload, ReadOnlyMemory<byte> body) : IkePayload
{
    public override PayloadType Type => PayloadType.EncryptedAndAuthenticated;

    public PayloadType FirstInnerPayload { get; } = firstInnerPayload;

    public ReadOnlyMemory<byte> Body { get; } = body;

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.SetInnerNextPayload(FirstInnerPayload);
        writer.WriteBytes(Body.Span);
    }
}

/// <summary>
/// Encrypted and Authenticated Fragment payload, SKF (RFC 7383 §2.5).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |        Fragment Number        |        Total Fragments        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Initialization Vector                     |
/// ~                    Encrypted content ... ICV                  ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class EncryptedFragmentPayload(PayloadType firstInnerPayload, ushort fragmentNumber, ushort totalFragments, ReadOnlyMemory<byte> body) : IkePayload
{
    public override PayloadType Type => PayloadType.EncryptedAndAuthenticatedFragment;

    /// <summary>Only the first fragment names the inner payload; the others carry 0 (RFC 7383 §2.5).</summary>
    public PayloadType FirstInnerPayload { get; } = firstInnerPayload;

    public ushort FragmentNumber { get; } = fragmentNumber;

    public ushort TotalFragments { get; } = totalFragments;

    /// <summary>IV ‖ encrypted content ‖ ICV.</summary>
    public ReadOnlyMemory<byte> Body { get; } = body;

    internal static EncryptedFragmentPayload DecodeBody(PayloadType next, ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "SKF payload");
        var number = r.ReadUInt16();
        var total = r.ReadUInt16();
        // RFC 7383 §2.5: numbering starts at 1, and the number must not exceed the total.
        if (number == 0 || total == 0 || number > total)
        {
            r.Fail($"fragment {number} of {total} is out of range");
        }

        if (number != 1 && next != PayloadType.None)
        {
            r.Fail("only the first fragment may name the inner payload");
        }

        return new EncryptedFragmentPayload(next, number, total, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.SetInnerNextPayload(FirstInnerPayload);
        writer.WriteUInt16(FragmentNumber);
        writer.WriteUInt16(TotalFragments);
        writer.WriteBytes(Body.Span);
    }
}
