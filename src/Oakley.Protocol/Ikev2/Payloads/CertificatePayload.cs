namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Certificate payload (RFC 7296 §3.6): a one-octet encoding followed by the certificate data.
/// </summary>
public sealed class CertificatePayload(CertificateEncoding encoding, ReadOnlyMemory<byte> data) : IkePayload
{
    public override PayloadType Type => PayloadType.Certificate;

    public CertificateEncoding Encoding { get; } = encoding;

    public ReadOnlyMemory<byte> Data { get; } = data;

    internal static CertificatePayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "CERT payload");
        var encoding = (CertificateEncoding)r.ReadByte();
        return new CertificatePayload(encoding, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte((byte)Encoding);
        writer.WriteBytes(Data.Span);
    }
}

/// <summary>
/// Certificate Request payload (RFC 7296 §3.7): an encoding followed by the Certification Authority field
/// (for X.509, a concatenation of 20-byte SHA-1 hashes of trusted CAs' public keys).
/// </summary>
public sealed class CertificateRequestPayload(CertificateEncoding encoding, ReadOnlyMemory<byte> authority) : IkePayload
{
    public override PayloadType Type => PayloadType.CertificateRequest;

    public CertificateEncoding Encoding { get; } = encoding;

    public ReadOnlyMemory<byte> CertificationAuthority { get; } = authority;

    internal static CertificateRequestPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "CERTREQ payload");
        var encoding = (CertificateEncoding)r.ReadByte();
        return new CertificateRequestPayload(encoding, body[r.ReadRest()]);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte((byte)Encoding);
        writer.WriteBytes(CertificationAuthority.Span);
    }
}
