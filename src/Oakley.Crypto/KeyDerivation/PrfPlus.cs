using System.Buffers;
using System.Security.Cryptography;

namespace Oakley.Crypto.KeyDerivation;

/// <summary>
/// prf+ (RFC 7296 §2.13):
/// <code>
/// prf+ (K,S) = T1 | T2 | T3 | T4 | ...
/// T1 = prf (K, S | 0x01)
/// T2 = prf (K, T2 | S | 0x02) ... Tn = prf (K, Tn-1 | S | n)
/// </code>
/// The counter is a single octet, so prf+ yields at most 255 blocks; asking for more is a caller bug.
/// </summary>
public static class PrfPlus
{
    public const int MaxBlocks = 255;

    public static void Derive(Prf.Prf prf, ReadOnlySpan<byte> key, ReadOnlySpan<byte> seed, Span<byte> output)
    {
        ArgumentNullException.ThrowIfNull(prf);
        var blockSize = prf.OutputSize;
        var blocks = (output.Length + blockSize - 1) / blockSize;
        if (blocks > MaxBlocks)
        {
            throw new ArgumentException($"prf+ can produce at most {MaxBlocks} blocks ({MaxBlocks * blockSize} bytes), {output.Length} requested", nameof(output));
        }

        var inputLength = blockSize + seed.Length + 1;
        var input = ArrayPool<byte>.Shared.Rent(inputLength);
        var block = ArrayPool<byte>.Shared.Rent(blockSize);
        try
        {
            var previous = 0; // length of T(n-1) at the start of input
            for (var n = 1; n <= blocks; n++)
            {
                seed.CopyTo(input.AsSpan(previous));
                input[previous + seed.Length] = (byte)n;
                prf.Compute(key, input.AsSpan(0, previous + seed.Length + 1), block.AsSpan(0, blockSize));
                var offset = (n - 1) * blockSize;
                var take = Math.Min(blockSize, output.Length - offset);
                block.AsSpan(0, take).CopyTo(output[offset..]);
                block.AsSpan(0, blockSize).CopyTo(input);
                previous = blockSize;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input.AsSpan(0, inputLength));
            CryptographicOperations.ZeroMemory(block.AsSpan(0, blockSize));
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    public static byte[] Derive(Prf.Prf prf, ReadOnlySpan<byte> key, ReadOnlySpan<byte> seed, int length)
    {
        var output = new byte[length];
        Derive(prf, key, seed, output);
        return output;
    }
}
