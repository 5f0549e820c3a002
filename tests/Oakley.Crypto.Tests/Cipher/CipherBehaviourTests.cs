using Oakley.Crypto.Registry;
using Oakley.Iana;

namespace Oakley.Crypto.Tests.Cipher;

/// <summary>Round trips, sizes and tamper detection for every encryption transform and key length.</summary>
public class CipherBehaviourTests
{
    public static TheoryData<EncrId, int> All => new()
    {
        { EncrId.AesCbc, 128 }, { EncrId.AesCbc, 192 }, { EncrId.AesCbc, 256 },
        { EncrId.AesCtr, 128 }, { EncrId.AesCtr, 192 }, { EncrId.AesCtr, 256 },
        { EncrId.AesGcm8, 128 }, { EncrId.AesGcm12, 192 }, { EncrId.AesGcm16, 256 },
        { EncrId.AesCcm8, 128 }, { EncrId.AesCcm12, 192 }, { EncrId.AesCcm16, 256 },
        { EncrId.ChaCha20Poly1305, 0 }, { EncrId.TripleDes, 0 }, { EncrId.Null, 0 }, { EncrId.NullAuthAesGmac, 256 },
    };

    [Theory]
    [MemberData(nameof(All))]
    public void RoundTrips_AndDetectsTampering(EncrId id, int bits)
    {
        var algorithm = TransformRegistry.GetEncryption(id, bits)!;
        Assert.Equal(id, algorithm.Id);
        var key = Enumerable.Range(1, algorithm.KeyMaterialSize).Select(i => (byte)(i * 7)).ToArray();
        using var ctx = algorithm.CreateContext(key);
        var iv = Enumerable.Range(0, algorithm.IvSize).Select(i => (byte)(0xA0 + i)).ToArray();
        var aad = algorithm.IsAead ? new byte[] { 1, 2, 3, 4, 5 } : [];
        foreach (var length in new[] { 0, 1, 15, 16, 17, 100, 1400 })
        {
            var n = algorithm.BlockSize > 1 ? (length + algorithm.BlockSize - 1) / algorithm.BlockSize * algorithm.BlockSize : length;
            var pt = Enumerable.Range(0, n).Select(i => (byte)i).ToArray();
            var ct = new byte[n];
            var tag = new byte[algorithm.IcvSize];
            ctx.Encrypt(iv, aad, pt, ct, tag);
            if (id is not (EncrId.Null or EncrId.NullAuthAesGmac) && n >= 16)
            {
                Assert.NotEqual(pt, ct);
            }

            var back = new byte[n];
            Assert.True(ctx.Decrypt(iv, aad, ct, tag, back));
            Assert.Equal(pt, back);
            if (algorithm.IsAead && n > 0)
            {
                ct[0] ^= 1;
                Assert.False(ctx.Decrypt(iv, aad, ct, tag, back));
                ct[0] ^= 1;
                aad[0] ^= 1;
                Assert.False(ctx.Decrypt(iv, aad, ct, tag, back));
                aad[0] ^= 1;
            }
        }
    }

    [Theory]
    [InlineData(EncrId.AesCbc, 100)]
    [InlineData(EncrId.AesGcm16, 0)]
    [InlineData(EncrId.ChaCha20Poly1305, 128)]
    [InlineData(EncrId.TripleDes, 192)]
    [InlineData(EncrId.Des, 0)]
    [InlineData(EncrId.CamelliaCbc, 128)]
    public void UnsupportedCombinations_AreNull(EncrId id, int bits) => Assert.Null(TransformRegistry.GetEncryption(id, bits));

    [Fact]
    public void KeyMaterialSizes_FollowTheRfcs()
    {
        Assert.Equal(36, TransformRegistry.GetEncryption(EncrId.AesGcm16, 256)!.KeyMaterialSize); // RFC 4106: key + 4-byte salt
        Assert.Equal(19, TransformRegistry.GetEncryption(EncrId.AesCcm8, 128)!.KeyMaterialSize);  // RFC 4309: key + 3-byte salt
        Assert.Equal(20, TransformRegistry.GetEncryption(EncrId.AesCtr, 128)!.KeyMaterialSize);   // RFC 3686: key + 4-byte nonce
        Assert.Equal(36, TransformRegistry.GetEncryption(EncrId.ChaCha20Poly1305, 0)!.KeyMaterialSize);
        Assert.Equal(24, TransformRegistry.GetEncryption(EncrId.TripleDes, 0)!.KeyMaterialSize);
        Assert.Equal(16, TransformRegistry.GetEncryption(EncrId.AesCbc, 256)!.IvSize);
        Assert.Equal(8, TransformRegistry.GetEncryption(EncrId.AesGcm8, 128)!.IcvSize);
    }

    [Fact]
    public void WrongKeyLength_IsACallerBug() =>
        Assert.Throws<ArgumentException>(() => TransformRegistry.GetEncryption(EncrId.AesGcm16, 128)!.CreateContext(new byte[16]));
}
