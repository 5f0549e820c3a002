using System.Security.Cryptography;
using Oakley.Iana;

namespace Oakley.Crypto.Cipher;

/// <summary>ENCR_AES_CBC (RFC 3602, RFC 7296 §3.14): 16-byte explicit IV, plaintext padded to 16 bytes by the caller.</summary>
public sealed class AesCbc(int keyLengthBits) : EncryptionAlgorithm
{
    public override EncrId Id => EncrId.AesCbc;

    public override int KeyLengthBits { get; } = keyLengthBits is 128 or 192 or 256 ? keyLengthBits : throw new ArgumentOutOfRangeException(nameof(keyLengthBits));

    public override int KeyMaterialSize => KeyLengthBits / 8;

    public override int SaltSize => 0;

    public override int IvSize => 16;

    public override int BlockSize => 16;

    public override int IcvSize => 0;

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial)
    {
        if (keyMaterial.Length == KeyMaterialSize && OpenSslAeadContext.Cipher($"aes-{KeyLengthBits}-cbc") is var evp && evp != IntPtr.Zero)
        {
            return new OpenSslBlockContext(evp, keyMaterial, default, 16, 16);
        }

        return new BlockCipherContext(BlockCipherContext.CreateAes(keyMaterial, KeyMaterialSize), 16);
    }
}

/// <summary>ENCR_3DES (RFC 2451): 24-byte key, 8-byte IV, CBC.</summary>
public sealed class TripleDesCbc : EncryptionAlgorithm
{
    public override EncrId Id => EncrId.TripleDes;

    public override int KeyLengthBits => 0;

    public override int KeyMaterialSize => 24;

    public override int SaltSize => 0;

    public override int IvSize => 8;

    public override int BlockSize => 8;

    public override int IcvSize => 0;

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial)
    {
        if (keyMaterial.Length != 24)
        {
            throw new ArgumentException("3DES needs 24 bytes of key", nameof(keyMaterial));
        }

        var des = TripleDES.Create();
        des.Key = keyMaterial.ToArray();
        return new BlockCipherContext(des, 8);
    }
}

/// <summary>A CBC cipher context over a keyed BCL <see cref="SymmetricAlgorithm"/>; one-shot calls do not allocate.</summary>
internal sealed class BlockCipherContext(SymmetricAlgorithm algorithm, int blockSize) : CipherContext
{
    public static Aes CreateAes(ReadOnlySpan<byte> key, int expected)
    {
        if (key.Length != expected)
        {
            throw new ArgumentException($"expected {expected} bytes of key, got {key.Length}", nameof(key));
        }

        var aes = Aes.Create();
        aes.SetKey(key);
        return aes;
    }

    public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        Check(iv, aad, plaintext.Length, tag.Length);
        algorithm.EncryptCbc(plaintext, iv, ciphertext, PaddingMode.None);
    }

    public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        Check(iv, aad, ciphertext.Length, tag.Length);
        algorithm.DecryptCbc(ciphertext, iv, plaintext, PaddingMode.None);
        return true;
    }

    private void Check(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, int length, int tagLength)
    {
        if (iv.Length != blockSize || length % blockSize != 0 || !aad.IsEmpty || tagLength != 0)
        {
            throw new ArgumentException($"CBC needs a {blockSize}-byte IV, whole blocks, no AAD and no tag");
        }
    }

    protected override void Dispose(bool disposing) => algorithm.Dispose();
}
