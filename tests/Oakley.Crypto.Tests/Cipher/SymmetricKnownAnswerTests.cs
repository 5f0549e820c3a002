using Oakley.Crypto.Cipher;
using Oakley.Crypto.Integrity;
using Oakley.Crypto.Prf;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using static Oakley.Crypto.Tests.VectorFile;

namespace Oakley.Crypto.Tests.Cipher;

/// <summary>Every vector of every symmetric-crypto vector file, through the registry's transforms.</summary>
public class SymmetricKnownAnswerTests
{
    public static TheoryData<string, int> Rfc2202 => Rows("rfc2202.json");
    public static TheoryData<string, int> Rfc4231 => Rows("rfc4231.json");
    public static TheoryData<string, int> Rfc4868 => Rows("rfc4868.json");
    public static TheoryData<string, int> Rfc3566 => Rows("rfc3566.json");
    public static TheoryData<string, int> Rfc4434 => Rows("rfc4434.json");
    public static TheoryData<string, int> Rfc4493 => Rows("rfc4493.json");
    public static TheoryData<string, int> Rfc4494 => Rows("rfc4494.json");
    public static TheoryData<string, int> Rfc4615 => Rows("rfc4615.json");
    public static TheoryData<string, int> Rfc3602 => Rows("rfc3602.json");
    public static TheoryData<string, int> Rfc3686 => Rows("rfc3686.json");
    public static TheoryData<string, int> Gcm => Rows("gcm_esp_layout_mcgrew_viega.json");
    public static TheoryData<string, int> ChaCha => Rows("rfc8439.json");
    public static TheoryData<string, int> Rfc7634 => Rows("rfc7634.json");

    private static Oakley.Crypto.Prf.Prf PrfByName(string alg) => alg switch
    {
        "PRF_HMAC_MD5" or "AUTH_HMAC_MD5_96" or "AUTH_HMAC_MD5_128" => HmacPrf.Md5,
        "PRF_HMAC_SHA1" or "AUTH_HMAC_SHA1_96" or "AUTH_HMAC_SHA1_128" or "AUTH_HMAC_SHA1_160" => HmacPrf.Sha1,
        "PRF_HMAC_SHA2_256" or "HMAC-SHA-256" or "AUTH_HMAC_SHA2_256_128" => HmacPrf.Sha256,
        "PRF_HMAC_SHA2_384" or "HMAC-SHA-384" or "AUTH_HMAC_SHA2_384_192" => HmacPrf.Sha384,
        "PRF_HMAC_SHA2_512" or "HMAC-SHA-512" or "AUTH_HMAC_SHA2_512_256" => HmacPrf.Sha512,
        _ => throw new ArgumentOutOfRangeException(nameof(alg), alg, null),
    };

    private static IntegId? IntegByName(string alg) => alg switch
    {
        "AUTH_HMAC_MD5_96" => IntegId.HmacMd5_96,
        "AUTH_HMAC_SHA1_96" => IntegId.HmacSha1_96,
        "AUTH_HMAC_SHA2_256_128" => IntegId.HmacSha2_256_128,
        "AUTH_HMAC_SHA2_384_192" => IntegId.HmacSha2_384_192,
        "AUTH_HMAC_SHA2_512_256" => IntegId.HmacSha2_512_256,
        _ => null,
    };

    [Theory]
    [MemberData(nameof(Rfc2202))]
    [MemberData(nameof(Rfc4868))]
    public void Hmac_PrfAndIntegrity(string file, int index)
    {
        var v = Get(file, index);
        var key = Hex(v["key"]);
        var msg = Hex(v["msg"]);
        var expected = v.TryGetValue("mac", out var mac) ? mac : v["out"];
        if (v["kind"] == "prf")
        {
            var prf = TransformRegistry.GetPrf((PrfId)PrfByName(v["alg"]).Id)!;
            Assert.Equal(expected, Of(prf.Compute(key, msg)));
            return;
        }

        if (IntegByName(v["alg"]) is { } integ)
        {
            var algorithm = TransformRegistry.GetIntegrity(integ)!;
            if (key.Length == algorithm.KeySize)
            {
                using var ctx = algorithm.CreateContext(key);
                var icv = new byte[algorithm.IcvSize];
                ctx.Compute(msg, icv);
                Assert.Equal(expected, Of(icv));
                Assert.True(ctx.Verify(msg, icv));
                icv[0] ^= 1;
                Assert.False(ctx.Verify(msg, icv));
                return;
            }
        }

        // Truncations IKE does not negotiate (MD5-128, SHA1-128/160) and non-standard key lengths: check the HMAC itself.
        var full = PrfByName(v["alg"]).Compute(key, msg);
        Assert.Equal(expected, Of(full.AsSpan(0, expected.Length / 2)));
    }

    [Theory]
    [MemberData(nameof(Rfc4231))]
    public void Rfc4231_HmacSha2(string file, int index)
    {
        var v = Get(file, index);
        var full = PrfByName(v["alg"]).Compute(Hex(v["key"]), Hex(v["data"]));
        Assert.Equal(v["mac"], Of(full.AsSpan(0, v["mac"].Length / 2)));
    }

    [Theory]
    [MemberData(nameof(Rfc3566))]
    public void AesXcbcMac_FullAnd96(string file, int index)
    {
        var v = Get(file, index);
        Assert.Equal(v["mac_128"], Of(AesMacPrf.Xcbc.Compute(Hex(v["key"]), Hex(v["msg"]))));
        using var ctx = AesMacIntegrity.Xcbc96.CreateContext(Hex(v["key"]));
        var icv = new byte[12];
        ctx.Compute(Hex(v["msg"]), icv);
        Assert.Equal(v["mac_96"], Of(icv));
    }

