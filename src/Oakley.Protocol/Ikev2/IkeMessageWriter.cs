using System.Buffers.Binary;

namespace Oakley.Protocol.Ikev2;

/// <summary>
/// Writes an IKEv2 message or payload chain into a caller's buffer. Payload lengths and the chain of Next
/// Payload fields are back-patched: <see cref="BeginPayload"/> links the new payload into the previous
/// header's Next Payload field, <see cref="EndPayload"/> fills in its length. Nested structures (proposals,
/// transforms, selectors) use <see cref="BeginLength"/>/<see cref="EndLength"/>. A buffer that is too small
/// is a caller bug (<see cref="ArgumentException"/>).
/// </summary>
public ref struct IkeMessageWriter
{
    private readonly Span<byte> _buffer;
    private int _position;
    private int _linkOffset;   // where the next payload's type must be written (-1: nowhere yet)
    private int _payloadStart; // start of the payload being written (-1: none)
    private PayloadType _firstPayload;
    private bool _anyPayload;

    public IkeMessageWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
        _linkOffset = -1;
        _payloadStart = -1;
        _firstPayload = PayloadType.None;
        _anyPayload = false;
    }

    public readonly int Position => _position;

    /// <summary>The type of the first payload written (what an enclosing header or SK payload must name).</summary>
    public readonly PayloadType FirstPayload => _firstPayload;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    /// <summary>Writes the IKE header with a zero length and links the first payload to its Next Payload field.</summary>
    public void WriteHeader(in IkeHeader header)
    {
        if (_position != 0)
        {
            throw new InvalidOperationException("the header must be written first");
        }

        header.Write(Reserve(IkeHeader.Size));
        _buffer[IkeHeader.NextPayloadOffset] = (byte)PayloadType.None;
        _linkOffset = IkeHeader.NextPayloadOffset;
    }

    /// <summary>
    /// Declares that a 28-byte header with the same layout (ISAKMP's) was written through <see cref="Reserve"/>:
    /// payloads will be linked from its Next Payload field.
    /// </summary>
    public void MarkHeaderWritten()
    {
        if (_position != IkeHeader.Size)
        {
            throw new InvalidOperationException("the header must be the first 28 bytes");
        }

        _buffer[IkeHeader.NextPayloadOffset] = 0;
        _linkOffset = IkeHeader.NextPayloadOffset;
    }

    /// <summary>Patches the header's Length field with the bytes written so far.</summary>
    public void CompleteHeader()
    {
        if (_linkOffset < 0 && _position < IkeHeader.Size)
        {
            throw new InvalidOperationException("no header was written");
        }

        BinaryPrimitives.WriteUInt32BigEndian(_buffer[IkeHeader.LengthOffset..], (uint)_position);
    }

    /// <summary>Starts a payload: writes its generic header and links it from the previous one.</summary>
    public void BeginPayload(PayloadType type, bool critical = false)
    {
        if (_payloadStart >= 0)
        {
            throw new InvalidOperationException("the previous payload was not ended");
        }

        if (_linkOffset == -2)
        {
            throw new InvalidOperationException("nothing may follow the Encrypted payload");
        }

        if (!_anyPayload)
        {
            _firstPayload = type;
            _anyPayload = true;
        }

        if (_linkOffset >= 0)
        {
            _buffer[_linkOffset] = (byte)type;
        }

        _payloadStart = _position;
        var h = Reserve(IkePayloadReader.GenericHeaderSize);
        h[0] = (byte)PayloadType.None;
        h[1] = critical ? (byte)0x80 : (byte)0;
        h[2] = 0;
        h[3] = 0;
        _linkOffset = _payloadStart;
    }

    /// <summary>
    /// Sets the Next Payload field of the current payload explicitly (SK/SKF name their first inner payload) and
    /// stops linking: SK must be the last payload.
    /// </summary>
    public void SetInnerNextPayload(PayloadType inner)
    {
        if (_payloadStart < 0)
        {
            throw new InvalidOperationException("no payload is open");
        }

        _buffer[_payloadStart] = (byte)inner;
        _linkOffset = -2;
    }

    public void EndPayload()
    {
        if (_payloadStart < 0)
        {
            throw new InvalidOperationException("no payload is open");
        }

        var length = _position - _payloadStart;
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException($"payload of {length} bytes exceeds the 16-bit length field");
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_payloadStart + 2)..], (ushort)length);
        _payloadStart = -1;
    }

    /// <summary>Remembers where a nested 16-bit length field sits (relative to the structure start at the current position).</summary>
    public readonly int BeginLength() => _position;

    /// <summary>Patches a 16-bit length at <paramref name="start"/> + <paramref name="fieldOffset"/> with the bytes since <paramref name="start"/>.</summary>
    public readonly void EndLength(int start, int fieldOffset)
    {
        var length = _position - start;
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException($"structure of {length} bytes exceeds the 16-bit length field");
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(start + fieldOffset)..], (ushort)length);
    }

    public Span<byte> Reserve(int count)
    {
        if (count < 0 || count > _buffer.Length - _position)
        {
            throw new ArgumentException($"output buffer too small: need {count} more bytes at {_position}, have {_buffer.Length - _position}");
        }

        var span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Reserve(8), value);

    public void WriteZeros(int count) => Reserve(count).Clear();

    public void WriteBytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));
}
