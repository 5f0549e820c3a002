using System.Formats.Asn1;
using System.Security.Cryptography;
using Oakley.Crypto.Signature;
using Oakley.Tests.Shared;

namespace Oakley.Crypto.Tests.Signature;

public class SignatureTests
{
    private static readonly byte[] Data = "signed octets of an IKE_AUTH exchange"u8.ToArray();

    [Theory]
    // RFC 7427 Appendix A.1.2 and A.3.1 (sha256WithRSAEncryption, ecdsa-with-SHA256), RFC 8410 §3 (Ed25519).
    [InlineData("rsa-pkcs1-sha256", "300d06092a864886f70d01010b0500")]
    [InlineData("ecdsa-sha256", "300a06082a8648ce3d040302")]
    [InlineData("ed25519", "300506032b6570")]
    // RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32: the identifier of Chromium's verify_signed_data test data
    // (rsa-pss-sha256-using-pss-key-with-params.pem), the same structure as RFC 7427 Appendix A.4.3.
    [InlineData("rsa-pss-sha256", "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120")]
    public void AlgorithmIdentifiers_MatchPublishedEncodings(string name, string hex)
    {
        var scheme = SignatureSchemes.Find(name)!;
        Assert.Equal(hex, Convert.ToHexStringLower(scheme.AlgorithmIdentifier.Span));
        Assert.Same(scheme, SignatureSchemes.FromAlgorithmIdentifier(Convert.FromHexString(hex), out var why));
        Assert.Equal("", why);
    }

    [Fact]
    public void RsaIdentifier_WithoutItsNullParameter_IsAccepted()
    {
        // RFC 4055 §5: the NULL SHOULD be present, and implementations accept it absent.
        Assert.Same(SignatureSchemes.RsaPkcs1Sha256, SignatureSchemes.FromAlgorithmIdentifier(Convert.FromHexString("300b06092a864886f70d01010b"), out _));
    }

    [Fact]
    public void EveryScheme_DecodesFromItsOwnIdentifier()
    {
        foreach (var scheme in SignatureSchemes.All)
        {
            Assert.Same(scheme, SignatureSchemes.FromAlgorithmIdentifier(scheme.AlgorithmIdentifier.Span, out _));
        }
    }

