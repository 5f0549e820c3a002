using Oakley.Iana;

namespace Oakley.Crypto.Cipher;

/// <summary>
/// An ENCR transform with a fixed key length: the static description the registry hands out. Keyed work
/// happens in a <see cref="CipherContext"/> created per SA and direction.
/// </summary>
public abstract class EncryptionAlgorithm
{
    public abstract EncrId Id { get; }

    /// <summary>The key length in bits as negotiated by the Key Length attribute (0 when the transform has none).</summary>
    public abstract int KeyLengthBits { get; }

    /// <summary>The keying material length in bytes, including any salt (RFC 4106 §8.1, RFC 7634 §2: key ‖ salt).</summary>
    public abstract int KeyMaterialSize { get; }

    /// <summary>Bytes of salt at the end of the keying material (0 for non-AEAD ciphers).</summary>
    public abstract int SaltSize { get; }

    /// <summary>The explicit IV carried in each message (8 for GCM/CCM/ChaCha20/CTR, 16 for AES-CBC, 0 for NULL).</summary>
    public abstract int IvSize { get; }

    /// <summary>The block size that the plaintext (with padding) must be a multiple of (1 for stream/AEAD modes).</summary>
    public abstract int BlockSize { get; }

    /// <summary>The AEAD ICV length in bytes; 0 for ciphers that need a separate INTEG transform.</summary>
    public abstract int IcvSize { get; }

    public bool IsAead => IcvSize > 0;

    /// <summary>Creates a keyed context. <paramref name="keyMaterial"/> must be <see cref="KeyMaterialSize"/> bytes.</summary>
    public abstract CipherContext CreateContext(ReadOnlySpan<byte> keyMaterial);
}

/// <summary>
/// A keyed cipher for one SA direction. Not thread-safe: use one per worker. Plaintext and ciphertext have
/// the same length (callers pad to <see cref="EncryptionAlgorithm.BlockSize"/> first).
/// </summary>
public abstract class CipherContext : IDisposable
{
    /// <summary>
    /// Encrypts. For AEAD ciphers <paramref name="aad"/> is authenticated and <paramref name="tag"/> receives the ICV;
    /// for other ciphers both must be empty.
    /// </summary>
    public abstract void Encrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag);

    /// <summary>Decrypts; returns false when the AEAD tag does not verify (plaintext is then cleared).</summary>
    public abstract bool Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext);

    /// <summary>
    /// Frees native state that the next call rebuilds from the key (an SA that will be idle for long need not hold
    /// it); the context stays usable. Nothing to free by default.
    /// </summary>
    public virtual void Trim()
    {
    }

    /// <summary>How many keyed native cipher contexts this holds now (diagnostics and tests; 0 for managed ciphers).</summary>
    public virtual int NativeContexts => 0;

    protected virtual void Dispose(bool disposing)
    {
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
