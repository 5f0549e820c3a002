using System.Security.Cryptography;

namespace Oakley.Crypto.Cipher;

/// <summary>
/// The raw AES block function through the BCL's ECB mode, for the modes the BCL lacks (CTR, XCBC, CMAC).
/// One instance holds one keyed <see cref="Aes"/> object; EncryptEcb into a caller span does not allocate.
/// </summary>
internal sealed class AesBlock : IDisposable
{
    public const int BlockSize = 16;
    private readonly Aes _aes;

    public AesBlock(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException($"AES key of {key.Length} bytes", nameof(key));
        }

        _aes = Aes.Create();
        _aes.SetKey(key);
    }

    /// <summary>Encrypts whole blocks (input length a multiple of 16) in ECB mode.</summary>
    public void EncryptBlocks(ReadOnlySpan<byte> input, Span<byte> output) =>
        _aes.EncryptEcb(input, output, PaddingMode.None);

    public void Dispose() => _aes.Dispose();
}
