using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Oakley.Crypto.KeyDerivation;

/// <summary>The phase-1 authentication method classes that determine SKEYID (RFC 2409 §5).</summary>
public enum Ikev1SkeyidKind
{
    /// <summary>SKEYID = prf(Ni_b | Nr_b, g^xy).</summary>
    Signature,

    /// <summary>SKEYID = prf(hash(Ni_b | Nr_b), CKY-I | CKY-R).</summary>
    PublicKeyEncryption,

    /// <summary>SKEYID = prf(pre-shared-key, Ni_b | Nr_b).</summary>
    PreSharedKey,
}

/// <summary>SKEYID and its three derivatives (RFC 2409 §5). Disposing zeroes them.</summary>
public sealed class Ikev1KeyMaterial(byte[] skeyid, byte[] skeyidD, byte[] skeyidA, byte[] skeyidE) : IDisposable
{
    public byte[] Skeyid { get; } = skeyid;

    public byte[] SkeyidD { get; } = skeyidD;

    public byte[] SkeyidA { get; } = skeyidA;

    public byte[] SkeyidE { get; } = skeyidE;

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(Skeyid);
        CryptographicOperations.ZeroMemory(SkeyidD);
        CryptographicOperations.ZeroMemory(SkeyidA);
        CryptographicOperations.ZeroMemory(SkeyidE);
    }
}

