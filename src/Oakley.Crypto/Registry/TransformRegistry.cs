using System.Collections.Frozen;
using Oakley.Crypto.Cipher;
using Oakley.Crypto.Integrity;
using Oakley.Crypto.KeyExchange;
using Oakley.Iana;
using AesCcmCipher = Oakley.Crypto.Cipher.AesCcm;
using AesGcmCipher = Oakley.Crypto.Cipher.AesGcm;

namespace Oakley.Crypto.Registry;

/// <summary>
/// The IANA transform registry (RFC 7296 §3.3.2 and the IANA "IKEv2 Parameters" registry) as Oakley
/// implements it, keyed by transform type and ID, with strongSwan's proposal keywords so that configs and
/// logs read as users know them.
/// </summary>
public static class TransformRegistry
{
    private static readonly TransformInfo[] Entries = BuildEntries();

    private static readonly FrozenDictionary<string, TransformInfo> ByKeyword = BuildKeywordIndex();

    private static readonly FrozenDictionary<(TransformType, ushort, ushort), TransformInfo> ById =
        Entries.GroupBy(e => (e.Type, e.Id, e.KeyLengthBits)).ToFrozenDictionary(g => g.Key, g => g.First());

    /// <summary>Every transform Oakley implements.</summary>
    public static IReadOnlyList<TransformInfo> All => Entries;

    public static bool TryGetByKeyword(string keyword, out TransformInfo info) =>
        ByKeyword.TryGetValue(keyword.ToLowerInvariant(), out info!);

    public static TransformInfo? Find(TransformType type, ushort id, ushort keyLengthBits = 0)
    {
        var baseType = type >= TransformType.AdditionalKeyExchange1 ? TransformType.KeyExchange : type;
        return ById.TryGetValue((baseType, id, keyLengthBits), out var info) ? info : null;
    }

    public static bool IsSupported(in TransformSpec spec) => Find(spec.Type, spec.Id, spec.KeyLengthBits) is not null;

