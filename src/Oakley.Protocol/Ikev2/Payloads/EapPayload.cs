namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>EAP message codes (RFC 3748 §4).</summary>
public enum EapCode : byte
{
    Request = 1,
    Response = 2,
    Success = 3,
    Failure = 4,
}

/// <summary>
/// Extensible Authentication payload (RFC 7296 §3.16) carrying one EAP message (RFC 3748 §4):
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Code      | Identifier    |           Length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type      | Type_Data...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// Success and Failure have no Type (length 4); requests and responses have at least a Type octet.
/// </summary>
public sealed class EapPayload(ReadOnlyMemory<byte> message) : IkePayload
{
    public override PayloadType Type => PayloadType.ExtensibleAuthentication;

    /// <summary>The whole EAP message, as an EAP method consumes it.</summary>
    public ReadOnlyMemory<byte> Message { get; } = message;

    public EapCode Code => (EapCode)Message.Span[0];

    public byte Identifier => Message.Span[1];

    /// <summary>The EAP method type for requests and responses; 0 for success/failure.</summary>
    public byte EapType => Message.Length > 4 ? Message.Span[4] : (byte)0;

    internal static EapPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "EAP payload");
        var code = (EapCode)r.ReadByte();
        r.ReadByte();
        int length = r.ReadUInt16();
        if (length != body.Length)
        {
            r.Fail($"EAP length {length} differs from the payload body length {body.Length}");
        }

        switch (code)
        {
            case EapCode.Request or EapCode.Response:
                if (length < 5)
                {
                    r.Fail("EAP request/response without a Type");
                }

                break;
            case EapCode.Success or EapCode.Failure:
                if (length != 4)
                {
                    r.Fail("EAP success/failure must be 4 bytes");
                }

                break;
            default:
                r.Fail($"unknown EAP code {(byte)code}");
                break;
        }

        return new EapPayload(body);
    }

    public override void WriteBody(ref IkeMessageWriter writer) => writer.WriteBytes(Message.Span);
}
