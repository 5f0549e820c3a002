using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Iana;

namespace Oakley.Crypto.Tests.Registry;

public class TransformRegistryTests
{
    /// <summary>Every transform the foundation issue lists, with the strongSwan keyword it must carry.</summary>
    public static TheoryData<TransformType, ushort, ushort, string> Required => new()
    {
        { TransformType.Encryption, (ushort)EncrId.AesCbc, 128, "aes128" },
        { TransformType.Encryption, (ushort)EncrId.AesCbc, 192, "aes192" },
        { TransformType.Encryption, (ushort)EncrId.AesCbc, 256, "aes256" },
        { TransformType.Encryption, (ushort)EncrId.AesCtr, 128, "aes128ctr" },
        { TransformType.Encryption, (ushort)EncrId.AesCtr, 256, "aes256ctr" },
        { TransformType.Encryption, (ushort)EncrId.AesGcm8, 128, "aes128gcm8" },
        { TransformType.Encryption, (ushort)EncrId.AesGcm12, 192, "aes192gcm12" },
        { TransformType.Encryption, (ushort)EncrId.AesGcm16, 256, "aes256gcm16" },
        { TransformType.Encryption, (ushort)EncrId.AesCcm8, 128, "aes128ccm8" },
        { TransformType.Encryption, (ushort)EncrId.AesCcm12, 256, "aes256ccm12" },
        { TransformType.Encryption, (ushort)EncrId.AesCcm16, 192, "aes192ccm16" },
        { TransformType.Encryption, (ushort)EncrId.ChaCha20Poly1305, 0, "chacha20poly1305" },
        { TransformType.Encryption, (ushort)EncrId.TripleDes, 0, "3des" },
        { TransformType.Encryption, (ushort)EncrId.Null, 0, "null" },
        { TransformType.PseudoRandomFunction, (ushort)PrfId.HmacMd5, 0, "prfmd5" },
        { TransformType.PseudoRandomFunction, (ushort)PrfId.HmacSha1, 0, "prfsha1" },
        { TransformType.PseudoRandomFunction, (ushort)PrfId.HmacSha2_256, 0, "prfsha256" },
        { TransformType.PseudoRandomFunction, (ushort)PrfId.HmacSha2_384, 0, "prfsha384" },
        { TransformType.PseudoRandomFunction, (ushort)PrfId.HmacSha2_512, 0, "prfsha512" },
        { TransformType.PseudoRandomFunction, (ushort)PrfId.Aes128Xcbc, 0, "prfaesxcbc" },
        { TransformType.PseudoRandomFunction, (ushort)PrfId.Aes128Cmac, 0, "prfaescmac" },
        { TransformType.Integrity, (ushort)IntegId.HmacMd5_96, 0, "md5" },
        { TransformType.Integrity, (ushort)IntegId.HmacSha1_96, 0, "sha1" },
        { TransformType.Integrity, (ushort)IntegId.AesXcbc96, 0, "aesxcbc" },
        { TransformType.Integrity, (ushort)IntegId.AesCmac96, 0, "aescmac" },
        { TransformType.Integrity, (ushort)IntegId.HmacSha2_256_128, 0, "sha256" },
        { TransformType.Integrity, (ushort)IntegId.HmacSha2_384_192, 0, "sha384" },
        { TransformType.Integrity, (ushort)IntegId.HmacSha2_512_256, 0, "sha512" },
        { TransformType.KeyExchange, 1, 0, "modp768" },
        { TransformType.KeyExchange, 2, 0, "modp1024" },
        { TransformType.KeyExchange, 5, 0, "modp1536" },
        { TransformType.KeyExchange, 14, 0, "modp2048" },
        { TransformType.KeyExchange, 15, 0, "modp3072" },
        { TransformType.KeyExchange, 16, 0, "modp4096" },
        { TransformType.KeyExchange, 17, 0, "modp6144" },
        { TransformType.KeyExchange, 18, 0, "modp8192" },
        { TransformType.KeyExchange, 19, 0, "ecp256" },
        { TransformType.KeyExchange, 20, 0, "ecp384" },
        { TransformType.KeyExchange, 21, 0, "ecp521" },
        { TransformType.KeyExchange, 22, 0, "modp1024s160" },
        { TransformType.KeyExchange, 23, 0, "modp2048s224" },
        { TransformType.KeyExchange, 24, 0, "modp2048s256" },
        { TransformType.KeyExchange, 25, 0, "ecp192" },
        { TransformType.KeyExchange, 26, 0, "ecp224" },
        { TransformType.KeyExchange, 27, 0, "ecp224bp" },
        { TransformType.KeyExchange, 28, 0, "ecp256bp" },
        { TransformType.KeyExchange, 29, 0, "ecp384bp" },
        { TransformType.KeyExchange, 30, 0, "ecp512bp" },
        { TransformType.KeyExchange, 31, 0, "curve25519" },
        { TransformType.KeyExchange, 32, 0, "curve448" },
        { TransformType.KeyExchange, 35, 0, "mlkem512" },
        { TransformType.KeyExchange, 36, 0, "mlkem768" },
        { TransformType.KeyExchange, 37, 0, "mlkem1024" },
        { TransformType.SequenceNumbers, 0, 0, "noesn" },
        { TransformType.SequenceNumbers, 1, 0, "esn" },
    };

