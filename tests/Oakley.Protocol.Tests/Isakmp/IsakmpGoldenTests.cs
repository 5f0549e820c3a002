using Oakley.Protocol.Isakmp;
using Oakley.Protocol.Isakmp.Payloads;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Isakmp;

/// <summary>ISAKMP payloads assembled by hand from RFC 2408/2407/3947: decode and re-encode byte for byte.</summary>
public class IsakmpGoldenTests
{
    // Phase-1 SA: DOI IPsec, SIT_IDENTITY_ONLY, one proposal (ISAKMP, no SPI, one transform KEY_IKE with
    // AES-128, SHA1, PSK, MODP2048, lifetime 28800 s as a variable attribute).
    public const string Phase1Sa = "0000003c 00000001 00000001 00000030 01010001 00000028 01010000"
        + " 80010007 800e0080 80020002 80030001 8004000e 800b0001 000c0004 00007080";

    public static TheoryData<string, byte, string> Valid => new()
    {
        { "SA, phase 1", 1, Phase1Sa },
        { "SA, phase 2 ESP, two transforms", 1, "00000048 00000001 00000001 0000003c 01030402 aabbccdd"
            + " 03000018 010c0000 80040001 80050002 80060100 80010001"
            + " 00000018 02030000 80040001 80050002 800600c0 80010001" },
        { "KE", 4, "00000008 aabbccdd" },
        { "ID, IPv4 UDP/500", 5, "0000000c 011101f4 c0000201" },
        { "ID, FQDN", 5, "00000011 02000000 612e6578616d706c65" },
        { "ID, IPv4 subnet", 5, "00000010 04000000 c6336400 ffffff00" },
        { "ID, IPv6 range", 5, "00000028 08000000 20010db8000000000000000000000000 20010db800000000000000000000ffff" },
        { "CERT, X.509 signature", 6, "0000000a 04 3003020100" },
        { "CR, X.509 signature, no authority", 7, "00000005 04" },
        { "HASH", 8, "00000018" + Repeat("ab", 20) },
        { "SIG", 9, "00000010" + Repeat("cd", 12) },
        { "NONCE", 10, "00000014" + Repeat("01", 16) },
        { "N, INITIAL-CONTACT with cookies as SPI", 11, "0000001c 00000001 01106002" + Repeat("ee", 16) },
        { "N, DPD R-U-THERE with sequence", 11, "00000020 00000001 01108d28" + Repeat("ee", 16) + "00000001" },
        { "D, one ESP SPI", 12, "00000010 00000001 03040001 11223344" },
        { "VID, RFC 3947", 13, "00000014 4a131c81070358455c5728f20e95452f" },
        { "Attribute, mode-cfg request", 14, "0000000c 01000001 00010000" },
        { "NAT-D", 20, "00000018" + Repeat("99", 20) },
        { "NAT-OA, IPv4", 21, "0000000c 01000000 c0000201" },
        { "NAT-D, draft number", 130, "00000018" + Repeat("99", 20) },
        { "Fragment 2, last", 132, "00000010 00010201 0102030405060708" },
        { "SA then KE then NONCE", 1, Phase1Sa[..1] + "4" + Phase1Sa[2..] + " 0a000008 aabbccdd 00000014" + Repeat("01", 16) },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Decodes_And_ReencodesByteForByte(string description, byte first, string hex)
    {
        var bytes = Parse(hex);
        var payloads = IsakmpMessage.DecodePayloads((IsakmpPayloadType)first, bytes);
        var output = new byte[bytes.Length + 64];
        var n = IsakmpMessage.EncodePayloads(payloads, output, out var firstOut);
        Assert.Equal((IsakmpPayloadType)first, firstOut);
        Assert.True(Of(bytes) == Of(output.AsSpan(0, n)), description);
    }

    [Fact]
    public void Phase1Sa_FieldsAreDecoded()
    {
        var sa = Assert.IsType<IsakmpSaPayload>(Assert.Single(IsakmpMessage.DecodePayloads(IsakmpPayloadType.SecurityAssociation, Parse(Phase1Sa))));
        Assert.Equal(Doi.IpsecDoi, sa.Doi);
        Assert.Equal((uint)IpsecSituation.IdentityOnly, sa.Situation);
        var p = Assert.Single(sa.Proposals);
        Assert.Equal(IsakmpProtocolId.Isakmp, p.Protocol);
        var t = Assert.Single(p.Transforms);
        Assert.Equal((byte)IsakmpTransformId.KeyIke, t.TransformId);
        Assert.Equal((ulong)OakleyEncryption.AesCbc, t.Find((ushort)OakleyAttribute.EncryptionAlgorithm)!.AsInteger());
        Assert.Equal(128UL, t.Find((ushort)OakleyAttribute.KeyLength)!.AsInteger());
        Assert.Equal((ulong)OakleyAuthMethod.PreSharedKey, t.Find((ushort)OakleyAttribute.AuthenticationMethod)!.AsInteger());
        var life = t.Find((ushort)OakleyAttribute.LifeDuration)!;
        Assert.False(life.IsBasic);
        Assert.Equal(28800UL, life.AsInteger());
    }

    [Fact]
    public void Message_WithHeader_RoundTrips()
    {
        var hex = "1111111111111111 0000000000000000 01 10 02 00 00000000 00000058" + Phase1Sa;
        var m = IsakmpMessage.Decode(Parse(hex));
        Assert.Equal(IsakmpExchangeType.IdentityProtection, m.ExchangeType);
        Assert.Equal((1, 0), (m.MajorVersion, m.MinorVersion));
        Assert.IsType<IsakmpSaPayload>(Assert.Single(m.Payloads));
        Assert.Equal(Of(Parse(hex)), Of(m.Encode()));
    }

    [Fact]
    public void EncryptedMessage_KeepsTheCiphertextOpaque()
    {
        var hex = "1111111111111111 2222222222222222 08 10 20 01 01020304 0000002c 00112233445566778899aabbccddeeff";
        var m = IsakmpMessage.Decode(Parse(hex));
        Assert.True(m.IsEncrypted);
        Assert.Empty(m.Payloads);
        Assert.Equal(IsakmpPayloadType.Hash, m.FirstPayload);
        Assert.Equal(16, m.EncryptedBody.Length);
        Assert.Equal(Of(Parse(hex)), Of(m.Encode()));
    }

    [Fact]
    public void DecryptedBody_IgnoresTrailingPadding()
    {
        var list = IsakmpMessage.DecodePayloads(IsakmpPayloadType.Hash, Parse("00000018" + Repeat("ab", 20) + "00000000000007"));
        Assert.IsType<IsakmpDataPayload>(Assert.Single(list));
    }
}
