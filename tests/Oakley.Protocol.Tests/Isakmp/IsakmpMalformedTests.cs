using Oakley.Iana;
using Oakley.Protocol.Isakmp;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Isakmp;

public class IsakmpMalformedTests
{
    public static TheoryData<string, byte, string, IsakmpNotifyType> Malformed => new()
    {
        { "unknown payload type", 99, "00000004", IsakmpNotifyType.InvalidPayloadType },
        { "Proposal payload outside an SA", 2, "00000008 01010000", IsakmpNotifyType.InvalidPayloadType },
        { "header truncated", 10, "0000", IsakmpNotifyType.PayloadMalformed },
        { "length below 4", 10, "00000002", IsakmpNotifyType.PayloadMalformed },
        { "length overruns", 10, "00000040 0102", IsakmpNotifyType.PayloadMalformed },
        { "chain points to an unknown type", 10, "63000008 01020304 00000004", IsakmpNotifyType.InvalidPayloadType },
        { "SA with ISAKMP DOI 0", 1, "0000000c 00000000 00000001", IsakmpNotifyType.DoiNotSupported },
        { "SA with secrecy situation", 1, "0000000c 00000001 00000002", IsakmpNotifyType.SituationNotSupported },
        { "SA truncated before situation", 1, "00000008 00000001", IsakmpNotifyType.PayloadMalformed },
        { "SA chains a non-proposal", 1, "0000001c 00000001 00000001 0a000010 01010001 00000008 01010000", IsakmpNotifyType.BadProposalSyntax },
        { "proposal announces 2 transforms, carries 1", 1, "00000020 00000001 00000001 00000014 01010002 0000000c 01010000 80010007", IsakmpNotifyType.BadProposalSyntax },
        { "proposal with transform count 0 but transform bytes", 1, "00000020 00000001 00000001 00000014 01010000 0000000c 01010000 80010007", IsakmpNotifyType.BadProposalSyntax },
        { "transform attribute truncated", 1, "0000001e 00000001 00000001 00000012 01010001 0000000a 01010000 8001", IsakmpNotifyType.PayloadMalformed },
        { "variable attribute overruns", 1, "00000020 00000001 00000001 00000014 01010001 0000000c 01010000 000c0008", IsakmpNotifyType.PayloadMalformed },
        { "proposal length below 4", 1, "00000010 00000001 00000001 00000002", IsakmpNotifyType.PayloadMalformed },
        { "ID IPv4 of 3 bytes", 5, "0000000b 01000000 c00002", IsakmpNotifyType.InvalidIdInformation },
        { "ID IPv4 subnet of 4 bytes", 5, "0000000c 04000000 c6336400", IsakmpNotifyType.InvalidIdInformation },
        { "ID without its DOI fields", 5, "00000006 0100", IsakmpNotifyType.PayloadMalformed },
        { "N truncated", 11, "00000008 00000001", IsakmpNotifyType.PayloadMalformed },
        { "N SPI size overruns", 11, "0000000e 00000001 01106002 0000", IsakmpNotifyType.PayloadMalformed },
        { "D count mismatch", 12, "00000010 00000001 03040002 11223344", IsakmpNotifyType.PayloadMalformed },
        { "NAT-OA with a 16-byte IPv4", 21, "00000018 01000000" + Repeat("00", 16), IsakmpNotifyType.PayloadMalformed },
        { "NAT-OA with an FQDN", 21, "0000000c 02000000 61626364", IsakmpNotifyType.PayloadMalformed },
        { "fragment number 0", 132, "00000010 00010001 0102030405060708", IsakmpNotifyType.PayloadMalformed },
        { "mode-cfg attribute overruns", 14, "0000000c 01000001 00010004", IsakmpNotifyType.PayloadMalformed },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Rejects_WithTheMandatedNotify(string description, byte first, string hex, IsakmpNotifyType expected)
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IsakmpMessage.DecodePayloads((IsakmpPayloadType)first, Parse(hex)).Count);
        Assert.True(ex.Action == ProtocolErrorAction.NotifyV1, description);
        Assert.Equal(expected, ex.IsakmpNotify);
    }

    [Fact]
    public void UnencryptedMessage_WithTrailingBytes_IsRejected()
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IsakmpMessage.Decode(Parse("1111111111111111 0000000000000000 0a 10 02 00 00000000 00000025 00000008 01020304 ff")));
        Assert.Equal(IsakmpNotifyType.UnequalPayloadLengths, ex.IsakmpNotify);
    }

    [Theory]
    [InlineData("20")]
    [InlineData("00")]
    public void WrongMajorVersion_IsAnswered(string version)
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IsakmpMessage.Decode(Parse($"1111111111111111 0000000000000000 00 {version} 02 00 00000000 0000001c")));
        Assert.Equal(IsakmpNotifyType.InvalidMajorVersion, ex.IsakmpNotify);
    }

    [Fact]
    public void LengthMismatch_IsUnequalPayloadLengths()
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IsakmpMessage.Decode(Parse("1111111111111111 0000000000000000 00 10 02 00 00000000 00000020")));
        Assert.Equal(IsakmpNotifyType.UnequalPayloadLengths, ex.IsakmpNotify);
    }

    [Fact]
    public void ShortDatagram_IsDropped() =>
        Assert.True(Assert.Throws<IkeProtocolException>(() => IsakmpMessage.Decode(Parse("11111111"))).IsDrop);
}