    [Theory]
    [MemberData(nameof(Required))]
    public void EveryRequiredTransform_IsRegistered_WithItsKeyword_AndImplemented(TransformType type, ushort id, ushort bits, string keyword)
    {
        var info = TransformRegistry.Find(type, id, bits);
        Assert.NotNull(info);
        Assert.Equal(keyword, info.Keyword);
        Assert.True(TransformRegistry.TryGetByKeyword(keyword, out var byKeyword));
        Assert.Equal(info, byKeyword);
        switch (type)
        {
            case TransformType.Encryption: Assert.NotNull(TransformRegistry.GetEncryption((EncrId)id, bits)); break;
            case TransformType.PseudoRandomFunction: Assert.Equal((PrfId)id, TransformRegistry.GetPrf((PrfId)id)!.Id); break;
            case TransformType.Integrity: Assert.Equal((IntegId)id, TransformRegistry.GetIntegrity((IntegId)id)!.Id); break;
            case TransformType.KeyExchange: Assert.True(KeyExchangeMethods.IsSupported((KeId)id)); break;
        }
    }

    [Theory]
    [InlineData("x25519", "curve25519")]
    [InlineData("aes256gcm128", "aes256gcm16")]
    [InlineData("aes128gcm64", "aes128gcm8")]
    [InlineData("sha", "sha1")]
    [InlineData("sha2_256", "sha256")]
    [InlineData("AES256", "aes256")]
    public void Aliases_ResolveToTheCanonicalEntry(string alias, string canonical)
    {
        Assert.True(TransformRegistry.TryGetByKeyword(alias, out var info));
        Assert.Equal(canonical, info.Keyword);
    }

    [Fact]
    public void NullEncryption_IsEspOnly() =>
        Assert.Equal(TransformUsage.Esp, TransformRegistry.All.Single(t => t.Keyword == "null").Usage);

    [Fact]
    public void Keywords_AreUnique() =>
        Assert.Equal(TransformRegistry.All.Count, TransformRegistry.All.Select(t => t.Keyword).Distinct().Count());

    [Fact]
    public void GetEncryption_GivesOneSharedObjectPerCipher_AndNothingForAnUnknownKeyLength()
    {
        var gcm = TransformRegistry.GetEncryption(EncrId.AesGcm16, 256);
        Assert.NotNull(gcm);
        Assert.Same(gcm, TransformRegistry.GetEncryption(EncrId.AesGcm16, 256));
        Assert.NotSame(gcm, TransformRegistry.GetEncryption(EncrId.AesGcm16, 128));
        Assert.NotSame(gcm, TransformRegistry.GetEncryption(EncrId.AesGcm12, 256));
        Assert.Equal(128, TransformRegistry.GetEncryption(EncrId.AesGcm16, 128)!.KeyLengthBits);
        Assert.Null(TransformRegistry.GetEncryption(EncrId.AesGcm16, 4711));
        Assert.Null(TransformRegistry.GetEncryption(EncrId.AesGcm16, 4711));
    }
}
