using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Oakley.Crypto.KeyDerivation;

/// <summary>The seven IKE SA keys of RFC 7296 §2.14. Disposing zeroes them.</summary>
public sealed class Ikev2KeyMaterial : IDisposable
{
    public Ikev2KeyMaterial(byte[] skD, byte[] skAi, byte[] skAr, byte[] skEi, byte[] skEr, byte[] skPi, byte[] skPr)
    {
        SK_d = skD;
        SK_ai = skAi;
        SK_ar = skAr;
        SK_ei = skEi;
        SK_er = skEr;
        SK_pi = skPi;
        SK_pr = skPr;
    }

    public byte[] SK_d { get; }

    public byte[] SK_ai { get; }

    public byte[] SK_ar { get; }

    /// <summary>Encryption key initiator→responder, including the salt for AEAD transforms.</summary>
    public byte[] SK_ei { get; }

    public byte[] SK_er { get; }

    public byte[] SK_pi { get; private set; }

    public byte[] SK_pr { get; private set; }

    /// <summary>
    /// Zeroes and drops SK_pi and SK_pr: they only key the AUTH payloads of IKE_AUTH (§2.15), so an SA that is up
    /// need not keep them (a rekey derives its keys from SK_d).
    /// </summary>
    public void ForgetAuthenticationKeys()
    {
        CryptographicOperations.ZeroMemory(SK_pi);
        CryptographicOperations.ZeroMemory(SK_pr);
        SK_pi = [];
        SK_pr = [];
    }

    public void Dispose()
    {
        foreach (var k in new[] { SK_d, SK_ai, SK_ar, SK_ei, SK_er, SK_pi, SK_pr })
        {
            CryptographicOperations.ZeroMemory(k);
        }
    }
}

/// <summary>CHILD SA keying material (RFC 7296 §2.17), split per direction. Disposing zeroes it.</summary>
public sealed class ChildKeyMaterial(byte[] encrInitiatorToResponder, byte[] integInitiatorToResponder, byte[] encrResponderToInitiator, byte[] integResponderToInitiator) : IDisposable
{
    /// <summary>Encryption key (with salt) for traffic from the initiator of the exchange to the responder.</summary>
    public byte[] EncryptionKeyInitiatorToResponder { get; } = encrInitiatorToResponder;

    public byte[] IntegrityKeyInitiatorToResponder { get; } = integInitiatorToResponder;

    public byte[] EncryptionKeyResponderToInitiator { get; } = encrResponderToInitiator;

    public byte[] IntegrityKeyResponderToInitiator { get; } = integResponderToInitiator;

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(EncryptionKeyInitiatorToResponder);
        CryptographicOperations.ZeroMemory(IntegrityKeyInitiatorToResponder);
        CryptographicOperations.ZeroMemory(EncryptionKeyResponderToInitiator);
        CryptographicOperations.ZeroMemory(IntegrityKeyResponderToInitiator);
    }
}

