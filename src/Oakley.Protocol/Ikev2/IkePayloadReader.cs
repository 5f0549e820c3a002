using System.Buffers.Binary;
using Oakley.Iana;

namespace Oakley.Protocol.Ikev2;

/// <summary>One payload as the chain reader yields it: its type, critical bit and body (a slice, never a copy).</summary>
public readonly ref struct RawPayload
{
    public RawPayload(PayloadType type, bool critical, PayloadType nextPayload, ReadOnlySpan<byte> body, int offset)
    {
        Type = type;
        Critical = critical;
        NextPayload = nextPayload;
        Body = body;
        Offset = offset;
    }

    public PayloadType Type { get; }

    public bool Critical { get; }

    /// <summary>The Next Payload field of this payload's generic header (for SK/SKF: the first inner payload).</summary>
    public PayloadType NextPayload { get; }

    public ReadOnlySpan<byte> Body { get; }

    /// <summary>Offset of the generic payload header within the span the reader walks.</summary>
    public int Offset { get; }
}

/// <summary>
/// Walks a chain of IKEv2 payloads (RFC 7296 §3.2) over a span without copying.
/// <code>
///  0                   1                   2                   3
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// Every payload consumes at least its 4-byte header, so the loop is bounded by the span length; a chain
/// that points back at itself simply runs out of bytes. Unknown payload types are skipped unless their
/// critical bit is set, which raises UNSUPPORTED_CRITICAL_PAYLOAD (§2.5). SK and SKF must be last (§3.14,
/// RFC 7383 §2.5): their Next Payload names the first payload inside the ciphertext.
/// </summary>
public ref struct IkePayloadReader
{
    public const int GenericHeaderSize = 4;

    private readonly ReadOnlySpan<byte> _data;
    private PayloadType _next;
    private int _offset;
    private bool _sawEncrypted;

    public IkePayloadReader(PayloadType first, ReadOnlySpan<byte> data)
    {
        _data = data;
        _next = first;
        _offset = 0;
        _sawEncrypted = false;
    }

    /// <summary>Bytes after the last payload (only meaningful once <see cref="TryRead"/> returned false).</summary>
    public readonly int Consumed => _offset;

    /// <summary>Reads the next known payload. Returns false at the end of the chain.</summary>
    public bool TryRead(out RawPayload payload)
    {
        while (true)
        {
            if (_next == PayloadType.None)
            {
                if (_offset != _data.Length)
                {
                    IkeProtocolException.ThrowInvalidSyntax($"{_data.Length - _offset} bytes follow the last payload");
                }

                payload = default;
                return false;
            }

            if (_sawEncrypted)
            {
                IkeProtocolException.ThrowInvalidSyntax("the Encrypted payload must be the last payload");
            }

            if (_data.Length - _offset < GenericHeaderSize)
            {
                IkeProtocolException.ThrowInvalidSyntax($"payload {(byte)_next} header truncated at offset {_offset}");
            }

            var header = _data.Slice(_offset, GenericHeaderSize);
            var type = _next;
            var nextField = (PayloadType)header[0];
            var critical = (header[1] & 0x80) != 0;
            int length = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
            if (length < GenericHeaderSize)
            {
                IkeProtocolException.ThrowInvalidSyntax($"payload {(byte)type} length {length} is shorter than its header");
            }

            if (length > _data.Length - _offset)
            {
                IkeProtocolException.ThrowInvalidSyntax($"payload {(byte)type} length {length} overruns the message");
            }

            var start = _offset;
            var body = _data.Slice(_offset + GenericHeaderSize, length - GenericHeaderSize);
            _offset += length;

            if (type is PayloadType.EncryptedAndAuthenticated or PayloadType.EncryptedAndAuthenticatedFragment)
            {
                // The next-payload field of SK/SKF describes the inner chain; nothing may follow it outside.
                _sawEncrypted = true;
                _next = PayloadType.None;
                if (_offset != _data.Length)
                {
                    IkeProtocolException.ThrowInvalidSyntax("the Encrypted payload must be the last payload");
                }

                payload = new RawPayload(type, critical, nextField, body, start);
                return true;
            }

            _next = nextField;
            if (!IsKnown(type))
            {
                if (critical)
                {
                    throw IkeProtocolException.UnsupportedCriticalPayload((byte)type);
                }

                continue; // RFC 7296 §2.5: skip unknown non-critical payloads.
            }

            payload = new RawPayload(type, critical, nextField, body, start);
            return true;
        }
    }

    /// <summary>Payload types this codec parses. The group-key types of RFC 9838 and GSPM are not implemented.</summary>
    public static bool IsKnown(PayloadType type) => type switch
    {
        >= PayloadType.SecurityAssociation and <= PayloadType.ExtensibleAuthentication => true,
        PayloadType.EncryptedAndAuthenticatedFragment => true,
        _ => false,
    };
}
