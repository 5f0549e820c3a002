using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using Oakley.Iana;
using Oakley.Protocol.Isakmp;

namespace Oakley.Protocol;

/// <summary>
/// A bounds-checked big-endian reader over a payload body. Every read checks the remaining length first
/// and raises the protocol's malformed-message error: INVALID_SYNTAX for IKEv2, PAYLOAD-MALFORMED for ISAKMP.
/// </summary>
public ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly bool _isakmp;
    private readonly string _what;
    private int _offset;

    public WireReader(ReadOnlySpan<byte> data, string what, bool isakmp = false)
    {
        _data = data;
        _what = what;
        _isakmp = isakmp;
        _offset = 0;
    }

    public readonly int Offset => _offset;

    public readonly int Remaining => _data.Length - _offset;

    public readonly bool IsEmpty => _offset == _data.Length;

    public byte ReadByte()
    {
        Need(1);
        return _data[_offset++];
    }

    public ushort ReadUInt16()
    {
        Need(2);
        var v = BinaryPrimitives.ReadUInt16BigEndian(_data[_offset..]);
        _offset += 2;
        return v;
    }

    public uint ReadUInt32()
    {
        Need(4);
        var v = BinaryPrimitives.ReadUInt32BigEndian(_data[_offset..]);
        _offset += 4;
        return v;
    }

    public ulong ReadUInt64()
    {
        Need(8);
        var v = BinaryPrimitives.ReadUInt64BigEndian(_data[_offset..]);
        _offset += 8;
        return v;
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0)
        {
            Fail($"negative length {count}");
        }

        Need(count);
        var s = _data.Slice(_offset, count);
        _offset += count;
        return s;
    }

    /// <summary>Returns the (offset, length) of the next <paramref name="count"/> bytes and skips them, for slicing a Memory.</summary>
    public Range ReadRange(int count)
    {
        var start = _offset;
        ReadBytes(count);
        return new Range(start, start + count);
    }

    public Range ReadRest() => ReadRange(Remaining);

    public void Skip(int count) => ReadBytes(count);

    public readonly void ExpectEnd()
    {
        if (_offset != _data.Length)
        {
            Fail($"{_data.Length - _offset} unexpected trailing bytes");
        }
    }

    private readonly void Need(int count)
    {
        if (count > _data.Length - _offset)
        {
            Fail($"truncated: need {count} bytes at offset {_offset}, have {_data.Length - _offset}");
        }
    }

    [DoesNotReturn]
    public readonly void Fail(string reason)
    {
        var message = $"{_what}: {reason}";
        if (_isakmp)
        {
            throw IkeProtocolException.WithIsakmpNotify(IsakmpNotifyType.PayloadMalformed, message);
        }

        throw IkeProtocolException.InvalidSyntax(message);
    }
}
