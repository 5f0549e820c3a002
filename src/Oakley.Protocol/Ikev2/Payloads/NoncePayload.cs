using Oakley.Iana;

namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>Nonce payload (RFC 7296 §3.9). The nonce MUST be 16 to 256 octets.</summary>
public sealed class NoncePayload(ReadOnlyMemory<byte> nonce) : IkePayload
{
    public const int MinLength = 16;
    public const int MaxLength = 256;

    public override PayloadType Type => PayloadType.Nonce;

    public ReadOnlyMemory<byte> Nonce { get; } = nonce;

    internal static NoncePayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        if (body.Length is < MinLength or > MaxLength)
        {
            // RFC 7296 §3.9: "the size of the Nonce Data MUST be between 16 and 256 octets, inclusive".
            IkeProtocolException.ThrowInvalidSyntax($"Nonce payload: nonce of {body.Length} bytes is outside 16..256");
        }

        return new NoncePayload(body);
    }

    public override void WriteBody(ref IkeMessageWriter writer) => writer.WriteBytes(Nonce.Span);
}

/// <summary>Vendor ID payload (RFC 7296 §3.12): opaque bytes.</summary>
public sealed class VendorIdPayload(ReadOnlyMemory<byte> vendorId) : IkePayload
{
    public override PayloadType Type => PayloadType.VendorId;

    public ReadOnlyMemory<byte> VendorId { get; } = vendorId;

    public override void WriteBody(ref IkeMessageWriter writer) => writer.WriteBytes(VendorId.Span);
}
