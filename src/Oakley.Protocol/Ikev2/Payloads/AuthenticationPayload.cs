namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Authentication payload (RFC 7296 §3.8).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Auth Method   |                RESERVED                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                      Authentication Data                      ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class AuthenticationPayload(AuthMethod method, ReadOnlyMemory<byte> data) : IkePayload
{
    public override PayloadType Type => PayloadType.Authentication;

    public AuthMethod Method { get; } = method;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static AuthenticationPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "AUTH payload");
        var method = (AuthMethod)r.ReadByte();
        r.Skip(3);
        return new AuthenticationPayload(method, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte((byte)Method);
        writer.WriteZeros(3);
        writer.WriteBytes(Data.Span);
    }
}
