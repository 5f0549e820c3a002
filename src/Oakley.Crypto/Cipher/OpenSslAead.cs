using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Oakley.Crypto.KeyExchange;

namespace Oakley.Crypto.Cipher;

/// <summary>
/// AES-GCM (any key size, 8/12/16-byte ICV) and ChaCha20-Poly1305 through OpenSSL's EVP interface directly, in the
/// libcrypto the BCL itself loads. The keyed EVP contexts are made once (on first use); a packet costs one IV reset, two
/// updates, a final and a tag control. The BCL's AesGcm does the same math but, per call, also clears OpenSSL's
/// thread error queue and re-checks parameters: on the ESP path that wrapper measured at about ten times the AES
/// work itself (perf: ERR_clear_error, CRYPTO_free and strcmp above the GCM kernels), see docs/benchmarks.md.
/// </summary>
internal sealed unsafe partial class OpenSslAeadContext : CipherContext
{
    private const string Library = "libcrypto";
    private const int CtrlAeadGetTag = 0x10;
    private const int CtrlAeadSetTag = 0x11;
    private readonly IntPtr _cipher;
    // Key and salt in one array (key first): one object less per context, four per IKE SA with one CHILD SA.
    private readonly byte[] _keyAndSalt;
    private readonly int _keyLength;
    private readonly int _tagSize;
    private IntPtr _encrypt;
    private IntPtr _decrypt;
    private int _disposed;

    /// <summary>The EVP cipher for an AEAD, or zero when this libcrypto lacks it (the caller falls back to the BCL).</summary>
    public static IntPtr Cipher(string name)
    {
        OpenSslBn.EnsureLoaded(); // registers the libcrypto resolver
        try
        {
            return name switch
            {
                "aes-128-gcm" => EVP_aes_128_gcm(),
                "aes-192-gcm" => EVP_aes_192_gcm(),
                "aes-256-gcm" => EVP_aes_256_gcm(),
                "chacha20-poly1305" => EVP_chacha20_poly1305(),
                "aes-128-cbc" => EVP_aes_128_cbc(),
                "aes-192-cbc" => EVP_aes_192_cbc(),
                "aes-256-cbc" => EVP_aes_256_cbc(),
                "aes-128-ctr" => EVP_aes_128_ctr(),
                "aes-192-ctr" => EVP_aes_192_ctr(),
                "aes-256-ctr" => EVP_aes_256_ctr(),
                _ => IntPtr.Zero,
            };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return IntPtr.Zero;
        }
    }

    /// <summary>
    /// Each direction's keyed EVP context (about 1.2 KB of native memory with OpenSSL 3.0's GCM) is made when that
    /// direction is first used: an SA mostly uses one direction per context (an ESP SA is inbound or outbound, an IKE
    /// responder decrypts with SK_ei and encrypts with SK_er), and an idle one none (issue 14's per-SA budget).
    /// </summary>
    public OpenSslAeadContext(IntPtr cipher, ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt, int tagSize)
    {
        _cipher = cipher;
        _keyAndSalt = [.. key, .. salt];
        _keyLength = key.Length;
        _tagSize = tagSize;
    }

    /// <summary>How many keyed EVP contexts this holds (0 to 2; tests check that unused directions cost nothing).</summary>
    public override int NativeContexts => (_encrypt != IntPtr.Zero ? 1 : 0) + (_decrypt != IntPtr.Zero ? 1 : 0);

    private IntPtr Keyed(ref IntPtr ctx, int encrypt)
    {
        if (ctx != IntPtr.Zero)
        {
            return ctx;
        }

        var made = EVP_CIPHER_CTX_new();
        fixed (byte* k = _keyAndSalt)
        {
            if (made == IntPtr.Zero || EVP_CipherInit_ex(made, _cipher, IntPtr.Zero, k, null, encrypt) != 1)
            {
                if (made != IntPtr.Zero)
                {
                    EVP_CIPHER_CTX_free(made);
                }

                throw new CryptographicException("OpenSSL refused the AEAD key");
            }
        }

        return ctx = made;
    }