    /// <summary>
    /// The encryption transform for an ID and a Key Length attribute. Returns null for an unsupported
    /// combination (for example AES with a key length of 100, or a fixed-key cipher with a Key Length).
    /// </summary>
    /// <summary>
    /// The cipher of an ID and key length, or null if Oakley has none. The algorithm objects are stateless (their
    /// contexts hold the keys), so each one exists once and every SA that negotiated it shares it, as the integrity
    /// and PRF objects do. Only known ciphers are kept: a peer's odd key lengths add nothing.
    /// </summary>
    public static EncryptionAlgorithm? GetEncryption(EncrId id, int keyLengthBits)
    {
        if (Encryptions.TryGetValue((id, keyLengthBits), out var known))
        {
            return known;
        }

        return CreateEncryption(id, keyLengthBits) is { } made ? Encryptions.GetOrAdd((id, keyLengthBits), made) : null;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(EncrId, int), EncryptionAlgorithm> Encryptions = new();

    private static EncryptionAlgorithm? CreateEncryption(EncrId id, int keyLengthBits)
    {
        static bool Aes(int k) => k is 128 or 192 or 256;
        return id switch
        {
            EncrId.AesCbc when Aes(keyLengthBits) => new AesCbc(keyLengthBits),
            EncrId.AesCtr when Aes(keyLengthBits) => new AesCtr(keyLengthBits),
            EncrId.AesGcm8 when Aes(keyLengthBits) => new AesGcmCipher(keyLengthBits, 8),
            EncrId.AesGcm12 when Aes(keyLengthBits) => new AesGcmCipher(keyLengthBits, 12),
            EncrId.AesGcm16 when Aes(keyLengthBits) => new AesGcmCipher(keyLengthBits, 16),
            EncrId.AesCcm8 when Aes(keyLengthBits) => new AesCcmCipher(keyLengthBits, 8),
            EncrId.AesCcm12 when Aes(keyLengthBits) => new AesCcmCipher(keyLengthBits, 12),
            EncrId.AesCcm16 when Aes(keyLengthBits) => new AesCcmCipher(keyLengthBits, 16),
            EncrId.NullAuthAesGmac when Aes(keyLengthBits) => new AesGmac(keyLengthBits),
            EncrId.ChaCha20Poly1305 when keyLengthBits is 0 or 256 => new ChaCha20Poly1305Cipher(),
            EncrId.TripleDes when keyLengthBits == 0 => new TripleDesCbc(),
            EncrId.Null when keyLengthBits == 0 => new NullCipher(),
            _ => null,
        };
    }

    public static IntegrityAlgorithm? GetIntegrity(IntegId id) => id switch
    {
        IntegId.HmacMd5_96 => HmacIntegrity.Md5_96,
        IntegId.HmacSha1_96 => HmacIntegrity.Sha1_96,
        IntegId.AesXcbc96 => AesMacIntegrity.Xcbc96,
        IntegId.AesCmac96 => AesMacIntegrity.Cmac96,
        IntegId.HmacSha2_256_128 => HmacIntegrity.Sha256_128,
        IntegId.HmacSha2_384_192 => HmacIntegrity.Sha384_192,
        IntegId.HmacSha2_512_256 => HmacIntegrity.Sha512_256,
        _ => null,
    };

    public static Prf.Prf? GetPrf(PrfId id) => id switch
    {
        PrfId.HmacMd5 => Prf.HmacPrf.Md5,
        PrfId.HmacSha1 => Prf.HmacPrf.Sha1,
        PrfId.HmacSha2_256 => Prf.HmacPrf.Sha256,
        PrfId.HmacSha2_384 => Prf.HmacPrf.Sha384,
        PrfId.HmacSha2_512 => Prf.HmacPrf.Sha512,
        PrfId.Aes128Xcbc => Prf.AesMacPrf.Xcbc,
        PrfId.Aes128Cmac => Prf.AesMacPrf.Cmac,
        _ => null,
    };

    /// <summary>Creates one side of a key exchange for a supported method.</summary>
    public static KeyExchange.KeyExchange CreateKeyExchange(KeId id, IEntropySource entropy) => KeyExchangeMethods.Create(id, entropy);

    private static TransformInfo[] BuildEntries()
    {
        var list = new List<TransformInfo>();
        void Encr(EncrId id, ushort bits, string keyword, TransformUsage usage, params string[] aliases) =>
            list.Add(new TransformInfo(TransformType.Encryption, (ushort)id, bits, keyword, usage, aliases));

        foreach (ushort bits in new ushort[] { 128, 192, 256 })
        {
            Encr(EncrId.AesCbc, bits, $"aes{bits}", TransformUsage.Both, bits == 128 ? ["aes"] : []);
            Encr(EncrId.AesCtr, bits, $"aes{bits}ctr", TransformUsage.Both, bits == 128 ? ["aesctr"] : []);
            // strongSwan accepts the ICV length in bytes or in bits (aes128gcm16 == aes128gcm128).
            Encr(EncrId.AesGcm8, bits, $"aes{bits}gcm8", TransformUsage.Both, $"aes{bits}gcm64");
            Encr(EncrId.AesGcm12, bits, $"aes{bits}gcm12", TransformUsage.Both, $"aes{bits}gcm96");
            Encr(EncrId.AesGcm16, bits, $"aes{bits}gcm16", TransformUsage.Both, $"aes{bits}gcm128", $"aes{bits}gcm");
            Encr(EncrId.AesCcm8, bits, $"aes{bits}ccm8", TransformUsage.Both, $"aes{bits}ccm64");
            Encr(EncrId.AesCcm12, bits, $"aes{bits}ccm12", TransformUsage.Both, $"aes{bits}ccm96");
            Encr(EncrId.AesCcm16, bits, $"aes{bits}ccm16", TransformUsage.Both, $"aes{bits}ccm128", $"aes{bits}ccm");
            Encr(EncrId.NullAuthAesGmac, bits, $"aes{bits}gmac", TransformUsage.Esp);
        }

        Encr(EncrId.ChaCha20Poly1305, 0, "chacha20poly1305", TransformUsage.Both);
        Encr(EncrId.TripleDes, 0, "3des", TransformUsage.Both);
        Encr(EncrId.Null, 0, "null", TransformUsage.Esp);

        void Prf(PrfId id, string keyword, params string[] aliases) =>
            list.Add(new TransformInfo(TransformType.PseudoRandomFunction, (ushort)id, 0, keyword, TransformUsage.Ike, aliases));
        Prf(PrfId.HmacMd5, "prfmd5");
        Prf(PrfId.HmacSha1, "prfsha1");
        Prf(PrfId.HmacSha2_256, "prfsha256", "prfsha2_256");
        Prf(PrfId.HmacSha2_384, "prfsha384", "prfsha2_384");
        Prf(PrfId.HmacSha2_512, "prfsha512", "prfsha2_512");
        Prf(PrfId.Aes128Xcbc, "prfaesxcbc");
        Prf(PrfId.Aes128Cmac, "prfaescmac");

        void Integ(IntegId id, string keyword, params string[] aliases) =>
            list.Add(new TransformInfo(TransformType.Integrity, (ushort)id, 0, keyword, TransformUsage.Both, aliases));
        Integ(IntegId.HmacMd5_96, "md5");
        Integ(IntegId.HmacSha1_96, "sha1", "sha");
        Integ(IntegId.AesXcbc96, "aesxcbc");
        Integ(IntegId.AesCmac96, "aescmac");
        Integ(IntegId.HmacSha2_256_128, "sha256", "sha2_256");
        Integ(IntegId.HmacSha2_384_192, "sha384", "sha2_384");
        Integ(IntegId.HmacSha2_512_256, "sha512", "sha2_512");

        void Ke(KeId id, string keyword, params string[] aliases) =>
            list.Add(new TransformInfo(TransformType.KeyExchange, (ushort)id, 0, keyword, TransformUsage.Both, aliases));
        Ke(KeId.Modp768, "modp768");
        Ke(KeId.Modp1024, "modp1024");
        Ke(KeId.Modp1536, "modp1536");
        Ke(KeId.Modp2048, "modp2048");
        Ke(KeId.Modp3072, "modp3072");
        Ke(KeId.Modp4096, "modp4096");
        Ke(KeId.Modp6144, "modp6144");
        Ke(KeId.Modp8192, "modp8192");
        Ke(KeId.Modp1024s160, "modp1024s160");
        Ke(KeId.Modp2048s224, "modp2048s224");
        Ke(KeId.Modp2048s256, "modp2048s256");
        Ke(KeId.Ecp256, "ecp256");
        Ke(KeId.Ecp384, "ecp384");
        Ke(KeId.Ecp521, "ecp521");
        Ke(KeId.Ecp192, "ecp192");
        Ke(KeId.Ecp224, "ecp224");
        Ke(KeId.Brainpool224, "ecp224bp");
        Ke(KeId.Brainpool256, "ecp256bp");
        Ke(KeId.Brainpool384, "ecp384bp");
        Ke(KeId.Brainpool512, "ecp512bp");
        Ke(KeId.Curve25519, "curve25519", "x25519");
        Ke(KeId.Curve448, "curve448", "x448");
        Ke(KeId.MlKem512, "mlkem512");
        Ke(KeId.MlKem768, "mlkem768");
        Ke(KeId.MlKem1024, "mlkem1024");

        list.Add(new TransformInfo(TransformType.SequenceNumbers, (ushort)EsnId.Esn, 0, "esn", TransformUsage.Esp));
        list.Add(new TransformInfo(TransformType.SequenceNumbers, (ushort)EsnId.NoEsn, 0, "noesn", TransformUsage.Esp));
        return [.. list];
    }

    private static FrozenDictionary<string, TransformInfo> BuildKeywordIndex()
    {
        var d = new Dictionary<string, TransformInfo>(StringComparer.Ordinal);
        foreach (var e in Entries)
        {
            d.Add(e.Keyword, e);
            foreach (var a in e.Aliases)
            {
                d.Add(a, e);
            }
        }

        return d.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
