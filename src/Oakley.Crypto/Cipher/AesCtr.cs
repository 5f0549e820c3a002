using System.Buffers.Binary;
using System.Security.Cryptography;
using Oakley.Iana;

namespace Oakley.Crypto.Cipher;

/// <summary>
/// ENCR_AES_CTR (RFC 3686 for ESP, RFC 5930 for IKEv2). The keying material is the AES key followed by a
/// 4-byte nonce; each message carries an 8-byte IV. The counter block is nonce ‖ IV ‖ block counter, the
/// counter starting at 1. Keystream comes from the BCL's AES in ECB mode over the counter blocks.
/// </summary>
public sealed class AesCtr(int keyLengthBits) : EncryptionAlgorithm
{
    public override EncrId Id => EncrId.AesCtr;

    public override int KeyLengthBits { get; } = keyLengthBits is 128 or 192 or 256 ? keyLengthBits : throw new ArgumentOutOfRangeException(nameof(keyLengthBits));

    public override int KeyMaterialSize => (KeyLengthBits / 8) + 4;

    public override int SaltSize => 4;

    public override int IvSize => 8;

    public override int BlockSize => 1;

    public override int IcvSize => 0;

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial)
    {
        if (keyMaterial.Length != KeyMaterialSize)
        {
            throw new ArgumentException($"AES-CTR needs {KeyMaterialSize} bytes of keying material", nameof(keyMaterial));
        }

        if (OpenSslAeadContext.Cipher($"aes-{KeyLengthBits}-ctr") is var evp && evp != IntPtr.Zero)
        {
            return new OpenSslBlockContext(evp, keyMaterial[..^4], keyMaterial[^4..], 8, 1);
        }

        return new AesCtrContext(keyMaterial[..^4], keyMaterial[^4..]);
    }
}

internal sealed class AesCtrContext : CipherContext
{
    private const int ChunkBlocks = 64; // 1 KiB of keystream per ECB call
    private readonly AesBlock _aes;
    private readonly uint _nonce;

    public AesCtrContext(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        _aes = new AesBlock(key);
        _nonce = BinaryPrimitives.ReadUInt32BigEndian(nonce);
    }

    public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        if (!aad.IsEmpty || !tag.IsEmpty)
        {
            throw new ArgumentException("AES-CTR takes no AAD and produces no tag");
        }

        Transform(iv, plaintext, ciphertext);
    }

    public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        if (!aad.IsEmpty || !tag.IsEmpty)
        {
            throw new ArgumentException("AES-CTR takes no AAD and verifies no tag");
        }

        Transform(iv, ciphertext, plaintext);
        return true;
    }

    private void Transform(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (iv.Length != 8 || output.Length < input.Length)
        {
            throw new ArgumentException("AES-CTR needs an 8-byte IV and an output as long as the input");
        }

        Span<byte> counters = stackalloc byte[ChunkBlocks * 16];
        Span<byte> stream = stackalloc byte[ChunkBlocks * 16];
        var ivValue = BinaryPrimitives.ReadUInt64BigEndian(iv);
        uint block = 1; // RFC 3686 §4: the block counter starts at one.
        for (var offset = 0; offset < input.Length; offset += stream.Length)
        {
            var n = Math.Min(stream.Length, input.Length - offset);
            var blocks = (n + 15) / 16;
            for (var b = 0; b < blocks; b++)
            {
                var c = counters.Slice(b * 16, 16);
                BinaryPrimitives.WriteUInt32BigEndian(c, _nonce);
                BinaryPrimitives.WriteUInt64BigEndian(c[4..], ivValue);
                BinaryPrimitives.WriteUInt32BigEndian(c[12..], block++);
            }

            _aes.EncryptBlocks(counters[..(blocks * 16)], stream[..(blocks * 16)]);
            var src = input.Slice(offset, n);
            var dst = output.Slice(offset, n);
            for (var i = 0; i < n; i++)
            {
                dst[i] = (byte)(src[i] ^ stream[i]);
            }
        }

        CryptographicOperations.ZeroMemory(stream);
    }

    protected override void Dispose(bool disposing) => _aes.Dispose();
}
