using System.Buffers;
using Oakley.Iana;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Protocol.Ikev2;

/// <summary>
/// A whole IKEv2 message: header fields and the payload chain. For a protected message the chain ends with
/// an <see cref="EncryptedPayload"/> (or is a single <see cref="EncryptedFragmentPayload"/>) whose body the
/// engine decrypts and hands to <see cref="DecodePayloads"/>.
/// </summary>
public sealed class IkeMessage
{
    public ulong InitiatorSpi { get; set; }

    public ulong ResponderSpi { get; set; }

    public byte MajorVersion { get; set; } = 2;

    public byte MinorVersion { get; set; }

    public ExchangeType ExchangeType { get; set; }

    public IkeHeaderFlags Flags { get; set; }

    public uint MessageId { get; set; }

    public List<IkePayload> Payloads { get; } = [];

    public bool IsResponse => (Flags & IkeHeaderFlags.Response) != 0;

    public bool IsInitiator => (Flags & IkeHeaderFlags.Initiator) != 0;

    /// <summary>Decodes a datagram. Only <see cref="IkeProtocolException"/> escapes, whatever the input.</summary>
    public static IkeMessage Decode(ReadOnlyMemory<byte> datagram)
    {
        var header = IkeHeader.Read(datagram.Span);
        var message = new IkeMessage
        {
            InitiatorSpi = header.InitiatorSpi,
            ResponderSpi = header.ResponderSpi,
            MajorVersion = header.MajorVersion,
            MinorVersion = header.MinorVersion,
            ExchangeType = header.ExchangeType,
            Flags = header.Flags,
            MessageId = header.MessageId,
        };
        DecodeInto(message.Payloads, header.NextPayload, datagram[IkeHeader.Size..]);
        return message;
    }

    /// <summary>Decodes a payload chain, for example the plaintext of an SK payload after padding removal.</summary>
    public static List<IkePayload> DecodePayloads(PayloadType first, ReadOnlyMemory<byte> data)
    {
        var list = new List<IkePayload>();
        DecodeInto(list, first, data);
        return list;
    }

    private static void DecodeInto(List<IkePayload> list, PayloadType first, ReadOnlyMemory<byte> data)
    {
        var reader = new IkePayloadReader(first, data.Span);
        while (reader.TryRead(out var raw))
        {
            var body = data.Slice(raw.Offset + IkePayloadReader.GenericHeaderSize, raw.Body.Length);
            list.Add(IkePayload.Decode(raw.Type, raw.Critical, raw.NextPayload, body));
        }
    }

    public T? Find<T>()
        where T : IkePayload
    {
        foreach (var p in Payloads)
        {
            if (p is T t)
            {
                return t;
            }
        }

        return null;
    }

    public IEnumerable<NotifyPayload> Notifies(NotifyType type)
    {
        // An iterator, not OfType + Where with a capturing lambda: one object per call (several calls per message).
        foreach (var p in Payloads)
        {
            if (p is NotifyPayload n && n.NotifyType == type)
            {
                yield return n;
            }
        }
    }

    /// <summary>Writes header and payloads; returns the message length. Throws <see cref="ArgumentException"/> if the buffer is too small.</summary>
    public int EncodeTo(Span<byte> destination)
    {
        var writer = new IkeMessageWriter(destination);
        writer.WriteHeader(new IkeHeader(InitiatorSpi, ResponderSpi, PayloadType.None, MajorVersion, MinorVersion, ExchangeType, Flags, MessageId, 0));
        WritePayloads(ref writer, Payloads);
        writer.CompleteHeader();
        return writer.Position;
    }

    public byte[] Encode()
    {
        var size = 64 * 1024;
        while (true)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                var length = EncodeTo(buffer);
                return buffer.AsSpan(0, length).ToArray();
            }
            catch (ArgumentException) when (size < 16 * 1024 * 1024)
            {
                size *= 4;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    public int GetEncodedLength() => Encode().Length;

    /// <summary>Encodes a payload chain without a header (the plaintext of an SK payload before padding).</summary>
    public static int EncodePayloads(IReadOnlyList<IkePayload> payloads, Span<byte> destination, out PayloadType first)
    {
        var writer = new IkeMessageWriter(destination);
        WritePayloads(ref writer, payloads);
        first = writer.FirstPayload;
        return writer.Position;
    }

    private static void WritePayloads(ref IkeMessageWriter writer, IReadOnlyList<IkePayload> payloads)
    {
        foreach (var p in payloads)
        {
            writer.BeginPayload(p.Type, p.Critical);
            p.WriteBody(ref writer);
            writer.EndPayload();
        }
    }
}
