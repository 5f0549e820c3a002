using System.Buffers.Binary;
using Oakley.Iana;

namespace Oakley.Protocol.Isakmp;

/// <summary>
/// The ISAKMP header (RFC 2408 §3.1). Same 28-byte layout as IKEv2's, with cookies instead of SPIs and
/// major version 1.
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                          Initiator Cookie                     !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                          Responder Cookie                     !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                          Message ID                           !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// !                            Length                             !
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public readonly record struct IsakmpHeader(
    ulong InitiatorCookie,
    ulong ResponderCookie,
    IsakmpPayloadType NextPayload,
    byte MajorVersion,
    byte MinorVersion,
    IsakmpExchangeType ExchangeType,
    IsakmpHeaderFlags Flags,
    uint MessageId,
    uint Length)
{
    public const int Size = 28;

    /// <summary>
    /// Reads and checks the header of a whole datagram: major version 1 (RFC 2408 §5.2: INVALID-MAJOR-VERSION),
    /// and a Length equal to the datagram length (UNEQUAL-PAYLOAD-LENGTHS).
    /// </summary>
    public static IsakmpHeader Read(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < Size)
        {
            IkeProtocolException.ThrowDrop($"datagram of {datagram.Length} bytes is shorter than the ISAKMP header");
        }

        var version = datagram[17];
        var header = new IsakmpHeader(
            BinaryPrimitives.ReadUInt64BigEndian(datagram),
            BinaryPrimitives.ReadUInt64BigEndian(datagram[8..]),
            (IsakmpPayloadType)datagram[16],
            (byte)(version >> 4),
            (byte)(version & 0x0F),
            (IsakmpExchangeType)datagram[18],
            (IsakmpHeaderFlags)datagram[19],
            BinaryPrimitives.ReadUInt32BigEndian(datagram[20..]),
            BinaryPrimitives.ReadUInt32BigEndian(datagram[24..]));
        if (header.MajorVersion != 1)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.InvalidMajorVersion, $"ISAKMP major version {header.MajorVersion}");
        }

        if (header.Length != (uint)datagram.Length)
        {
            IkeProtocolException.ThrowIsakmp(IsakmpNotifyType.UnequalPayloadLengths, $"ISAKMP length {header.Length} differs from the datagram length {datagram.Length}");
        }

        return header;
    }

    public void Write(Span<byte> destination) =>
        Ikev2.IkeHeader.WriteLayout(destination, InitiatorCookie, ResponderCookie, (byte)NextPayload, MajorVersion, MinorVersion, (byte)ExchangeType, (byte)Flags, MessageId, Length);
}
