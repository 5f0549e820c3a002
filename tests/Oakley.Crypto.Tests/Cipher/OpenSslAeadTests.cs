using Oakley.Crypto.Cipher;

namespace Oakley.Crypto.Tests.Cipher;

/// <summary>The direct OpenSSL EVP path agrees byte for byte with the BCL (and BouncyCastle for 8-byte GCM tags).</summary>
public class OpenSslAeadTests
{
    [Theory]
    [InlineData("aes-128-gcm", 16, 16)]
    [InlineData("aes-192-gcm", 24, 12)]
    [InlineData("aes-256-gcm", 32, 16)]
    [InlineData("aes-256-gcm", 32, 8)]
    [InlineData("chacha20-poly1305", 32, 16)]
    public void AgreesWithTheReferenceImplementation(string name, int keySize, int tagSize)
    {
        var evp = OpenSslAeadContext.Cipher(name);
        Assert.NotEqual(IntPtr.Zero, evp);
        var random = new Random(keySize * 100 + tagSize);
        var key = new byte[keySize];
        var salt = new byte[4];
        random.NextBytes(key);
        random.NextBytes(salt);
        using var fast = new OpenSslAeadContext(evp, key, salt, tagSize);
        using CipherContext reference = name switch
        {
            "chacha20-poly1305" => new BclAeadContext(new System.Security.Cryptography.ChaCha20Poly1305(key), salt),
            _ when tagSize == 8 => new BouncyGcmContext(key, salt, 8),
            _ => new BclAeadContext(new System.Security.Cryptography.AesGcm(key, tagSize), salt),
        };
        for (var n = 0; n < 50; n++)
        {
            var iv = new byte[8];
            var aad = new byte[random.Next(0, 2) * 12];
            var plain = new byte[random.Next(0, 1500)];
            random.NextBytes(iv);
            random.NextBytes(aad);
            random.NextBytes(plain);
            var c1 = new byte[plain.Length];
            var t1 = new byte[tagSize];
            var c2 = new byte[plain.Length];
            var t2 = new byte[tagSize];
            fast.Encrypt(iv, aad, plain, c1, t1);
            reference.Encrypt(iv, aad, plain, c2, t2);
            Assert.Equal(c2, c1);
            Assert.Equal(t2, t1);

            var back = new byte[plain.Length];
            Assert.True(fast.Decrypt(iv, aad, c1, t1, back));
            Assert.Equal(plain, back);
            t1[0] ^= 1;
            Assert.False(fast.Decrypt(iv, aad, c1, t1, back));
            Assert.All(back, b => Assert.Equal(0, b));
        }
    }

    [Fact]
    public void EachDirectionKeysItsEvpContextWhenFirstUsed_AndTrimFreesBoth()
    {
        // Issue 14: an ESP SA uses one direction, an idle IKE SA none; each EVP context is about 1.2 KB of native memory.
        var key = new byte[16];
        var salt = new byte[4];
        key[0] = 7;
        using var ctx = new OpenSslAeadContext(OpenSslAeadContext.Cipher("aes-128-gcm"), key, salt, 16);
        Assert.Equal(0, ctx.NativeContexts);
        var iv = new byte[8];
        var plain = new byte[40];
        var sealedBytes = new byte[40];
        var tag = new byte[16];
        ctx.Encrypt(iv, [], plain, sealedBytes, tag);
        Assert.Equal(1, ctx.NativeContexts);
        var back = new byte[40];
        Assert.True(ctx.Decrypt(iv, [], sealedBytes, tag, back));
        Assert.Equal(2, ctx.NativeContexts);

        ctx.Trim();
        Assert.Equal(0, ctx.NativeContexts);
        // Rekeyed from the same key: the same ciphertext and tag, and it still opens.
        var again = new byte[40];
        var tag2 = new byte[16];
        ctx.Encrypt(iv, [], plain, again, tag2);
        Assert.Equal(sealedBytes, again);
        Assert.Equal(tag, tag2);
        Assert.True(ctx.Decrypt(iv, [], again, tag2, back));
        Assert.Equal(plain, back);
    }

    [Theory]
    [InlineData("aes-128-cbc", 16)]
    [InlineData("aes-256-cbc", 32)]
    [InlineData("aes-128-ctr", 16)]
    [InlineData("aes-192-ctr", 24)]
    public void BlockModes_AgreeWithTheReferenceImplementation(string name, int keySize)
    {
        var ctr = name.EndsWith("ctr", StringComparison.Ordinal);
        var random = new Random(keySize);
        var key = new byte[keySize];
        var nonce = new byte[4];
        random.NextBytes(key);
        random.NextBytes(nonce);
        using var fast = new OpenSslBlockContext(OpenSslAeadContext.Cipher(name), key, ctr ? nonce : default, ctr ? 8 : 16, ctr ? 1 : 16);
        using CipherContext reference = ctr ? new AesCtrContext(key, nonce) : new BlockCipherContext(BlockCipherContext.CreateAes(key, keySize), 16);
        for (var n = 0; n < 50; n++)
        {
            var iv = new byte[ctr ? 8 : 16];
            var plain = new byte[random.Next(0, 90) * 16 + (ctr ? random.Next(0, 16) : 0)];
            random.NextBytes(iv);
            random.NextBytes(plain);
            var c1 = new byte[plain.Length];
            var c2 = new byte[plain.Length];
            fast.Encrypt(iv, default, plain, c1, default);
            reference.Encrypt(iv, default, plain, c2, default);
            Assert.Equal(c2, c1);
            var back = new byte[plain.Length];
            Assert.True(fast.Decrypt(iv, default, c1, default, back));
            Assert.Equal(plain, back);
        }
    }

    [Theory]
    [InlineData("SHA1", 20, 12)]
    [InlineData("SHA256", 32, 16)]
    [InlineData("SHA384", 48, 24)]
    [InlineData("SHA512", 64, 32)]
    public void Hmac_AgreesWithTheBcl(string hash, int keySize, int icvSize)
    {
        var name = new System.Security.Cryptography.HashAlgorithmName(hash);
        var digest = Oakley.Crypto.Integrity.OpenSslHmacContext.Digest(name);
        Assert.NotEqual(IntPtr.Zero, digest);
        var random = new Random(keySize);
        var key = new byte[keySize];
        random.NextBytes(key);
        using var mac = new Oakley.Crypto.Integrity.OpenSslHmacContext(digest, key, icvSize);
        using var reference = System.Security.Cryptography.IncrementalHash.CreateHMAC(name, key);
        for (var n = 0; n < 50; n++)
        {
            var data = new byte[random.Next(0, 1500)];
            random.NextBytes(data);
            var icv = new byte[icvSize];
            mac.Compute(data, icv);
            reference.AppendData(data);
            Assert.Equal(reference.GetHashAndReset().AsSpan(0, icvSize).ToArray(), icv);
            Assert.True(mac.Verify(data, icv));
            icv[^1] ^= 1;
            Assert.False(mac.Verify(data, icv));
        }
    }
}