    public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        var salt = _keyAndSalt.AsSpan(_keyLength);
        Span<byte> nonce = stackalloc byte[salt.Length + 8];
        AeadContext.BuildNonce(salt, iv, nonce);
        if (tag.Length != _tagSize || ciphertext.Length < plaintext.Length)
        {
            throw new ArgumentException("tag or output has the wrong size");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var ctx = Keyed(ref _encrypt, 1);
        fixed (byte* n = nonce, a = aad, p = plaintext, c = ciphertext, t = tag)
        {
            int written;
            var ok = EVP_CipherInit_ex(ctx, IntPtr.Zero, IntPtr.Zero, null, n, 1) == 1
                && (aad.IsEmpty || EVP_CipherUpdate(ctx, null, &written, a, aad.Length) == 1)
                && (plaintext.IsEmpty || EVP_CipherUpdate(ctx, c, &written, p, plaintext.Length) == 1)
                && EVP_CipherFinal_ex(ctx, c + plaintext.Length, &written) == 1
                && EVP_CIPHER_CTX_ctrl(ctx, CtrlAeadGetTag, _tagSize, t) == 1;
            if (!ok)
            {
                throw new CryptographicException("OpenSSL AEAD encryption failed");
            }
        }
    }

    public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        var salt = _keyAndSalt.AsSpan(_keyLength);
        Span<byte> nonce = stackalloc byte[salt.Length + 8];
        AeadContext.BuildNonce(salt, iv, nonce);
        if (tag.Length != _tagSize || plaintext.Length < ciphertext.Length)
        {
            return false;
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var ctx = Keyed(ref _decrypt, 0);
        fixed (byte* n = nonce, a = aad, c = ciphertext, t = tag, p = plaintext)
        {
            int written;
            if (EVP_CipherInit_ex(ctx, IntPtr.Zero, IntPtr.Zero, null, n, 0) != 1
                || EVP_CIPHER_CTX_ctrl(ctx, CtrlAeadSetTag, _tagSize, t) != 1
                || (!aad.IsEmpty && EVP_CipherUpdate(ctx, null, &written, a, aad.Length) != 1)
                || (!ciphertext.IsEmpty && EVP_CipherUpdate(ctx, p, &written, c, ciphertext.Length) != 1))
            {
                plaintext[..ciphertext.Length].Clear();
                return false;
            }

            if (EVP_CipherFinal_ex(ctx, p + ciphertext.Length, &written) != 1)
            {
                // The tag did not verify. OpenSSL queued no error for this (it is not an error), so nothing to clear.
                plaintext[..ciphertext.Length].Clear();
                return false;
            }

            return true;
        }
    }

    /// <summary>Frees both EVP contexts; the next call in either direction keys a new one.</summary>
    public override void Trim()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        Free();
    }

    private void Free()
    {
        if (_encrypt != IntPtr.Zero)
        {
            EVP_CIPHER_CTX_free(_encrypt); // frees (and cleanses) the key schedule
            _encrypt = IntPtr.Zero;
        }

        if (_decrypt != IntPtr.Zero)
        {
            EVP_CIPHER_CTX_free(_decrypt);
            _decrypt = IntPtr.Zero;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Free();
            CryptographicOperations.ZeroMemory(_keyAndSalt);
        }
    }

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_128_gcm();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_192_gcm();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_256_gcm();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_chacha20_poly1305();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_128_cbc();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_192_cbc();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_256_cbc();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_128_ctr();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_192_ctr();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_aes_256_ctr();

    [LibraryImport(Library)]
    internal static partial int EVP_CIPHER_CTX_set_padding(IntPtr ctx, int pad);

    [LibraryImport(Library)]
    internal static partial IntPtr EVP_CIPHER_CTX_new();

    [LibraryImport(Library)]
    internal static partial void EVP_CIPHER_CTX_free(IntPtr ctx);

    [LibraryImport(Library)]
    internal static partial int EVP_CipherInit_ex(IntPtr ctx, IntPtr cipher, IntPtr engine, byte* key, byte* iv, int enc);

    [LibraryImport(Library)]
    internal static partial int EVP_CipherUpdate(IntPtr ctx, byte* output, int* outputLength, byte* input, int inputLength);

    [LibraryImport(Library)]
    internal static partial int EVP_CipherFinal_ex(IntPtr ctx, byte* output, int* outputLength);

    [LibraryImport(Library)]
    private static partial int EVP_CIPHER_CTX_ctrl(IntPtr ctx, int type, int arg, byte* ptr);
}

