using System.Buffers.Binary;
using System.Text;

namespace Oakley.Host.Vici;

/// <summary>The VICI packet types (README "Packet layer").</summary>
public enum ViciPacketType : byte
{
    CmdRequest = 0,
    CmdResponse = 1,
    CmdUnknown = 2,
    EventRegister = 3,
    EventUnregister = 4,
    EventConfirm = 5,
    EventUnknown = 6,
    Event = 7,
}

/// <summary>
/// One VICI packet: its type, the name of named types (requests, registrations, events) and the message of those
/// that carry one. On the wire each packet is one transport segment: a 32-bit network-order length, then the data.
/// </summary>
public sealed record ViciPacket(ViciPacketType Type, string? Name = null, ViciSection? Message = null)
{
    /// <summary>strongSwan's segment limit (512 KB); a longer segment closes the connection.</summary>
    public const int MaxSegment = 512 * 1024;

    public static bool IsNamed(ViciPacketType type) =>
        type is ViciPacketType.CmdRequest or ViciPacketType.EventRegister or ViciPacketType.EventUnregister or ViciPacketType.Event;

    public static bool HasMessage(ViciPacketType type) =>
        type is ViciPacketType.CmdRequest or ViciPacketType.CmdResponse or ViciPacketType.Event;

    /// <summary>The segment: length header, type, name, message.</summary>
    public byte[] Encode()
    {
        var name = Name is null ? [] : Encoding.ASCII.GetBytes(Name);
        if (name.Length > byte.MaxValue)
        {
            throw new ArgumentException($"VICI packet name of {name.Length} bytes: at most 255");
        }

        var message = Message is null ? [] : ViciEncoding.Encode(Message);
        var length = 1 + (IsNamed(Type) ? 1 + name.Length : 0) + message.Length;
        if (length > MaxSegment)
        {
            throw new ArgumentException($"VICI segment of {length} bytes exceeds {MaxSegment}");
        }

        var segment = new byte[4 + length];
        BinaryPrimitives.WriteUInt32BigEndian(segment, (uint)length);
        segment[4] = (byte)Type;
        var pos = 5;
        if (IsNamed(Type))
        {
            segment[pos++] = (byte)name.Length;
            name.CopyTo(segment, pos);
            pos += name.Length;
        }

        message.CopyTo(segment, pos);
        return segment;
    }

    /// <summary>Parses one segment's data (without the length header); throws <see cref="ViciFormatException"/>.</summary>
    public static ViciPacket Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            throw new ViciFormatException("empty segment");
        }

        var type = (ViciPacketType)data[0];
        if (type > ViciPacketType.Event)
        {
            throw new ViciFormatException($"unknown packet type {data[0]}");
        }

        var pos = 1;
        string? name = null;
        if (IsNamed(type))
        {
            if (data.Length < 2 || 2 + data[1] > data.Length)
            {
                throw new ViciFormatException("truncated packet name");
            }

            name = ViciEncoding.Ascii(data.Slice(2, data[1]));
            pos = 2 + data[1];
        }

        var message = HasMessage(type) ? ViciEncoding.Decode(data[pos..]) : null;
        return new ViciPacket(type, name, message);
    }

    /// <summary>Reads one segment; null at a clean end of stream. Throws <see cref="ViciFormatException"/> on a bad length.</summary>
    public static async Task<ViciPacket?> ReadAsync(Stream input, CancellationToken cancel, byte[]? firstBytes = null)
    {
        var header = new byte[4];
        var have = 0;
        if (firstBytes is not null)
        {
            firstBytes.CopyTo(header, 0);
            have = firstBytes.Length;
        }

        if (!await FillAsync(input, header.AsMemory(have), cancel).ConfigureAwait(false))
        {
            return have == 0 ? null : throw new ViciFormatException("truncated segment header");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length == 0 || length > MaxSegment)
        {
            throw new ViciFormatException($"segment length {length} (1 to {MaxSegment})");
        }

        var data = new byte[length];
        return await FillAsync(input, data, cancel).ConfigureAwait(false) ? Decode(data) : throw new ViciFormatException("truncated segment");
    }

    private static async Task<bool> FillAsync(Stream input, Memory<byte> buffer, CancellationToken cancel)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await input.ReadAsync(buffer[read..], cancel).ConfigureAwait(false);
            if (n == 0)
            {
                return read == 0 && buffer.Length > 0 ? false : throw new ViciFormatException("truncated segment");
            }

            read += n;
        }

        return true;
    }
}
