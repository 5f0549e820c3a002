using System.Buffers.Binary;
using Oakley.Iana;

namespace Oakley.Protocol.Isakmp;

/// <summary>One ISAKMP payload as the chain reader yields it (the body is a slice).</summary>
public readonly ref struct IsakmpRawPayload(IsakmpPayloadType type, ReadOnlySpan<byte> body, int offset)
{
    public IsakmpPayloadType Type { get; } = type;

    public ReadOnlySpan<byte> Body { get; } = body;

    /// <summary>Offset of the generic header within the walked span.</summary>
    public int Offset { get; } = offset;
}

/// <summary>
/// Walks a chain of ISAKMP payloads (RFC 2408 §3.2).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ! Next Payload  !   RESERVED    !         Payload Length        !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// ISAKMP has no critical bit: an unknown payload type is INVALID-PAYLOAD-TYPE (RFC 2408 §5.1). The RESERVED
/// octet is ignored on receipt (senders set it to zero). Each payload consumes at least 4 bytes, so the
/// loop is bounded by the data length. When <paramref name="allowTrailing"/> is set (a decrypted body),
/// bytes after the last payload are the cipher's padding (RFC 2409 §5.3) and are ignored.
/// </summary>
public ref struct IsakmpPayloadReader(IsakmpPayloadType first, ReadOnlySpan<byte> data, bool allowTrailing = false)
{
    public const int GenericHeaderSize = 4;

    private readonly ReadOnlySpan<byte> _data = data;
    private IsakmpPayloadType _next = first;
    private int _offset;

    public bool TryRead(out IsakmpRawPayload payload)
    {
        if (_next == IsakmpPayloadType.None)
        {
            if (_offset != _data.Length && !allowTrailing)
            {
                IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.UnequalPayloadLengths, $"{_data.Length - _offset} bytes follow the last payload");
            }

            payload = default;
            return false;
        }

        if (!IsKnown(_next))
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.InvalidPayloadType, $"unknown ISAKMP payload type {(byte)_next}");
        }

        if (_data.Length - _offset < GenericHeaderSize)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.PayloadMalformed, $"payload {(byte)_next} header truncated at offset {_offset}");
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(_data[(_offset + 2)..]);
        if (length < GenericHeaderSize || length > _data.Length - _offset)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.PayloadMalformed, $"payload {(byte)_next} length {length} is invalid at offset {_offset}");
        }

        var type = _next;
        var start = _offset;
        _next = (IsakmpPayloadType)_data[_offset];
        _offset += length;
        payload = new IsakmpRawPayload(type, _data.Slice(start + GenericHeaderSize, length - GenericHeaderSize), start);
        return true;
    }

    /// <summary>Payload types that may appear in a message chain (Proposal and Transform live inside SA only).</summary>
    public static bool IsKnown(IsakmpPayloadType type) => type switch
    {
        IsakmpPayloadType.SecurityAssociation or IsakmpPayloadType.KeyExchange or IsakmpPayloadType.Identification
            or IsakmpPayloadType.Certificate or IsakmpPayloadType.CertificateRequest or IsakmpPayloadType.Hash
            or IsakmpPayloadType.Signature or IsakmpPayloadType.Nonce or IsakmpPayloadType.Notification
            or IsakmpPayloadType.Delete or IsakmpPayloadType.VendorId or IsakmpPayloadType.Attribute
            or IsakmpPayloadType.NatDiscovery or IsakmpPayloadType.NatOriginalAddress
            or IsakmpPayloadType.NatDiscoveryDraft or IsakmpPayloadType.NatOriginalAddressDraft
            or IsakmpPayloadType.Fragment => true,
        _ => false,
    };
}

/// <summary>Writes ISAKMP messages with back-patched lengths and next-payload links (the layout matches IKEv2's).</summary>
public ref struct IsakmpMessageWriter(Span<byte> buffer)
{
    private Ikev2.IkeMessageWriter _inner = new(buffer);

    public readonly int Position => _inner.Position;

    public readonly IsakmpPayloadType FirstPayload => (IsakmpPayloadType)(byte)_inner.FirstPayload;

    public void WriteHeader(in IsakmpHeader header)
    {
        header.Write(_inner.Reserve(IsakmpHeader.Size));
        // Re-use the IKEv2 writer's linking from the header's Next Payload field (same offset).
        _inner.MarkHeaderWritten();
    }

    public void CompleteHeader() => _inner.CompleteHeader();

    public void BeginPayload(IsakmpPayloadType type) => _inner.BeginPayload((Ikev2.PayloadType)(byte)type);

    public void EndPayload() => _inner.EndPayload();

    public readonly int BeginLength() => _inner.BeginLength();

    public readonly void EndLength(int start, int fieldOffset) => _inner.EndLength(start, fieldOffset);

    public void WriteByte(byte value) => _inner.WriteByte(value);

    public void WriteUInt16(ushort value) => _inner.WriteUInt16(value);

    public void WriteUInt32(uint value) => _inner.WriteUInt32(value);

    public void WriteZeros(int count) => _inner.WriteZeros(count);

    public void WriteBytes(ReadOnlySpan<byte> bytes) => _inner.WriteBytes(bytes);

    /// <summary>Appends raw bytes (an already-encrypted body).</summary>
    public Span<byte> Reserve(int count) => _inner.Reserve(count);
}
