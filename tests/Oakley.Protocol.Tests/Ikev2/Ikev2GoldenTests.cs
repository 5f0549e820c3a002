using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Ikev2;

/// <summary>
/// Payload chains assembled by hand from the RFC 7296 / RFC 7383 diagrams: each decodes, and re-encodes
/// byte for byte.
/// </summary>
public class Ikev2GoldenTests
{
    public static TheoryData<string, byte, string> Valid => new()
    {
        { "Nonce, 16 bytes", 40, "00000014 000102030405060708090a0b0c0d0e0f" },
        { "Nonce, 256 bytes (maximum)", 40, "00000104" + Repeat("5a", 256) },
        { "KE, Curve25519", 34, "00000028 001f0000" + Repeat("11", 32) },
        { "IDi, FQDN a.example", 35, "00000011 02000000 612e6578616d706c65" },
        { "IDr, IPv4 192.0.2.1", 36, "0000000c 01000000 c0000201" },
        { "IDi, IPv6 2001:db8::1", 35, "00000018 05000000 20010db8000000000000000000000001" },
        { "IDi, KEY_ID", 35, "0000000d 0b000000 6b65796964" },
        { "AUTH, shared key", 39, "00000028 02000000" + Repeat("aa", 32) },
        { "Notify NAT_DETECTION_SOURCE_IP", 41, "0000001c 00004004" + Repeat("22", 20) },
        { "Notify REKEY_SA with an ESP SPI", 41, "0000000c 03044009 12345678" },
        { "Notify INVALID_KE_PAYLOAD with group 19", 41, "0000000a 00000011 0013" },
        { "Notify IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 §2.3)", 41, "00000008 0000402e" },
        { "Delete, two ESP SPIs", 42, "00000010 03040002 11111111 22222222" },
        { "Delete, IKE SA", 42, "00000008 01000000" },
        { "Vendor ID", 43, "0000000a 4f414b4c4559" },
        { "TSi, IPv4 TCP range", 44, "00000018 01000000 07060010 0000ffff c6336400 c63364ff" },
        { "TSr, IPv6 any", 45, "00000030 01000000 08000028 0000ffff 20010db8000000000000000000000000 20010db800000000000000000000ffff" },
        { "TSi, Fibre Channel selector kept opaque", 44, "00000014 01000000 0900000c 00000000 00ffffff" },
        { "CP request, INTERNAL_IP4_ADDRESS and DNS", 47, "00000010 01000000 00010000 00030000" },
        { "CP reply with an address", 47, "00000010 02000000 00010004 c6336401" },
        { "EAP response, identity 'user'", 48, "0000000d 020100090175736572" },
        { "EAP success", 48, "00000008 03010004" },
        { "CERT, X.509 signature", 37, "0000000a 04 3003020100" },
        { "CERTREQ, one CA hash", 38, "00000019 04" + Repeat("33", 20) },
        { "SA, IKE AEAD proposal (aes256gcm16-prfsha256-x25519)", 33,
            "00000028 00000024 01010003 0300000c 01000014 800e0100 03000008 02000005 00000008 0400001f" },
        { "SA, two ESP proposals with SPI", 33,
            "0000004c 02000028 01030403 aabbccdd 0300000c 0100000c 800e0080 03000008 0300000c 00000008 05000000"
            + " 00000020 02030402 aabbccdd 0300000c 01000014 800e0100 00000008 05000000" },
        { "SA, transform with a TLV attribute", 33, "00000018 00000014 01010001 0000000c 01000014 00200000" },
        { "SK, inner first payload IDi", 46, "23000016 0102030405060708 aabbccddeeff00112233" },
        { "SKF, fragment 1 of 3", 53, "21000010 00010003 0102030405060708" },
        { "SKF, fragment 2 of 3", 53, "00000010 00020003 0102030405060708" },
        { "KE then Nonce", 34, "28000028 001f0000" + Repeat("11", 32) + " 00000014 000102030405060708090a0b0c0d0e0f" },
        { "Notify with critical bit kept", 41, "00800008 00004006" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Decodes_And_ReencodesByteForByte(string description, byte first, string hex)
    {
        var bytes = Parse(hex);
        var payloads = IkeMessage.DecodePayloads((PayloadType)first, bytes);
        Assert.NotEmpty(payloads);
        var output = new byte[bytes.Length + 64];
        var n = IkeMessage.EncodePayloads(payloads, output, out var firstOut);
        Assert.Equal((PayloadType)first, firstOut);
        Assert.True(Of(bytes) == Of(output.AsSpan(0, n)), description);
    }

    [Fact]
    public void SaPayload_FieldsAreDecoded()
    {
        var sa = Assert.IsType<SecurityAssociationPayload>(Assert.Single(IkeMessage.DecodePayloads(PayloadType.SecurityAssociation,
            Parse("0000004c 02000028 01030403 aabbccdd 0300000c 0100000c 800e0080 03000008 0300000c 00000008 05000000"
                + " 00000020 02030402 aabbccdd 0300000c 01000014 800e0100 00000008 05000000"))));
        Assert.Equal(2, sa.Proposals.Count);
        var p1 = sa.Proposals[0];
        Assert.Equal(1, p1.Number);
        Assert.Equal(ProtocolId.Esp, p1.Protocol);
        Assert.Equal("aabbccdd", Of(p1.Spi.Span));
        Assert.Equal(3, p1.Transforms.Count);
        Assert.Equal(TransformType.Encryption, p1.Transforms[0].Type);
        Assert.Equal((ushort)EncrId.AesCbc, p1.Transforms[0].Id);
        Assert.Equal((ushort)128, p1.Transforms[0].KeyLength);
        Assert.Equal((ushort)IntegId.HmacSha2_256_128, p1.Transforms[1].Id);
        Assert.Null(p1.Transforms[1].KeyLength);
        Assert.Equal(TransformType.SequenceNumbers, p1.Transforms[2].Type);
        Assert.Equal((ushort)EncrId.AesGcm16, sa.Proposals[1].Transforms[0].Id);
        Assert.Equal((ushort)256, sa.Proposals[1].Transforms[0].KeyLength);
    }

    [Fact]
    public void TrafficSelector_FieldsAreDecoded()
    {
        var ts = Assert.IsType<TrafficSelectorPayload>(Assert.Single(IkeMessage.DecodePayloads(PayloadType.TrafficSelectorInitiator,
            Parse("00000018 01000000 07060010 0000ffff c6336400 c63364ff"))));
        Assert.True(ts.IsInitiator);
        var s = Assert.Single(ts.Selectors);
        Assert.Equal(TrafficSelectorType.Ipv4AddrRange, s.SelectorType);
        Assert.Equal(6, s.IpProtocol);
        Assert.Equal(0, s.StartPort);
        Assert.Equal(65535, s.EndPort);
        Assert.Equal("c6336400", Of(s.StartAddress.Span));
        Assert.Equal("c63364ff", Of(s.EndAddress.Span));
    }

    [Fact]
    public void FragmentationSupported_IsNotify16430WithoutData()
    {
        var n = Assert.IsType<NotifyPayload>(Assert.Single(IkeMessage.DecodePayloads(PayloadType.Notify, Parse("00000008 0000402e"))));
        Assert.Equal(NotifyType.Ikev2FragmentationSupported, n.NotifyType);
        Assert.Equal(16430, (int)n.NotifyType);
        Assert.True(n.Data.IsEmpty);
        Assert.False(n.NotifyType.IsError());
    }

    [Fact]
    public void Notify_And_Delete_FieldsAreDecoded()
    {
        var list = IkeMessage.DecodePayloads(PayloadType.Notify, Parse("2a00000c 03044009 12345678 00000010 03040002 11111111 22222222"));
        var n = Assert.IsType<NotifyPayload>(list[0]);
        Assert.Equal(NotifyType.RekeySa, n.NotifyType);
        Assert.Equal(ProtocolId.Esp, n.Protocol);
        Assert.Equal("12345678", Of(n.Spi.Span));
        var d = Assert.IsType<DeletePayload>(list[1]);
        Assert.Equal([0x11111111u, 0x22222222u], d.GetSpis32());
    }

    [Fact]
    public void EncryptedPayloads_KeepInnerTypeAndBody()
    {
        var sk = Assert.IsType<EncryptedPayload>(Assert.Single(IkeMessage.DecodePayloads(PayloadType.EncryptedAndAuthenticated, Parse("23000016 0102030405060708 aabbccddeeff00112233"))));
        Assert.Equal(PayloadType.IdentificationInitiator, sk.FirstInnerPayload);
        Assert.Equal(18, sk.Body.Length);
        var skf = Assert.IsType<EncryptedFragmentPayload>(Assert.Single(IkeMessage.DecodePayloads(PayloadType.EncryptedAndAuthenticatedFragment, Parse("21000010 00010003 0102030405060708"))));
        Assert.Equal((1, 3, PayloadType.SecurityAssociation), (skf.FragmentNumber, skf.TotalFragments, skf.FirstInnerPayload));
    }

    [Fact]
    public void UnknownNonCriticalPayload_IsSkipped()
    {
        // Nonce -> type 200 (unknown, not critical) -> Vendor ID.
        var list = IkeMessage.DecodePayloads(PayloadType.Nonce, Parse("c8000014 000102030405060708090a0b0c0d0e0f 2b000008 deadbeef 00000008 4f414b4c"));
        Assert.Collection(list, p => Assert.IsType<NoncePayload>(p), p => Assert.Equal("4f414b4c", Of(Assert.IsType<VendorIdPayload>(p).VendorId.Span)));
    }

    [Fact]
    public void ReservedBitsOfTheGenericHeader_AreIgnoredOnReceipt_AndSentAsZero()
    {
        // RFC 7296 §3.2: RESERVED "MUST be sent as zero; MUST be ignored on receipt". Here all seven are set.
        var payloads = IkeMessage.DecodePayloads(PayloadType.Nonce, Parse("007f0014 000102030405060708090a0b0c0d0e0f"));
        var nonce = Assert.IsType<NoncePayload>(Assert.Single(payloads));
        Assert.False(nonce.Critical);
        var output = new byte[20];
        IkeMessage.EncodePayloads(payloads, output, out _);
        Assert.Equal("00000014000102030405060708090a0b0c0d0e0f", Of(output));
    }

    [Fact]
    public void DecodedBodies_AreSlicesOfTheInput_NotCopies()
    {
        var bytes = Parse("00000014 000102030405060708090a0b0c0d0e0f");
        var nonce = Assert.IsType<NoncePayload>(Assert.Single(IkeMessage.DecodePayloads(PayloadType.Nonce, bytes)));
        bytes[4] = 0xEE;
        Assert.Equal(0xEE, nonce.Nonce.Span[0]);
    }
}