    [Theory]
    [MemberData(nameof(Rfc4434))]
    public void AesXcbcPrf128_VariableKeys(string file, int index)
    {
        var v = Get(file, index);
        Assert.Equal(v["prf_out"], Of(TransformRegistry.GetPrf(PrfId.Aes128Xcbc)!.Compute(Hex(v["key"]), Hex(v["msg"]))));
    }

    [Theory]
    [MemberData(nameof(Rfc4493))]
    public void AesCmac(string file, int index)
    {
        var v = Get(file, index);
        Assert.Equal(v["mac"], Of(AesMacPrf.Cmac.Compute(Hex(v["key"]), Hex(v["msg"]))));
    }

    [Theory]
    [MemberData(nameof(Rfc4494))]
    public void AesCmac96(string file, int index)
    {
        var v = Get(file, index);
        using var ctx = TransformRegistry.GetIntegrity(IntegId.AesCmac96)!.CreateContext(Hex(v["key"]));
        var icv = new byte[12];
        ctx.Compute(Hex(v["msg"]), icv);
        Assert.Equal(v["mac_96"], Of(icv));
        Assert.True(ctx.Verify(Hex(v["msg"]), icv));
    }

    [Theory]
    [MemberData(nameof(Rfc4615))]
    public void AesCmacPrf128_VariableKeys(string file, int index)
    {
        var v = Get(file, index);
        Assert.Equal(v["prf_out"], Of(TransformRegistry.GetPrf(PrfId.Aes128Cmac)!.Compute(Hex(v["key"]), Hex(v["msg"]))));
    }

    [Theory]
    [MemberData(nameof(Rfc3602))]
    public void AesCbc(string file, int index)
    {
        var v = Get(file, index);
        var key = Hex(v["key"]);
        using var ctx = TransformRegistry.GetEncryption(EncrId.AesCbc, key.Length * 8)!.CreateContext(key);
        var pt = Hex(v["plaintext"]);
        var ct = new byte[pt.Length];
        ctx.Encrypt(Hex(v["iv"]), default, pt, ct, default);
        Assert.Equal(v["ciphertext"], Of(ct));
        var back = new byte[ct.Length];
        Assert.True(ctx.Decrypt(Hex(v["iv"]), default, ct, default, back));
        Assert.Equal(v["plaintext"], Of(back));
    }

    [Theory]
    [MemberData(nameof(Rfc3686))]
    public void AesCtr(string file, int index)
    {
        var v = Get(file, index);
        var key = Hex(v["aes_key"]);
        using var ctx = TransformRegistry.GetEncryption(EncrId.AesCtr, key.Length * 8)!.CreateContext([.. key, .. Hex(v["nonce"])]);
        var pt = Hex(v["plaintext"]);
        var ct = new byte[pt.Length];
        ctx.Encrypt(Hex(v["iv"]), default, pt, ct, default);
        Assert.Equal(v["ciphertext"], Of(ct));
        var back = new byte[ct.Length];
        ctx.Decrypt(Hex(v["iv"]), default, ct, default, back);
        Assert.Equal(v["plaintext"], Of(back));
    }

    [Theory]
    [MemberData(nameof(Gcm))]
    public void AesGcm_EspLayout(string file, int index)
    {
        var v = Get(file, index);
        var icv = int.Parse(v["alg"]["ENCR_AES_GCM_ICV".Length..], System.Globalization.CultureInfo.InvariantCulture);
        var id = icv switch { 8 => EncrId.AesGcm8, 12 => EncrId.AesGcm12, _ => EncrId.AesGcm16 };
        AssertAead(TransformRegistry.GetEncryption(id, Hex(v["key"]).Length * 8)!, v);
    }

    [Theory]
    [MemberData(nameof(ChaCha))]
    [MemberData(nameof(Rfc7634))]
    public void ChaCha20Poly1305(string file, int index)
    {
        var v = Get(file, index);
        var algorithm = TransformRegistry.GetEncryption(EncrId.ChaCha20Poly1305, 0)!;
        if (!v.TryGetValue("expected_message", out var message))
        {
            AssertAead(algorithm, v);
            return;
        }

        // The whole RFC 7634 Appendix B message: AAD = IKE header + SK generic header, then IV, ciphertext, ICV.
        var wire = Hex(message);
        using var ctx = algorithm.CreateContext([.. Hex(v["key"]), .. Hex(v["salt"])]);
        var body = wire.AsSpan(32);
        var plain = new byte[body.Length - 24];
        Assert.True(ctx.Decrypt(body[..8], wire.AsSpan(0, 32), body[8..^16], body[^16..], plain));
        Assert.Equal(v["decrypted_inner_payloads_plus_padlen"], Of(plain));
    }

    private static void AssertAead(EncryptionAlgorithm algorithm, Dictionary<string, string> v)
    {
        using var ctx = algorithm.CreateContext([.. Hex(v["key"]), .. Hex(v["salt"])]);
        var pt = Hex(v["plaintext"]);
        var aad = Hex(v["aad"]);
        var iv = Hex(v["iv"]);
        var ct = new byte[pt.Length];
        var tag = new byte[algorithm.IcvSize];
        ctx.Encrypt(iv, aad, pt, ct, tag);
        Assert.Equal(v["ciphertext_and_tag"], Of([.. ct, .. tag]));
        var back = new byte[ct.Length];
        Assert.True(ctx.Decrypt(iv, aad, ct, tag, back));
        Assert.Equal(v["plaintext"], Of(back));
        tag[^1] ^= 0x80;
        Assert.False(ctx.Decrypt(iv, aad, ct, tag, back));
    }
}
