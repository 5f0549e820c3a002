using System.Buffers;
using System.Security.Cryptography;
using Oakley.Iana;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Engines;

namespace Oakley.Crypto.Cipher;

/// <summary>
/// ENCR_AES_GCM_8/12/16 (RFC 4106 for ESP, RFC 5282 for IKEv2): keying material is key ‖ 4-byte salt, each
/// message carries an 8-byte IV, the GCM nonce is salt ‖ IV. The BCL's AesGcm handles 12- and 16-byte ICVs;
/// it refuses 8-byte tags, so GCM-8 alone goes through BouncyCastle.
/// </summary>
public sealed class AesGcm(int keyLengthBits, int icvSize) : EncryptionAlgorithm
{
    public override EncrId Id => IcvSize switch { 8 => EncrId.AesGcm8, 12 => EncrId.AesGcm12, _ => EncrId.AesGcm16 };

    public override int KeyLengthBits { get; } = keyLengthBits is 128 or 192 or 256 ? keyLengthBits : throw new ArgumentOutOfRangeException(nameof(keyLengthBits));

    public override int KeyMaterialSize => (KeyLengthBits / 8) + 4;

    public override int SaltSize => 4;

    public override int IvSize => 8;

    public override int BlockSize => 1;

    public override int IcvSize { get; } = icvSize is 8 or 12 or 16 ? icvSize : throw new ArgumentOutOfRangeException(nameof(icvSize));

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial)
    {
        AeadContext.CheckKey(keyMaterial, KeyMaterialSize);
        if (OpenSslAeadContext.Cipher(KeyLengthBits switch { 128 => "aes-128-gcm", 192 => "aes-192-gcm", _ => "aes-256-gcm" }) is var evp && evp != IntPtr.Zero)
        {
            return new OpenSslAeadContext(evp, keyMaterial[..^4], keyMaterial[^4..], IcvSize);
        }

        return IcvSize == 8
            ? new BouncyGcmContext(keyMaterial[..^4], keyMaterial[^4..], 8)
            : new BclAeadContext(new System.Security.Cryptography.AesGcm(keyMaterial[..^4], IcvSize), keyMaterial[^4..]);
    }
}

/// <summary>ENCR_AES_CCM_8/12/16 (RFC 4309, RFC 5282): key ‖ 3-byte salt, 8-byte IV, 11-byte nonce salt ‖ IV.</summary>
public sealed class AesCcm(int keyLengthBits, int icvSize) : EncryptionAlgorithm
{
    public override EncrId Id => IcvSize switch { 8 => EncrId.AesCcm8, 12 => EncrId.AesCcm12, _ => EncrId.AesCcm16 };

    public override int KeyLengthBits { get; } = keyLengthBits is 128 or 192 or 256 ? keyLengthBits : throw new ArgumentOutOfRangeException(nameof(keyLengthBits));

    public override int KeyMaterialSize => (KeyLengthBits / 8) + 3;

    public override int SaltSize => 3;

    public override int IvSize => 8;

    public override int BlockSize => 1;

    public override int IcvSize { get; } = icvSize is 8 or 12 or 16 ? icvSize : throw new ArgumentOutOfRangeException(nameof(icvSize));

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial)
    {
        AeadContext.CheckKey(keyMaterial, KeyMaterialSize);
        return new BclAeadContext(new System.Security.Cryptography.AesCcm(keyMaterial[..^3]), keyMaterial[^3..]);
    }
}

/// <summary>ENCR_CHACHA20_POLY1305 (RFC 7634): 32-byte key ‖ 4-byte salt, 8-byte IV, 16-byte ICV.</summary>
public sealed class ChaCha20Poly1305Cipher : EncryptionAlgorithm
{
    public override EncrId Id => EncrId.ChaCha20Poly1305;

    public override int KeyLengthBits => 0;

    public override int KeyMaterialSize => 36;

    public override int SaltSize => 4;

    public override int IvSize => 8;

    public override int BlockSize => 1;

