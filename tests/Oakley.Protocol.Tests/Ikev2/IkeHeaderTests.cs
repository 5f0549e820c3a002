using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Ikev2;

public class IkeHeaderTests
{
    // SPIi 0102030405060708, SPIr 0, next payload Nonce, version 2.0, IKE_SA_INIT, flags I, message ID 0.
    private const string InitHeader = "0102030405060708 0000000000000000 28 20 22 08 00000000 00000030";
    private const string Nonce = "00000014 000102030405060708090a0b0c0d0e0f";

    [Fact]
    public void Reads_AllFields()
    {
        var m = IkeMessage.Decode(Parse(InitHeader + Nonce));
        Assert.Equal(0x0102030405060708UL, m.InitiatorSpi);
        Assert.Equal(0UL, m.ResponderSpi);
        Assert.Equal((2, 0), (m.MajorVersion, m.MinorVersion));
        Assert.Equal(ExchangeType.IkeSaInit, m.ExchangeType);
        Assert.Equal(IkeHeaderFlags.Initiator, m.Flags);
        Assert.True(m.IsInitiator);
        Assert.False(m.IsResponse);
        Assert.IsType<NoncePayload>(Assert.Single(m.Payloads));
        Assert.Equal(Of(Parse(InitHeader + Nonce)), Of(m.Encode()));
    }

    [Fact]
    public void HigherMinorVersion_IsAccepted_AndPreserved()
    {
        var bytes = Parse("0102030405060708 0000000000000000 00 21 25 20 00000007 0000001c");
        var m = IkeMessage.Decode(bytes);
        Assert.Equal(1, m.MinorVersion);
        Assert.Equal(7u, m.MessageId);
        Assert.True(m.IsResponse);
        Assert.Equal(Of(bytes), Of(m.Encode()));
    }

    [Theory]
    [InlineData("10")]
    [InlineData("30")]
    [InlineData("f0")]
    public void OtherMajorVersions_AreAnsweredWithInvalidMajorVersion(string version)
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IkeMessage.Decode(Parse($"0102030405060708 0000000000000000 00 {version} 22 08 00000000 0000001c")));
        Assert.Equal(NotifyType.InvalidMajorVersion, ex.Notify);
    }

    [Theory]
    [InlineData("0000001d")] // says one byte more than the datagram
    [InlineData("0000001b")] // says one byte less
    [InlineData("ffffffff")]
    public void LengthMismatch_IsDropped(string length)
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IkeMessage.Decode(Parse($"0102030405060708 0000000000000000 00 20 22 08 00000000 {length}")));
        Assert.True(ex.IsDrop);
    }

    [Fact]
    public void ShortDatagram_IsDropped()
    {
        var ex = Assert.Throws<IkeProtocolException>(() => IkeMessage.Decode(Parse("0102030405060708 0000000000000000 00 20 22")));
        Assert.True(ex.IsDrop);
    }

    [Fact]
    public void ReservedFlagBits_AreIgnored()
    {
        var m = IkeMessage.Decode(Parse("0102030405060708 0000000000000000 00 20 22 8b 00000000 0000001c"));
        Assert.True(m.IsInitiator);
    }

    [Fact]
    public void Writer_BackPatchesLengthsAndLinks()
    {
        var buffer = new byte[128];
        var w = new IkeMessageWriter(buffer);
        w.WriteHeader(new IkeHeader(1, 2, PayloadType.None, 2, 0, ExchangeType.Informational, IkeHeaderFlags.Initiator, 5, 0));
        w.BeginPayload(PayloadType.Notify);
        w.WriteByte(0);
        w.WriteByte(0);
        w.WriteUInt16((ushort)NotifyType.InitialContact);
        w.EndPayload();
        w.BeginPayload(PayloadType.VendorId);
        w.WriteBytes([0xAB, 0xCD]);
        w.EndPayload();
        w.CompleteHeader();
        Assert.Equal("0000000000000001 0000000000000002 29 20 25 08 00000005 0000002a 2b000008 00004000 00000006 abcd".Replace(" ", string.Empty),
            Of(buffer.AsSpan(0, w.Position)));
    }

    [Fact]
    public void Writer_TooSmallBuffer_IsACallerBug()
    {
        var m = new IkeMessage { ExchangeType = ExchangeType.Informational };
        m.Payloads.Add(new VendorIdPayload(new byte[100]));
        Assert.Throws<ArgumentException>(() => m.EncodeTo(new byte[64]));
    }
}
