using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Ikev2;

/// <summary>Malformed payload chains: each must raise the one protocol exception with the RFC-mandated answer.</summary>
public class Ikev2MalformedTests
{
    public static TheoryData<string, byte, string, NotifyType> Malformed => new()
    {
        { "generic header truncated", 40, "0000", NotifyType.InvalidSyntax },
        { "payload length below 4", 40, "00000003", NotifyType.InvalidSyntax },
        { "payload length overruns the message", 40, "00000020 0011", NotifyType.InvalidSyntax },
        { "bytes after the last payload", 40, "00000014 000102030405060708090a0b0c0d0e0f ff", NotifyType.InvalidSyntax },
        { "nonce of 15 bytes", 40, "00000013" + Repeat("01", 15), NotifyType.InvalidSyntax },
        { "nonce of 257 bytes", 40, "00000105" + Repeat("01", 257), NotifyType.InvalidSyntax },
        { "unknown critical payload", 200, "00800004", NotifyType.UnsupportedCriticalPayload },
        { "next payload loops onto itself until the data ends", 40, "28000014 000102030405060708090a0b0c0d0e0f", NotifyType.InvalidSyntax },
        { "SK payload is not last", 46, "23000008 01020304 00000004", NotifyType.InvalidSyntax },
        { "KE shorter than its fixed part", 34, "00000006 001f", NotifyType.InvalidSyntax },
        { "ID shorter than its fixed part", 35, "00000006 0200", NotifyType.InvalidSyntax },
        { "ID_IPV4_ADDR of 3 bytes", 36, "0000000b 01000000 c00002", NotifyType.InvalidSyntax },
        { "ID_IPV6_ADDR of 4 bytes", 36, "0000000c 05000000 c0000201", NotifyType.InvalidSyntax },
        { "AUTH without method", 39, "00000004", NotifyType.InvalidSyntax },
        { "Notify SPI size overruns", 41, "0000000c 03084009 12345678", NotifyType.InvalidSyntax },
        { "Notify shorter than its fixed part", 41, "00000007 000040", NotifyType.InvalidSyntax },
        { "Delete count larger than the SPIs present", 42, "0000000c 03040002 11111111", NotifyType.InvalidSyntax },
        { "Delete with bytes beyond the SPIs", 42, "0000000d 03040001 11111111 22", NotifyType.InvalidSyntax },
        { "Delete of IKE SA carrying an SPI", 42, "0000000c 01040001 11111111", NotifyType.InvalidSyntax },
        { "TS with zero selectors", 44, "00000008 00000000", NotifyType.InvalidSyntax },
        { "TS count larger than the selectors present", 44, "00000018 02000000 07060010 0000ffff c6336400 c63364ff", NotifyType.InvalidSyntax },
        { "IPv4 selector length 12", 44, "00000014 01000000 0706000c 0000ffff c6336400", NotifyType.InvalidSyntax },
        { "IPv6 selector length 16", 45, "00000018 01000000 08000010 0000ffff c6336400 c63364ff", NotifyType.InvalidSyntax },
        { "selector length below 4", 44, "0000000c 01000000 07060002", NotifyType.InvalidSyntax },
        { "SA without proposals", 33, "00000004", NotifyType.InvalidSyntax },
        { "only proposal marked 'more'", 33, "00000014 02000010 01010001 00000008 0400001f", NotifyType.InvalidSyntax },
        { "proposal Last Substruc 1", 33, "00000014 01000010 01010001 00000008 0400001f", NotifyType.InvalidSyntax },
        { "proposal length below 8", 33, "0000000c 00000004 01010001", NotifyType.InvalidSyntax },
        { "proposal announces 2 transforms, carries 1", 33, "00000014 00000010 01010002 00000008 0400001f", NotifyType.InvalidSyntax },
        { "proposal without transforms", 33, "0000000c 00000008 01010000", NotifyType.InvalidSyntax },
        { "transform length below 8", 33, "00000014 00000010 01010001 00000004 0400001f", NotifyType.InvalidSyntax },
        { "TLV attribute overruns its transform", 33, "00000018 00000014 01010001 0000000c 01000014 000e0004", NotifyType.InvalidSyntax },
        { "TV attribute truncated", 33, "00000016 00000012 01010001 0000000a 01000014 800e", NotifyType.InvalidSyntax },
        { "SPI size overruns the proposal", 33, "00000014 00000010 01030801 00000008 0400001f", NotifyType.InvalidSyntax },
        { "SKF fragment number 0", 53, "21000010 00000003 0102030405060708", NotifyType.InvalidSyntax },
        { "SKF number above total", 53, "21000010 00040003 0102030405060708", NotifyType.InvalidSyntax },
        { "SKF non-first fragment names an inner payload", 53, "21000010 00020003 0102030405060708", NotifyType.InvalidSyntax },
        { "SKF without fragment fields", 53, "21000006 0001", NotifyType.InvalidSyntax },
        { "EAP length differs from payload", 48, "0000000d 020100080175736572", NotifyType.InvalidSyntax },
        { "EAP unknown code", 48, "00000008 05010004", NotifyType.InvalidSyntax },
        { "EAP request without type", 48, "00000008 01010004", NotifyType.InvalidSyntax },
        { "EAP success with data", 48, "00000009 0301000500", NotifyType.InvalidSyntax },
        { "CP attribute overruns", 47, "0000000c 01000000 00010004", NotifyType.InvalidSyntax },
        { "CERT without encoding", 37, "00000004", NotifyType.InvalidSyntax },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Rejects_WithTheMandatedNotify(string description, byte first, string hex, NotifyType expected)
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IkeMessage.DecodePayloads((PayloadType)first, Parse(hex)));
        Assert.True(ex.Action == ProtocolErrorAction.NotifyV2, description);
        Assert.Equal(expected, ex.Notify);
    }

    [Fact]
    public void UnsupportedCriticalPayload_CarriesThePayloadType()
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IkeMessage.DecodePayloads(PayloadType.Nonce, Parse("c8000014 000102030405060708090a0b0c0d0e0f 00800004")));
        Assert.Equal(NotifyType.UnsupportedCriticalPayload, ex.Notify);
        Assert.Equal(new byte[] { 200 }, ex.NotifyData);
    }
}