    [Fact]
    public void Pss_WithoutNullHashParameters_IsAccepted_OtherSaltsAreRefusedByName()
    {
        Assert.Same(SignatureSchemes.RsaPssSha384, SignatureSchemes.FromAlgorithmIdentifier(PssIdentifier("2.16.840.1.101.3.4.2.2", "2.16.840.1.101.3.4.2.2", 48), out _));
        Assert.Null(SignatureSchemes.FromAlgorithmIdentifier(PssIdentifier("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 20), out var why));
        Assert.Contains("salt length 20", why);
        Assert.Null(SignatureSchemes.FromAlgorithmIdentifier(PssIdentifier("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.3", 32), out why));
        Assert.Contains("MGF1 hash 2.16.840.1.101.3.4.2.3", why);
    }

    [Theory]
    [InlineData("")]
    [InlineData("3000")]
    [InlineData("300d06092a864886f70d01010b05")] // truncated
    [InlineData("300c06092a864886f70d01010b")] // the sequence length claims a byte more than there is
    [InlineData("300606042a030405")] // an unknown OID
    [InlineData("300c06082a8648ce3d0403020500")] // ecdsa-with-SHA256 with a NULL it must not have
    [InlineData("300f06092a864886f70d01010b02020101")] // sha256WithRSAEncryption with an INTEGER for parameters
    public void BadIdentifiers_AreRefusedWithAReason(string hex)
    {
        Assert.Null(SignatureSchemes.FromAlgorithmIdentifier(Convert.FromHexString(hex), out var why));
        Assert.NotEqual("", why);
    }

    [Fact]
    public void Ed25519_Rfc8032TestVector1()
    {
        // RFC 8032 §7.1, TEST 1 (empty message).
        var seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var expected = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        using var key = SignaturePrivateKey.FromPkcs8(EdDsaTestKeys.Pkcs8(seed, ed448: false), out _)!;
        Assert.Equal(expected, Convert.ToHexStringLower(key.Sign(SignatureSchemes.Ed25519, [])));
        using var pub = SignaturePublicKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _)!;
        Assert.EndsWith("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", Convert.ToHexStringLower(pub.SubjectPublicKeyInfo.Span));
        Assert.True(pub.Verify(SignatureSchemes.Ed25519, [], Convert.FromHexString(expected)));
    }

    public static TheoryData<string> SchemeNames() => new(SignatureSchemes.All.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(SchemeNames))]
    public void SignThenVerify_AndAnyChangeFails(string name)
    {
        var scheme = SignatureSchemes.Find(name)!;
        var (pkcs8, spki) = NewKey(scheme.KeyType);
        using var key = SignaturePrivateKey.FromPkcs8(pkcs8, out var why) ?? throw new InvalidOperationException(why);
        using var pub = SignaturePublicKey.FromSubjectPublicKeyInfo(spki, out why) ?? throw new InvalidOperationException(why);
        Assert.Equal(spki, key.ExportSubjectPublicKeyInfo());
        foreach (var der in new[] { true, false })
        {
            var signature = key.Sign(scheme, Data, der);
            Assert.True(pub.Verify(scheme, Data, signature, der));
            var bent = (byte[])signature.Clone();
            bent[bent.Length / 2] ^= 0x01;
            Assert.False(pub.Verify(scheme, Data, bent, der));
            var other = (byte[])Data.Clone();
            other[0] ^= 0x80;
            Assert.False(pub.Verify(scheme, other, signature, der));
            Assert.False(pub.Verify(scheme, Data, signature.AsSpan(0, signature.Length - 1), der));
        }
    }

    [Fact]
    public void TrailingBytesAfterAPublicKey_AreRefused()
    {
        var (_, spki) = NewKey(SignatureKeyType.Ecdsa);
        Assert.Null(SignaturePublicKey.FromSubjectPublicKeyInfo([.. spki, 0], out var why));
        Assert.Equal("trailing bytes after the SubjectPublicKeyInfo", why);
        Assert.Null(SignaturePrivateKey.FromPkcs8([.. EdDsaTestKeys.Pkcs8(new byte[32], ed448: false), 0], out why));
        Assert.Equal("trailing bytes after the PKCS#8 private key", why);
    }

    [Fact]
    public void AKey_NeverVerifiesASchemeOfAnotherKeyType()
    {
        var (pkcs8, spki) = NewKey(SignatureKeyType.Ecdsa);
        using var key = SignaturePrivateKey.FromPkcs8(pkcs8, out _)!;
        using var pub = SignaturePublicKey.FromSubjectPublicKeyInfo(spki, out _)!;
        var signature = key.Sign(SignatureSchemes.EcdsaSha256, Data);
        Assert.False(pub.Verify(SignatureSchemes.RsaPkcs1Sha256, Data, signature));
        Assert.Throws<ArgumentException>(() => key.Sign(SignatureSchemes.Ed25519, Data));
    }

    [Fact]
    public void MalformedKeys_AreRefusedWithoutThrowing()
    {
        var random = new Random(7);
        var (pkcs8, spki) = NewKey(SignatureKeyType.Rsa);
        for (var i = 0; i < 300; i++)
        {
            var cut = random.Next(spki.Length);
            Assert.Null(SignaturePublicKey.FromSubjectPublicKeyInfo(spki.AsSpan(0, cut), out var why));
            Assert.NotEqual("", why);
            Assert.Null(SignaturePrivateKey.FromPkcs8(pkcs8.AsSpan(0, random.Next(pkcs8.Length)), out why));
            Assert.DoesNotContain(Convert.ToHexString(pkcs8.AsSpan(pkcs8.Length - 40, 16)), why, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static (byte[] Pkcs8, byte[] Spki) NewKey(SignatureKeyType type)
    {
        switch (type)
        {
            case SignatureKeyType.Rsa:
                using (var rsa = RSA.Create(2048))
                {
                    return (rsa.ExportPkcs8PrivateKey(), rsa.ExportSubjectPublicKeyInfo());
                }

            case SignatureKeyType.Ecdsa:
                using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384))
                {
                    return (ec.ExportPkcs8PrivateKey(), ec.ExportSubjectPublicKeyInfo());
                }

            default:
                var ed448 = type == SignatureKeyType.Ed448;
                var seed = RandomNumberGenerator.GetBytes(ed448 ? 57 : 32);
                var pkcs8 = EdDsaTestKeys.Pkcs8(seed, ed448);
                using (var key = SignaturePrivateKey.FromPkcs8(pkcs8, out _)!)
                {
                    return (pkcs8, key.ExportSubjectPublicKeyInfo());
                }
        }
    }

    private static byte[] PssIdentifier(string hash, string mgfHash, int salt)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier("1.2.840.113549.1.1.10");
            using (writer.PushSequence())
            {
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(hash); // parameters absent (RFC 5754 allows either)
                }

                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1)))
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier("1.2.840.113549.1.1.8");
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(mgfHash);
                    }
                }

                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 2)))
                {
                    writer.WriteInteger(salt);
                }
            }
        }

        return writer.Encode();
    }
}