    public override int IcvSize => 16;

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial)
    {
        AeadContext.CheckKey(keyMaterial, KeyMaterialSize);
        if (OpenSslAeadContext.Cipher("chacha20-poly1305") is var evp && evp != IntPtr.Zero)
        {
            return new OpenSslAeadContext(evp, keyMaterial[..32], keyMaterial[32..], IcvSize);
        }

        return new BclAeadContext(new System.Security.Cryptography.ChaCha20Poly1305(keyMaterial[..32]), keyMaterial[32..]);
    }
}

/// <summary>
/// ENCR_NULL_AUTH_AES_GMAC (RFC 4543), ESP only: nothing is encrypted; the GCM tag covers AAD ‖ payload.
/// </summary>
public sealed class AesGmac(int keyLengthBits) : EncryptionAlgorithm
{
    public override EncrId Id => EncrId.NullAuthAesGmac;

    public override int KeyLengthBits { get; } = keyLengthBits is 128 or 192 or 256 ? keyLengthBits : throw new ArgumentOutOfRangeException(nameof(keyLengthBits));

    public override int KeyMaterialSize => (KeyLengthBits / 8) + 4;

    public override int SaltSize => 4;

    public override int IvSize => 8;

    public override int BlockSize => 4; // RFC 4543 §3.2: ESP padding to 4 bytes

    public override int IcvSize => 16;

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial)
    {
        AeadContext.CheckKey(keyMaterial, KeyMaterialSize);
        return new GmacContext(new System.Security.Cryptography.AesGcm(keyMaterial[..^4], 16), keyMaterial[^4..]);
    }
}

/// <summary>ENCR_NULL (RFC 2410): ESP only, the payload travels in the clear and INTEG protects it.</summary>
public sealed class NullCipher : EncryptionAlgorithm
{
    public override EncrId Id => EncrId.Null;

    public override int KeyLengthBits => 0;

    public override int KeyMaterialSize => 0;

    public override int SaltSize => 0;

    public override int IvSize => 0;

    public override int BlockSize => 4;

    public override int IcvSize => 0;

    public override CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial) => new NullContext();

    private sealed class NullContext : CipherContext
    {
        public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag) =>
            plaintext.CopyTo(ciphertext);

        public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
        {
            ciphertext.CopyTo(plaintext);
            return true;
        }
    }
}

internal static class AeadContext
{
    public static void CheckKey(ReadOnlySpan<byte> keyMaterial, int expected)
    {
        if (keyMaterial.Length != expected)
        {
            throw new ArgumentException($"expected {expected} bytes of keying material, got {keyMaterial.Length}", nameof(keyMaterial));
        }
    }

    public static void BuildNonce(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> iv, Span<byte> nonce)
    {
        if (iv.Length != 8)
        {
            throw new ArgumentException("AEAD transforms carry an 8-byte IV", nameof(iv));
        }

        salt.CopyTo(nonce);
        iv.CopyTo(nonce[salt.Length..]);
    }
}

/// <summary>GCM/CCM/ChaCha20-Poly1305 through a keyed BCL object; the nonce is built on the stack.</summary>
internal sealed class BclAeadContext : CipherContext
{
    private readonly IDisposable _aead;
    private readonly byte[] _salt;

    public BclAeadContext(IDisposable aead, ReadOnlySpan<byte> salt)
    {
        _aead = aead;
        _salt = salt.ToArray();
    }

