namespace Oakley.Host.Vici;

/// <summary>
/// get-algorithms (README): the algorithms Oakley implements, by strongSwan's names, each with what provides it (the
/// BCL over OpenSSL, libsodium, BouncyCastle or Oakley's own code, architecture.md "Oakley.Crypto").
/// </summary>
internal static class ViciAlgorithms
{
    public static ViciSection Describe()
    {
        var reply = new ViciSection();
        Add(reply, "encryption", ("AES_CBC", "bcl"), ("AES_CTR", "oakley"), ("3DES_CBC", "bcl"), ("NULL", "oakley"));
        Add(reply, "integrity", ("HMAC_MD5_96", "bcl"), ("HMAC_SHA1_96", "bcl"), ("HMAC_SHA2_256_128", "bcl"), ("HMAC_SHA2_384_192", "bcl"),
            ("HMAC_SHA2_512_256", "bcl"), ("AES_XCBC_96", "oakley"), ("AES_CMAC_96", "oakley"));
        Add(reply, "aead", ("AES_GCM_8", "bouncycastle"), ("AES_GCM_12", "bcl"), ("AES_GCM_16", "bcl"), ("AES_CCM_8", "bcl"), ("AES_CCM_12", "bcl"),
            ("AES_CCM_16", "bcl"), ("CHACHA20_POLY1305", "bcl"), ("NULL_AES_GMAC", "oakley"));
        Add(reply, "hasher", ("HASH_SHA1", "bcl"), ("HASH_SHA2_256", "bcl"), ("HASH_SHA2_384", "bcl"), ("HASH_SHA2_512", "bcl"));
        Add(reply, "prf", ("PRF_HMAC_MD5", "bcl"), ("PRF_HMAC_SHA1", "bcl"), ("PRF_HMAC_SHA2_256", "bcl"), ("PRF_HMAC_SHA2_384", "bcl"),
            ("PRF_HMAC_SHA2_512", "bcl"), ("PRF_AES128_XCBC", "oakley"), ("PRF_AES128_CMAC", "oakley"));
        Add(reply, "ke", ("MODP_768", "oakley"), ("MODP_1024", "oakley"), ("MODP_1536", "oakley"), ("MODP_2048", "oakley"), ("MODP_3072", "oakley"),
            ("MODP_4096", "oakley"), ("MODP_6144", "oakley"), ("MODP_8192", "oakley"), ("MODP_1024_160", "oakley"), ("MODP_2048_224", "oakley"),
            ("MODP_2048_256", "oakley"), ("ECP_256", "bcl"), ("ECP_384", "bcl"), ("ECP_521", "bcl"), ("ECP_192", "bcl"), ("ECP_224", "bcl"),
            ("ECP_224_BP", "bcl"), ("ECP_256_BP", "bcl"), ("ECP_384_BP", "bcl"), ("ECP_512_BP", "bcl"), ("CURVE_25519", "libsodium"),
            ("CURVE_448", "bouncycastle"), ("ML_KEM_512", "bouncycastle"), ("ML_KEM_768", "bouncycastle"), ("ML_KEM_1024", "bouncycastle"));
        Add(reply, "rng", ("RNG_WEAK", "bcl"), ("RNG_STRONG", "bcl"), ("RNG_TRUE", "bcl"));
        Add(reply, "nonce-gen", ("NONCE_GEN", "bcl"));
        return reply;
    }

    private static void Add(ViciSection reply, string type, params (string Name, string Provider)[] algorithms)
    {
        var s = reply.AddSection(type);
        foreach (var (name, provider) in algorithms)
        {
            s.Add(name, provider);
        }
    }
}