/// <summary>The IKEv2 key schedule (RFC 7296 §2.13-§2.18, RFC 9370 §2.2.2).</summary>
public static class Ikev2KeySchedule
{
    /// <summary>
    /// SKEYSEED = prf(Ni | Nr, g^ir) (§2.14). For a PRF that takes a fixed-length key, half of the key comes
    /// from the start of Ni and half from the start of Nr ("the first half of bits from each", §2.14).
    /// </summary>
    public static byte[] DeriveSkeyseed(Prf.Prf prf, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR, ReadOnlySpan<byte> sharedSecret)
    {
        ArgumentNullException.ThrowIfNull(prf);
        var key = NonceKey(prf, nonceI, nonceR);
        try
        {
            return prf.Compute(key, sharedSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// The key for prf(Ni | Nr, ...): the concatenation, or for fixed-key PRFs (AES-XCBC/CMAC-PRF-128) the first
    /// KeySize/2 bytes of each nonce when the nonces together are longer than the key.
    /// </summary>
    public static byte[] NonceKey(Prf.Prf prf, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR)
    {
        ArgumentNullException.ThrowIfNull(prf);
        if (prf.HasFixedKeySize && nonceI.Length + nonceR.Length != prf.KeySize)
        {
            var half = prf.KeySize / 2;
            if (nonceI.Length < half || nonceR.Length < half)
            {
                throw new ArgumentException("nonces shorter than half the PRF key");
            }

            return [.. nonceI[..half], .. nonceR[..half]];
        }

        return [.. nonceI, .. nonceR];
    }

    /// <summary>
    /// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) (§2.14).
    /// SK_d and SK_p* take the PRF's preferred key length; SK_a* is empty for AEAD ciphers.
    /// </summary>
    public static Ikev2KeyMaterial DeriveKeys(Prf.Prf prf, ReadOnlySpan<byte> skeyseed, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR,
        ulong spiI, ulong spiR, int encryptionKeySize, int integrityKeySize)
    {
        ArgumentNullException.ThrowIfNull(prf);
        var seed = new byte[nonceI.Length + nonceR.Length + 16];
        nonceI.CopyTo(seed);
        nonceR.CopyTo(seed.AsSpan(nonceI.Length));
        BinaryPrimitives.WriteUInt64BigEndian(seed.AsSpan(nonceI.Length + nonceR.Length), spiI);
        BinaryPrimitives.WriteUInt64BigEndian(seed.AsSpan(nonceI.Length + nonceR.Length + 8), spiR);

        var p = prf.KeySize;
        var total = (3 * p) + (2 * integrityKeySize) + (2 * encryptionKeySize);
        var stream = PrfPlus.Derive(prf, skeyseed, seed, total);
        try
        {
            var o = 0;
            byte[] Take(int n)
            {
                var k = stream.AsSpan(o, n).ToArray();
                o += n;
                return k;
            }

            return new Ikev2KeyMaterial(Take(p), Take(integrityKeySize), Take(integrityKeySize), Take(encryptionKeySize), Take(encryptionKeySize), Take(p), Take(p));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(stream);
        }
    }

    /// <summary>
    /// Rekeying an IKE SA (§2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), computed with the OLD
    /// SA's PRF; the new keys then come from <see cref="DeriveKeys"/> with the NEW PRF and the new SPIs.
    /// </summary>
    public static byte[] DeriveRekeySkeyseed(Prf.Prf oldPrf, ReadOnlySpan<byte> oldSkD, ReadOnlySpan<byte> newSharedSecret, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR)
    {
        ArgumentNullException.ThrowIfNull(oldPrf);
        byte[] data = [.. newSharedSecret, .. nonceI, .. nonceR];
        try
        {
            return oldPrf.Compute(oldSkD, data);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    /// <summary>
    /// RFC 9370 §2.2.2: after each additional key exchange n, SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr);
    /// the key set is then re-derived with <see cref="DeriveKeys"/> from SKEYSEED(n).
    /// </summary>
    public static byte[] DeriveAdditionalKeSkeyseed(Prf.Prf prf, ReadOnlySpan<byte> previousSkD, ReadOnlySpan<byte> additionalSharedSecret, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR) =>
        DeriveRekeySkeyseed(prf, previousSkD, additionalSharedSecret, nonceI, nonceR);

    /// <summary>
    /// CHILD SA keys (§2.17): KEYMAT = prf+(SK_d, [g^ir (new) | [SK(1) | ... SK(n) |]] Ni | Nr). Keys are taken
    /// initiator→responder first, then responder→initiator; in each direction the encryption key (with its
    /// salt) comes before the integrity key. "Initiator" is the initiator of the exchange that creates the SA.
    /// </summary>
    public static ChildKeyMaterial DeriveChildKeys(Prf.Prf prf, ReadOnlySpan<byte> skD, ReadOnlySpan<byte> nonceI, ReadOnlySpan<byte> nonceR,
        int encryptionKeySize, int integrityKeySize, params byte[][] sharedSecrets)
    {
        ArgumentNullException.ThrowIfNull(prf);
        ArgumentNullException.ThrowIfNull(sharedSecrets);
        var seedLength = sharedSecrets.Sum(s => s.Length) + nonceI.Length + nonceR.Length;
        var seed = new byte[seedLength];
        var o = 0;
        foreach (var s in sharedSecrets)
        {
            s.CopyTo(seed, o);
            o += s.Length;
        }

        nonceI.CopyTo(seed.AsSpan(o));
        nonceR.CopyTo(seed.AsSpan(o + nonceI.Length));
        var per = encryptionKeySize + integrityKeySize;
        var stream = PrfPlus.Derive(prf, skD, seed, 2 * per);
        try
        {
            return new ChildKeyMaterial(
                stream.AsSpan(0, encryptionKeySize).ToArray(),
                stream.AsSpan(encryptionKeySize, integrityKeySize).ToArray(),
                stream.AsSpan(per, encryptionKeySize).ToArray(),
                stream.AsSpan(per + encryptionKeySize, integrityKeySize).ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(stream);
            CryptographicOperations.ZeroMemory(seed);
        }
    }
}