    public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        Span<byte> nonce = stackalloc byte[_salt.Length + 8];
        AeadContext.BuildNonce(_salt, iv, nonce);
        switch (_aead)
        {
            case System.Security.Cryptography.AesGcm g: g.Encrypt(nonce, plaintext, ciphertext[..plaintext.Length], tag, aad); break;
            case System.Security.Cryptography.AesCcm c: c.Encrypt(nonce, plaintext, ciphertext[..plaintext.Length], tag, aad); break;
            case System.Security.Cryptography.ChaCha20Poly1305 p: p.Encrypt(nonce, plaintext, ciphertext[..plaintext.Length], tag, aad); break;
            default: throw new InvalidOperationException("unknown AEAD");
        }
    }

    public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[_salt.Length + 8];
        AeadContext.BuildNonce(_salt, iv, nonce);
        try
        {
            switch (_aead)
            {
                case System.Security.Cryptography.AesGcm g: g.Decrypt(nonce, ciphertext, tag, plaintext[..ciphertext.Length], aad); break;
                case System.Security.Cryptography.AesCcm c: c.Decrypt(nonce, ciphertext, tag, plaintext[..ciphertext.Length], aad); break;
                case System.Security.Cryptography.ChaCha20Poly1305 p: p.Decrypt(nonce, ciphertext, tag, plaintext[..ciphertext.Length], aad); break;
                default: throw new InvalidOperationException("unknown AEAD");
            }

            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false; // the BCL has already cleared the plaintext
        }
    }

    protected override void Dispose(bool disposing)
    {
        _aead.Dispose();
        CryptographicOperations.ZeroMemory(_salt);
    }
}

/// <summary>GMAC (RFC 4543): GCM over an empty plaintext with AAD ‖ payload as the associated data.</summary>
internal sealed class GmacContext(System.Security.Cryptography.AesGcm gcm, ReadOnlySpan<byte> salt) : CipherContext
{
    private readonly byte[] _salt = salt.ToArray();

    public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        plaintext.CopyTo(ciphertext);
        Tag(iv, aad, plaintext, tag);
    }

    public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        Span<byte> expected = stackalloc byte[16];
        Tag(iv, aad, ciphertext, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, tag))
        {
            return false;
        }

        ciphertext.CopyTo(plaintext);
        return true;
    }

    private void Tag(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> payload, Span<byte> tag)
    {
        Span<byte> nonce = stackalloc byte[12];
        AeadContext.BuildNonce(_salt, iv, nonce);
        var total = aad.Length + payload.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            aad.CopyTo(buffer);
            payload.CopyTo(buffer.AsSpan(aad.Length));
            gcm.Encrypt(nonce, ReadOnlySpan<byte>.Empty, Span<byte>.Empty, tag, buffer.AsSpan(0, total));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override void Dispose(bool disposing) => gcm.Dispose();
}

/// <summary>AES-GCM with an 8-byte ICV through BouncyCastle (the BCL accepts only 12..16-byte tags).</summary>
internal sealed class BouncyGcmContext : CipherContext
{
    private readonly KeyParameter _key;
    private readonly byte[] _salt;
    private readonly int _tagBytes;

    public BouncyGcmContext(ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt, int tagBytes)
    {
        _key = new KeyParameter(key);
        _salt = salt.ToArray();
        _tagBytes = tagBytes;
    }

    public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        var cipher = Create(true, iv, aad);
        var output = new byte[cipher.GetOutputSize(plaintext.Length)];
        var n = cipher.ProcessBytes(plaintext.ToArray(), 0, plaintext.Length, output, 0);
        cipher.DoFinal(output, n);
        output.AsSpan(0, plaintext.Length).CopyTo(ciphertext);
        output.AsSpan(plaintext.Length, _tagBytes).CopyTo(tag);
    }

    public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        var cipher = Create(false, iv, aad);
        var input = new byte[ciphertext.Length + tag.Length];
        ciphertext.CopyTo(input);
        tag.CopyTo(input.AsSpan(ciphertext.Length));
        var output = new byte[cipher.GetOutputSize(input.Length)];
        try
        {
            var n = cipher.ProcessBytes(input, 0, input.Length, output, 0);
            cipher.DoFinal(output, n);
        }
        catch (InvalidCipherTextException)
        {
            plaintext[..ciphertext.Length].Clear();
            return false;
        }

        output.AsSpan(0, ciphertext.Length).CopyTo(plaintext);
        return true;
    }

    private GcmBlockCipher Create(bool forEncryption, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad)
    {
        var nonce = new byte[12];
        AeadContext.BuildNonce(_salt, iv, nonce);
        var cipher = new GcmBlockCipher(AesUtilities.CreateEngine());
        cipher.Init(forEncryption, new AeadParameters(_key, _tagBytes * 8, nonce, aad.ToArray()));
        return cipher;
    }
}
