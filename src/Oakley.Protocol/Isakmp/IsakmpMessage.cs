using System.Buffers;
using Oakley.Protocol.Isakmp.Payloads;

namespace Oakley.Protocol.Isakmp;

/// <summary>
/// A whole ISAKMP message. When the E flag is set the body after the header is ciphertext
/// (<see cref="EncryptedBody"/>); the engine decrypts it and decodes the plaintext with <see cref="DecodePayloads"/>.
/// </summary>
public sealed class IsakmpMessage
{
    public ulong InitiatorCookie { get; set; }

    public ulong ResponderCookie { get; set; }

    public byte MajorVersion { get; set; } = 1;

    public byte MinorVersion { get; set; }

    public IsakmpExchangeType ExchangeType { get; set; }

    public IsakmpHeaderFlags Flags { get; set; }

    public uint MessageId { get; set; }

    /// <summary>For an encrypted message: the header's Next Payload (the first payload inside the ciphertext).</summary>
    public IsakmpPayloadType FirstPayload { get; set; }

    public List<IsakmpPayload> Payloads { get; } = [];

    /// <summary>The ciphertext when <see cref="IsakmpHeaderFlags.Encryption"/> is set, else empty.</summary>
    public ReadOnlyMemory<byte> EncryptedBody { get; set; }

    public bool IsEncrypted => (Flags & IsakmpHeaderFlags.Encryption) != 0;

    /// <summary>Decodes a datagram; only <see cref="IkeProtocolException"/> escapes.</summary>
    public static IsakmpMessage Decode(ReadOnlyMemory<byte> datagram)
    {
        var h = IsakmpHeader.Read(datagram.Span);
        var m = new IsakmpMessage
        {
            InitiatorCookie = h.InitiatorCookie,
            ResponderCookie = h.ResponderCookie,
            MajorVersion = h.MajorVersion,
            MinorVersion = h.MinorVersion,
            ExchangeType = h.ExchangeType,
            Flags = h.Flags,
            MessageId = h.MessageId,
            FirstPayload = h.NextPayload,
        };
        var body = datagram[IsakmpHeader.Size..];
        if (m.IsEncrypted)
        {
            m.EncryptedBody = body;
            return m;
        }

        DecodeInto(m.Payloads, h.NextPayload, body, allowTrailing: false);
        return m;
    }

    /// <summary>Decodes a decrypted body; trailing cipher padding after the last payload is ignored (RFC 2409 §5.3).</summary>
    public static List<IsakmpPayload> DecodePayloads(IsakmpPayloadType first, ReadOnlyMemory<byte> data)
    {
        var list = new List<IsakmpPayload>();
        DecodeInto(list, first, data, allowTrailing: true);
        return list;
    }

    private static void DecodeInto(List<IsakmpPayload> list, IsakmpPayloadType first, ReadOnlyMemory<byte> data, bool allowTrailing)
    {
        var reader = new IsakmpPayloadReader(first, data.Span, allowTrailing);
        while (reader.TryRead(out var raw))
        {
            list.Add(IsakmpPayload.Decode(raw.Type, data.Slice(raw.Offset + IsakmpPayloadReader.GenericHeaderSize, raw.Body.Length)));
        }
    }

    public int EncodeTo(Span<byte> destination)
    {
        var w = new IsakmpMessageWriter(destination);
        w.WriteHeader(new IsakmpHeader(InitiatorCookie, ResponderCookie, FirstPayload, MajorVersion, MinorVersion, ExchangeType, Flags, MessageId, 0));
        if (IsEncrypted)
        {
            EncryptedBody.Span.CopyTo(w.Reserve(EncryptedBody.Length));
            destination[16] = (byte)FirstPayload; // the first payload inside the ciphertext
        }
        else
        {
            foreach (var p in Payloads)
            {
                w.BeginPayload(p.Type);
                p.WriteBody(ref w);
                w.EndPayload();
            }
        }

        w.CompleteHeader();
        return w.Position;
    }

    public byte[] Encode()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            var n = EncodeTo(buffer);
            return buffer.AsSpan(0, n).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public int GetEncodedLength() => Encode().Length;

    /// <summary>Encodes a payload chain without a header (the plaintext to encrypt, before padding).</summary>
    public static int EncodePayloads(IReadOnlyList<IsakmpPayload> payloads, Span<byte> destination, out IsakmpPayloadType first)
    {
        var w = new IsakmpMessageWriter(destination);
        foreach (var p in payloads)
        {
            w.BeginPayload(p.Type);
            p.WriteBody(ref w);
            w.EndPayload();
        }

        first = w.FirstPayload;
        return w.Position;
    }
}