/// <summary>
/// The IKEv1 key schedule (RFC 2409 §5, §5.5 and Appendix B). The PRF is the negotiated one, or HMAC with
/// the negotiated hash when none was negotiated; the hash is the negotiated hash.
/// </summary>
public static class Ikev1KeySchedule
{
    public static byte[] DeriveSkeyid(Ikev1SkeyidKind kind, Prf.Prf prf, HashAlgorithmName hash, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR,
        ReadOnlySpan<byte> sharedSecret, ulong cookieI, ulong cookieR, ReadOnlySpan<byte> preSharedKey = default)
    {
        ArgumentNullException.ThrowIfNull(prf);
        byte[] nonces = [.. nonceI, .. nonceR];
        switch (kind)
        {
            case Ikev1SkeyidKind.Signature:
                return prf.Compute(nonces, sharedSecret);
            case Ikev1SkeyidKind.PublicKeyEncryption:
            {
                var key = Hash(hash, nonces);
                return prf.Compute(key, Cookies(cookieI, cookieR));
            }

            case Ikev1SkeyidKind.PreSharedKey:
                return prf.Compute(preSharedKey, nonces);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>
    /// SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
    /// SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
    /// SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
    /// </summary>
    public static Ikev1KeyMaterial DeriveKeys(Prf.Prf prf, byte[] skeyid, ReadOnlySpan<byte> sharedSecret, ulong cookieI, ulong cookieR)
    {
        ArgumentNullException.ThrowIfNull(prf);
        ArgumentNullException.ThrowIfNull(skeyid);
        var cookies = Cookies(cookieI, cookieR);
        var d = prf.Compute(skeyid, [.. sharedSecret, .. cookies, 0]);
        var a = prf.Compute(skeyid, [.. d, .. sharedSecret, .. cookies, 1]);
        var e = prf.Compute(skeyid, [.. a, .. sharedSecret, .. cookies, 2]);
        return new Ikev1KeyMaterial(skeyid, d, a, e);
    }

    /// <summary>
    /// The phase-1 encryption key (Appendix B): SKEYID_e itself if long enough, else Ka = K1 | K2 | ... with
    /// K1 = prf(SKEYID_e, 0) (a single zero octet) and Kn = prf(SKEYID_e, Kn-1), truncated to the key length.
    /// </summary>
    public static byte[] DeriveEncryptionKey(Prf.Prf prf, ReadOnlySpan<byte> skeyidE, int keyLength)
    {
        ArgumentNullException.ThrowIfNull(prf);
        if (skeyidE.Length >= keyLength)
        {
            return skeyidE[..keyLength].ToArray();
        }

        var result = new byte[keyLength];
        var previous = prf.Compute(skeyidE, [0]);
        var o = 0;
        while (true)
        {
            var take = Math.Min(previous.Length, keyLength - o);
            previous.AsSpan(0, take).CopyTo(result.AsSpan(o));
            o += take;
            if (o == keyLength)
            {
                return result;
            }

            previous = prf.Compute(skeyidE, previous);
        }
    }

    /// <summary>The phase-1 IV (§5 and Appendix B): hash(g^xi | g^xr) truncated to the cipher block size.</summary>
    public static byte[] Phase1Iv(HashAlgorithmName hash, ReadOnlySpan<byte> publicI, ReadOnlySpan<byte> publicR, int blockSize) =>
        Hash(hash, [.. publicI, .. publicR]).AsSpan(0, blockSize).ToArray();

    /// <summary>
    /// The IV of a phase-2 or informational exchange (§5.5, Appendix B): hash(last phase-1 CBC output block | M-ID)
    /// truncated to the block size, M-ID in network order.
    /// </summary>
    public static byte[] Phase2Iv(HashAlgorithmName hash, ReadOnlySpan<byte> lastPhase1Block, uint messageId, int blockSize)
    {
        Span<byte> mid = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, messageId);
        return Hash(hash, [.. lastPhase1Block, .. mid]).AsSpan(0, blockSize).ToArray();
    }

    /// <summary>
    /// Quick Mode KEYMAT for one SA direction (§5.5): KEYMAT = K1 | K2 | ... with
    /// K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b) and
    /// Kn+1 = prf(SKEYID_d, Kn | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b); the SPI is the receiving side's.
    /// </summary>
    public static byte[] DeriveQuickModeKeymat(Prf.Prf prf, ReadOnlySpan<byte> skeyidD, ReadOnlySpan<byte> pfsSharedSecret, byte protocol, uint spi,
        ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR, int length)
    {
        ArgumentNullException.ThrowIfNull(prf);
        Span<byte> spiBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(spiBytes, spi);
        byte[] tail = [.. pfsSharedSecret, protocol, .. spiBytes, .. nonceI, .. nonceR];
        var result = new byte[length];
        var block = prf.Compute(skeyidD, tail);
        var o = 0;
        while (true)
        {
            var take = Math.Min(block.Length, length - o);
            block.AsSpan(0, take).CopyTo(result.AsSpan(o));
            o += take;
            if (o == length)
            {
                CryptographicOperations.ZeroMemory(block);
                return result;
            }

            block = prf.Compute(skeyidD, [.. block, .. tail]);
        }
    }

    /// <summary>HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b) (§5).</summary>
    public static byte[] HashI(Prf.Prf prf, ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> publicI, ReadOnlySpan<byte> publicR, ulong cookieI, ulong cookieR,
        ReadOnlySpan<byte> saIBody, ReadOnlySpan<byte> idIBody)
    {
        ArgumentNullException.ThrowIfNull(prf);
        return prf.Compute(skeyid, [.. publicI, .. publicR, .. Cookies(cookieI, cookieR), .. saIBody, .. idIBody]);
    }

    /// <summary>HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b) (§5).</summary>
    public static byte[] HashR(Prf.Prf prf, ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> publicI, ReadOnlySpan<byte> publicR, ulong cookieI, ulong cookieR,
        ReadOnlySpan<byte> saIBody, ReadOnlySpan<byte> idRBody)
    {
        ArgumentNullException.ThrowIfNull(prf);
        return prf.Compute(skeyid, [.. publicR, .. publicI, .. Cookies(cookieR, cookieI), .. saIBody, .. idRBody]);
    }

    /// <summary>Quick Mode HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [ | KE ] [ | IDci | IDcr ]) over the payloads after HASH(1).</summary>
    public static byte[] QuickModeHash1(Prf.Prf prf, ReadOnlySpan<byte> skeyidA, uint messageId, ReadOnlySpan<byte> payloadsAfterHash)
    {
        ArgumentNullException.ThrowIfNull(prf);
        Span<byte> mid = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, messageId);
        return prf.Compute(skeyidA, [.. mid, .. payloadsAfterHash]);
    }

    /// <summary>Quick Mode HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [ | KE ] [ | IDci | IDcr ]).</summary>
    public static byte[] QuickModeHash2(Prf.Prf prf, ReadOnlySpan<byte> skeyidA, uint messageId, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> payloadsAfterHash)
    {
        ArgumentNullException.ThrowIfNull(prf);
        Span<byte> mid = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, messageId);
        return prf.Compute(skeyidA, [.. mid, .. nonceI, .. payloadsAfterHash]);
    }

    /// <summary>Quick Mode HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).</summary>
    public static byte[] QuickModeHash3(Prf.Prf prf, ReadOnlySpan<byte> skeyidA, uint messageId, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR)
    {
        ArgumentNullException.ThrowIfNull(prf);
        Span<byte> mid = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, messageId);
        return prf.Compute(skeyidA, [0, .. mid, .. nonceI, .. nonceR]);
    }

    private static byte[] Cookies(ulong cookieI, ulong cookieR)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(b, cookieI);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), cookieR);
        return b;
    }

    private static byte[] Hash(HashAlgorithmName hash, ReadOnlySpan<byte> data) => CryptographicOperations.HashData(hash, data);
}
