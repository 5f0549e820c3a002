using System.Security.Cryptography;

namespace Oakley.Crypto.Cipher;

/// <summary>
/// AES-XCBC-MAC (RFC 3566) and AES-CMAC (RFC 4493): CBC-MAC variants over the AES block function with
/// derived subkeys for the final block. Both produce a 16-byte MAC; IKE and ESP truncate it to 96 bits
/// (RFC 3566, RFC 4494) or use it whole as a PRF (RFC 4434, RFC 4615).
/// </summary>
internal sealed class AesMac : IDisposable
{
    private readonly AesBlock _k1Cipher;
    private readonly byte[] _k2 = new byte[16];
    private readonly byte[] _k3 = new byte[16];

    private AesMac(AesBlock cipher, ReadOnlySpan<byte> subkeyComplete, ReadOnlySpan<byte> subkeyPadded)
    {
        _k1Cipher = cipher;
        subkeyComplete.CopyTo(_k2);
        subkeyPadded.CopyTo(_k3);
    }

    /// <summary>RFC 3566 §4: K1 = E(K, 0x01..), K2 = E(K, 0x02..), K3 = E(K, 0x03..); blocks are enciphered with K1.</summary>
    public static AesMac CreateXcbc(ReadOnlySpan<byte> key)
    {
        if (key.Length != 16)
        {
            throw new ArgumentException("AES-XCBC-MAC takes a 128-bit key", nameof(key));
        }

        Span<byte> constants = stackalloc byte[48];
        constants[..16].Fill(1);
        constants[16..32].Fill(2);
        constants[32..].Fill(3);
        Span<byte> derived = stackalloc byte[48];
        using (var master = new AesBlock(key))
        {
            master.EncryptBlocks(constants, derived);
        }

        var mac = new AesMac(new AesBlock(derived[..16]), derived[16..32], derived[32..]);
        CryptographicOperations.ZeroMemory(derived);
        return mac;
    }

    /// <summary>RFC 4493 §2.3: L = E(K, 0); K1 = dbl(L), K2 = dbl(K1); blocks are enciphered with K.</summary>
    public static AesMac CreateCmac(ReadOnlySpan<byte> key)
    {
        var cipher = new AesBlock(key);
        Span<byte> l = stackalloc byte[16];
        cipher.EncryptBlocks(stackalloc byte[16], l);
        Span<byte> k1 = stackalloc byte[16];
        Span<byte> k2 = stackalloc byte[16];
        Double(l, k1);
        Double(k1, k2);
        var mac = new AesMac(cipher, k1, k2);
        CryptographicOperations.ZeroMemory(l);
        CryptographicOperations.ZeroMemory(k1);
        CryptographicOperations.ZeroMemory(k2);
        return mac;
    }

    /// <summary>Computes the full 16-byte MAC.</summary>
    public void Compute(ReadOnlySpan<byte> message, Span<byte> mac)
    {
        Span<byte> state = stackalloc byte[16];
        state.Clear();
        Span<byte> block = stackalloc byte[16];
        var n = message.Length;
        // All but the last block (the last one is the final 1..16 bytes; an empty message has one empty block).
        var lastStart = n == 0 ? 0 : ((n - 1) / 16) * 16;
        for (var off = 0; off < lastStart; off += 16)
        {
            Xor(state, message.Slice(off, 16), block);
            _k1Cipher.EncryptBlocks(block, state);
        }

        var last = message[lastStart..];
        if (last.Length == 16)
        {
            Xor(state, last, block);
            Xor(block, _k2, block);
        }
        else
        {
            // Pad with a single 1 bit then zeros (RFC 3566 §4 step 3b, RFC 4493 §2.4 step 4).
            Span<byte> padded = stackalloc byte[16];
            padded.Clear();
            last.CopyTo(padded);
            padded[last.Length] = 0x80;
            Xor(state, padded, block);
            Xor(block, _k3, block);
        }

        _k1Cipher.EncryptBlocks(block, state);
        state.CopyTo(mac);
    }

    private static void Xor(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> output)
    {
        for (var i = 0; i < 16; i++)
        {
            output[i] = (byte)(a[i] ^ b[i]);
        }
    }

    /// <summary>Doubling in GF(2^128) with the polynomial x^128 + x^7 + x^2 + x + 1 (RFC 4493 §2.3).</summary>
    private static void Double(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var carry = (input[0] & 0x80) != 0;
        for (var i = 0; i < 15; i++)
        {
            output[i] = (byte)((input[i] << 1) | (input[i + 1] >> 7));
        }

        output[15] = (byte)(input[15] << 1);
        if (carry)
        {
            output[15] ^= 0x87;
        }
    }

    public void Dispose()
    {
        _k1Cipher.Dispose();
        CryptographicOperations.ZeroMemory(_k2);
        CryptographicOperations.ZeroMemory(_k3);
    }
}