/// <summary>
/// AES-CBC (RFC 3602) and AES-CTR (RFC 3686) through OpenSSL's EVP interface with keyed contexts reused: the BCL's
/// one-shot EncryptCbc builds a native context per call (about 3 µs and 64 bytes of garbage per ESP packet here).
/// CBC runs without padding (ESP pads itself); for CTR the IV given to OpenSSL is the RFC 3686 counter block
/// nonce ‖ IV ‖ 1, which OpenSSL increments as a 128-bit big-endian counter.
/// </summary>
internal sealed unsafe class OpenSslBlockContext : CipherContext
{
    private readonly IntPtr _encrypt;
    private readonly IntPtr _decrypt;
    private readonly byte[] _nonce; // CTR only
    private readonly int _ivSize;
    private readonly int _block;
    private int _disposed;

    public OpenSslBlockContext(IntPtr cipher, ReadOnlySpan<byte> key, ReadOnlySpan<byte> ctrNonce, int ivSize, int block)
    {
        _nonce = ctrNonce.ToArray();
        _ivSize = ivSize;
        _block = block;
        _encrypt = OpenSslAeadContext.EVP_CIPHER_CTX_new();
        _decrypt = OpenSslAeadContext.EVP_CIPHER_CTX_new();
        fixed (byte* k = key)
        {
            if (_encrypt == IntPtr.Zero || _decrypt == IntPtr.Zero
                || OpenSslAeadContext.EVP_CipherInit_ex(_encrypt, cipher, IntPtr.Zero, k, null, 1) != 1
                || OpenSslAeadContext.EVP_CipherInit_ex(_decrypt, cipher, IntPtr.Zero, k, null, 0) != 1
                || OpenSslAeadContext.EVP_CIPHER_CTX_set_padding(_encrypt, 0) != 1
                || OpenSslAeadContext.EVP_CIPHER_CTX_set_padding(_decrypt, 0) != 1)
            {
                Free();
                throw new CryptographicException("OpenSSL refused the cipher key");
            }
        }
    }

    public override void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        if (!Run(_encrypt, 1, iv, aad, plaintext, ciphertext, tag.Length))
        {
            throw new CryptographicException("OpenSSL encryption failed");
        }
    }

    public override bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        if (!Run(_decrypt, 0, iv, aad, ciphertext, plaintext, tag.Length))
        {
            throw new CryptographicException("OpenSSL decryption failed");
        }

        return true;
    }

    private bool Run(IntPtr ctx, int encrypt, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> input, Span<byte> output, int tagLength)
    {
        if (iv.Length != _ivSize || !aad.IsEmpty || tagLength != 0 || input.Length % _block != 0 || output.Length < input.Length)
        {
            throw new ArgumentException($"expected a {_ivSize}-byte IV, whole {_block}-byte blocks, no AAD and no tag");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        Span<byte> counter = stackalloc byte[16];
        if (_nonce.Length > 0)
        {
            _nonce.CopyTo(counter);
            iv.CopyTo(counter[4..]);
            counter[15] = 1;
        }
        else
        {
            iv.CopyTo(counter);
        }

        fixed (byte* v = counter, i = input, o = output)
        {
            int written, tail;
            return OpenSslAeadContext.EVP_CipherInit_ex(ctx, IntPtr.Zero, IntPtr.Zero, null, v, encrypt) == 1
                && (input.IsEmpty || OpenSslAeadContext.EVP_CipherUpdate(ctx, o, &written, i, input.Length) == 1)
                && OpenSslAeadContext.EVP_CipherFinal_ex(ctx, o + input.Length, &tail) == 1;
        }
    }

    private void Free()
    {
        if (_encrypt != IntPtr.Zero)
        {
            OpenSslAeadContext.EVP_CIPHER_CTX_free(_encrypt);
        }

        if (_decrypt != IntPtr.Zero)
        {
            OpenSslAeadContext.EVP_CIPHER_CTX_free(_decrypt);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Free();
            CryptographicOperations.ZeroMemory(_nonce);
        }
    }
}
