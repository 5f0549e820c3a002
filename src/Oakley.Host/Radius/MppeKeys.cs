using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Oakley.Host.Radius;

/// <summary>
/// The MS-MPPE-Send-Key and MS-MPPE-Recv-Key attributes (RFC 2548 §2.4.2, §2.4.3) that carry the EAP keys to the
/// NAS, and the MSK built from them as strongSwan does (eap_radius's MSK is Recv-Key followed by Send-Key, zero
/// padded to 64 bytes). Key material never appears in logs or exceptions.
/// </summary>
public static class MppeKeys
{
    private const int Block = 16;

    /// <summary>
    /// Encrypts a key into the attribute's String field: Salt (2 bytes, high bit set) followed by the encrypted
    /// key-length byte, key and zero padding to a multiple of 16 (RFC 2548 §2.4.2: b(1) = MD5(S + R + A),
    /// c(1) = p(1) xor b(1), b(i) = MD5(S + c(i-1))).
    /// </summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> requestAuthenticator, ushort salt)
    {
        if (key.Length > 239)
        {
            throw new ArgumentException("an MPPE key must fit one RADIUS attribute", nameof(key));
        }

        if ((salt & 0x8000) == 0)
        {
            throw new ArgumentException("RFC 2548 §2.4.2: the salt's most significant bit must be set", nameof(salt));
        }

        var plain = new byte[(1 + key.Length + Block - 1) / Block * Block];
        plain[0] = (byte)key.Length;
        key.CopyTo(plain.AsSpan(1));
        var result = new byte[2 + plain.Length];
        BinaryPrimitives.WriteUInt16BigEndian(result, salt);
        Crypt(plain, result.AsSpan(2), secret, requestAuthenticator, result.AsSpan(0, 2), encrypt: true);
        CryptographicOperations.ZeroMemory(plain);
        return result;
    }

    /// <summary>
    /// Decrypts the attribute's String field (salt and cipher text); null when it is not a whole number of blocks
    /// or its key-length byte exceeds the plain text.
    /// </summary>
    public static byte[]? Decrypt(ReadOnlySpan<byte> field, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> requestAuthenticator)
    {
        if (field.Length < 2 + Block || (field.Length - 2) % Block != 0 || requestAuthenticator.Length != Block)
        {
            return null;
        }

        var plain = new byte[field.Length - 2];
        Crypt(field[2..], plain, secret, requestAuthenticator, field[..2], encrypt: false);
        try
        {
            return plain[0] < plain.Length ? plain.AsSpan(1, plain[0]).ToArray() : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>
    /// The MSK of an Access-Accept answering a request with <paramref name="requestAuthenticator"/>: Recv-Key ||
    /// Send-Key, zero padded to 64 bytes (what strongSwan's eap-radius hands IKE; RFC 5216 §2.3's MSK is 64 bytes and
    /// RADIUS servers split it into the two keys). Null unless both keys are present and decrypt.
    /// </summary>
    public static byte[]? Msk(RadiusPacket accept, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> requestAuthenticator)
    {
        ArgumentNullException.ThrowIfNull(accept);
        byte[]? send = null;
        byte[]? recv = null;
        foreach (var (vendor, type, data) in accept.VendorAttributes())
        {
            if (vendor != RadiusNumbers.VendorMicrosoft)
            {
                continue;
            }

            if (type == RadiusNumbers.MsMppeSendKey)
            {
                send = Decrypt(data, secret, requestAuthenticator);
            }
            else if (type == RadiusNumbers.MsMppeRecvKey)
            {
                recv = Decrypt(data, secret, requestAuthenticator);
            }
        }

        if (send is null || recv is null)
        {
            return null;
        }

        var msk = new byte[Math.Max(64, recv.Length + send.Length)];
        recv.CopyTo(msk, 0);
        send.CopyTo(msk, recv.Length);
        CryptographicOperations.ZeroMemory(send);
        CryptographicOperations.ZeroMemory(recv);
        return msk;
    }

    /// <summary>The RFC 2548 §2.4.2 stream: each block's pad is MD5 of the secret and the previous cipher block (first: R + salt).</summary>
    private static void Crypt(ReadOnlySpan<byte> input, Span<byte> output, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> requestAuthenticator, ReadOnlySpan<byte> salt, bool encrypt)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        Span<byte> pad = stackalloc byte[Block];
        md5.AppendData(secret);
        md5.AppendData(requestAuthenticator);
        md5.AppendData(salt);
        md5.GetHashAndReset(pad);
        for (var at = 0; at < input.Length; at += Block)
        {
            for (var i = 0; i < Block; i++)
            {
                output[at + i] = (byte)(input[at + i] ^ pad[i]);
            }

            var cipher = encrypt ? output.Slice(at, Block) : input.Slice(at, Block);
            md5.AppendData(secret);
            md5.AppendData(cipher);
            md5.GetHashAndReset(pad);
        }

        CryptographicOperations.ZeroMemory(pad);
    }
}
