using System.Buffers.Binary;
using Oakley.Iana;

namespace Oakley.Protocol.Ikev2;

/// <summary>IKE header flags (RFC 7296 §3.1). Bits other than these are reserved: sent as zero, ignored on receipt.</summary>
[Flags]
public enum IkeHeaderFlags : byte
{
    None = 0,
    Initiator = 0x08,
    Version = 0x10,
    Response = 0x20,
}

/// <summary>
/// The fixed IKE header (RFC 7296 §3.1).
/// <code>
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IKE SA Initiator's SPI                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IKE SA Responder's SPI                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          Message ID                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                            Length                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly record struct IkeHeader(
    ulong InitiatorSpi,
    ulong ResponderSpi,
    PayloadType NextPayload,
    byte MajorVersion,
    byte MinorVersion,
    ExchangeType ExchangeType,
    IkeHeaderFlags Flags,
    uint MessageId,
    uint Length)
{
    public const int Size = 28;
    public const int NextPayloadOffset = 16;
    public const int LengthOffset = 24;

    public bool IsInitiator => (Flags & IkeHeaderFlags.Initiator) != 0;

    public bool IsResponse => (Flags & IkeHeaderFlags.Response) != 0;

    /// <summary>
    /// Reads and checks the header of a whole datagram. A datagram shorter than the header, or whose Length
    /// field differs from the datagram's length, is dropped: nothing in it can be trusted enough to answer.
    /// A major version other than 2 is answered with INVALID_MAJOR_VERSION (RFC 7296 §1.5, §2.5).
    /// </summary>
    public static IkeHeader Read(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < Size)
        {
            IkeProtocolException.ThrowDrop($"datagram of {datagram.Length} bytes is shorter than the IKE header");
        }

        var header = ReadUnchecked(datagram);
        if (header.MajorVersion != 2)
        {
            throw IkeProtocolException.WithNotify(NotifyType.InvalidMajorVersion, $"IKE major version {header.MajorVersion} is not supported");
        }

        if (header.Length != (uint)datagram.Length)
        {
            IkeProtocolException.ThrowDrop($"IKE header length {header.Length} does not match the datagram length {datagram.Length}");
        }

        return header;
    }

    /// <summary>Reads the 28 header bytes without any check (for routing before validation).</summary>
    public static IkeHeader ReadUnchecked(ReadOnlySpan<byte> buffer)
    {
        var version = buffer[17];
        return new IkeHeader(
            BinaryPrimitives.ReadUInt64BigEndian(buffer),
            BinaryPrimitives.ReadUInt64BigEndian(buffer[8..]),
            (PayloadType)buffer[16],
            (byte)(version >> 4),
            (byte)(version & 0x0F),
            (ExchangeType)buffer[18],
            (IkeHeaderFlags)buffer[19],
            BinaryPrimitives.ReadUInt32BigEndian(buffer[20..]),
            BinaryPrimitives.ReadUInt32BigEndian(buffer[24..]));
    }

    /// <summary>Writes the header; <paramref name="destination"/> must hold 28 bytes.</summary>
    public void Write(Span<byte> destination) =>
        WriteLayout(destination, InitiatorSpi, ResponderSpi, (byte)NextPayload, MajorVersion, MinorVersion, (byte)ExchangeType, (byte)Flags, MessageId, Length);

    /// <summary>The 28-byte layout IKEv2 shares with ISAKMP (RFC 2408 §3.1): SPIs/cookies, next payload, version, exchange, flags, ID, length.</summary>
    internal static void WriteLayout(Span<byte> destination, ulong spiI, ulong spiR, byte next, byte major, byte minor, byte exchange, byte flags, uint messageId, uint length)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("buffer too small for the header", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, spiI);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], spiR);
        destination[16] = next;
        destination[17] = (byte)((major << 4) | (minor & 0x0F));
        destination[18] = exchange;
        destination[19] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], messageId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], length);
    }
}
