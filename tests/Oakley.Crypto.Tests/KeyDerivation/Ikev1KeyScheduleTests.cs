using System.Buffers.Binary;
using System.Security.Cryptography;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.Prf;
using static Oakley.Crypto.Tests.VectorFile;

namespace Oakley.Crypto.Tests.KeyDerivation;

/// <summary>The IKEv1 key schedule traced against RFC 2409 §5, §5.5 and Appendix B with raw HMAC/hash calls.</summary>
public class Ikev1KeyScheduleTests
{
    private static readonly byte[] Ni = Enumerable.Range(0, 20).Select(i => (byte)(0x20 + i)).ToArray();
    private static readonly byte[] Nr = Enumerable.Range(0, 24).Select(i => (byte)(0x60 + i)).ToArray();
    private static readonly byte[] Gxy = Enumerable.Range(0, 256).Select(i => (byte)(i * 3)).ToArray();
    private static readonly byte[] Gxi = Enumerable.Range(0, 256).Select(i => (byte)(i ^ 0x5A)).ToArray();
    private static readonly byte[] Gxr = Enumerable.Range(0, 256).Select(i => (byte)(i ^ 0xA5)).ToArray();
    private const ulong CkyI = 0x0102030405060708;
    private const ulong CkyR = 0x1112131415161718;
    private static readonly byte[] Psk = "ikev1-psk"u8.ToArray();

    private static byte[] Cookies(ulong a, ulong b)
    {
        var c = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(c, a);
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(8), b);
        return c;
    }

    private static byte[] H1(byte[] key, params byte[][] parts) => HMACSHA1.HashData(key, parts.SelectMany(p => p).ToArray());

    [Fact]
    public void Skeyid_ForEachAuthenticationClass()
    {
        Assert.Equal(Of(H1(Psk, Ni, Nr)), Of(Ikev1KeySchedule.DeriveSkeyid(Ikev1SkeyidKind.PreSharedKey, HmacPrf.Sha1, HashAlgorithmName.SHA1, Ni, Nr, Gxy, CkyI, CkyR, Psk)));
        Assert.Equal(Of(H1([.. Ni, .. Nr], Gxy)), Of(Ikev1KeySchedule.DeriveSkeyid(Ikev1SkeyidKind.Signature, HmacPrf.Sha1, HashAlgorithmName.SHA1, Ni, Nr, Gxy, CkyI, CkyR)));
        Assert.Equal(Of(H1(SHA1.HashData([.. Ni, .. Nr]), Cookies(CkyI, CkyR))),
            Of(Ikev1KeySchedule.DeriveSkeyid(Ikev1SkeyidKind.PublicKeyEncryption, HmacPrf.Sha1, HashAlgorithmName.SHA1, Ni, Nr, Gxy, CkyI, CkyR)));
    }

    [Fact]
    public void SkeyidD_A_E_ChainAsSection5Says()
    {
        var skeyid = H1(Psk, Ni, Nr);
        var c = Cookies(CkyI, CkyR);
        var d = H1(skeyid, Gxy, c, [0]);
        var a = H1(skeyid, d, Gxy, c, [1]);
        var e = H1(skeyid, a, Gxy, c, [2]);
        using var keys = Ikev1KeySchedule.DeriveKeys(HmacPrf.Sha1, (byte[])skeyid.Clone(), Gxy, CkyI, CkyR);
        Assert.Equal(Of(d), Of(keys.SkeyidD));
        Assert.Equal(Of(a), Of(keys.SkeyidA));
        Assert.Equal(Of(e), Of(keys.SkeyidE));
    }

    [Fact]
    public void EncryptionKey_IsExtended_WhenSkeyidEIsTooShort()
    {
        // Appendix B: 3DES (24 bytes) with HMAC-MD5 (16 bytes): Ka = K1 | K2, K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1).
        var e = Enumerable.Repeat((byte)0xE5, 16).ToArray();
        var k1 = HMACMD5.HashData(e, new byte[] { 0 });
        var k2 = HMACMD5.HashData(e, k1);
        Assert.Equal(Of([.. k1, .. k2.AsSpan(0, 8)]), Of(Ikev1KeySchedule.DeriveEncryptionKey(HmacPrf.Md5, e, 24)));
        // AES-256 with SHA1 (20 bytes < 32).
        var e1 = Enumerable.Repeat((byte)0xE1, 20).ToArray();
        var s1 = HMACSHA1.HashData(e1, new byte[] { 0 });
        var s2 = HMACSHA1.HashData(e1, s1);
        Assert.Equal(Of([.. s1, .. s2.AsSpan(0, 12)]), Of(Ikev1KeySchedule.DeriveEncryptionKey(HmacPrf.Sha1, e1, 32)));
        // Long enough: the leading bytes of SKEYID_e.
        Assert.Equal(Of(e1.AsSpan(0, 16)), Of(Ikev1KeySchedule.DeriveEncryptionKey(HmacPrf.Sha1, e1, 16)));
    }

    [Fact]
    public void Ivs_AreTruncatedHashes()
    {
        Assert.Equal(Of(SHA1.HashData([.. Gxi, .. Gxr]).AsSpan(0, 16)), Of(Ikev1KeySchedule.Phase1Iv(HashAlgorithmName.SHA1, Gxi, Gxr, 16)));
        Assert.Equal(Of(MD5.HashData([.. Gxi, .. Gxr]).AsSpan(0, 8)), Of(Ikev1KeySchedule.Phase1Iv(HashAlgorithmName.MD5, Gxi, Gxr, 8)));
        var lastBlock = Enumerable.Repeat((byte)0x4B, 16).ToArray();
        Assert.Equal(Of(SHA256.HashData([.. lastBlock, 0xDE, 0xAD, 0xBE, 0xEF]).AsSpan(0, 16)),
            Of(Ikev1KeySchedule.Phase2Iv(HashAlgorithmName.SHA256, lastBlock, 0xDEADBEEF, 16)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void QuickModeKeymat_IsExtendedWithTheSameTail(bool pfs)
    {
        var skeyidD = Enumerable.Repeat((byte)0xDD, 20).ToArray();
        byte[] pfsSecret = pfs ? Enumerable.Repeat((byte)0x42, 128).ToArray() : [];
        const byte protocol = 3; // ESP
        const uint spi = 0xC0FFEE01;
        byte[] tail = [.. pfsSecret, protocol, 0xC0, 0xFF, 0xEE, 0x01, .. Ni, .. Nr];
        var k1 = H1(skeyidD, tail);
        var k2 = H1(skeyidD, k1, tail);
        var k3 = H1(skeyidD, k2, tail);
        // AES-256 (32) + HMAC-SHA1 (20) = 52 bytes: three SHA1 blocks.
        Assert.Equal(Of([.. k1, .. k2, .. k3.AsSpan(0, 12)]), Of(Ikev1KeySchedule.DeriveQuickModeKeymat(HmacPrf.Sha1, skeyidD, pfsSecret, protocol, spi, Ni, Nr, 52)));
    }

    [Fact]
    public void Phase1Hashes_FollowSection5()
    {
        var skeyid = H1(Psk, Ni, Nr);
        var sa = new byte[] { 0, 0, 0, 1, 0, 0, 0, 1 };
        var idI = new byte[] { 1, 17, 1, 244, 192, 0, 2, 1 };
        var idR = new byte[] { 1, 17, 1, 244, 192, 0, 2, 2 };
        Assert.Equal(Of(H1(skeyid, Gxi, Gxr, Cookies(CkyI, CkyR), sa, idI)), Of(Ikev1KeySchedule.HashI(HmacPrf.Sha1, skeyid, Gxi, Gxr, CkyI, CkyR, sa, idI)));
        Assert.Equal(Of(H1(skeyid, Gxr, Gxi, Cookies(CkyR, CkyI), sa, idR)), Of(Ikev1KeySchedule.HashR(HmacPrf.Sha1, skeyid, Gxi, Gxr, CkyI, CkyR, sa, idR)));
    }

    [Fact]
    public void QuickModeHashes_FollowSection5_5()
    {
        var a = Enumerable.Repeat((byte)0xAA, 20).ToArray();
        var payloads = Enumerable.Range(0, 60).Select(i => (byte)i).ToArray();
        byte[] mid = [0x01, 0x02, 0x03, 0x04];
        Assert.Equal(Of(H1(a, mid, payloads)), Of(Ikev1KeySchedule.QuickModeHash1(HmacPrf.Sha1, a, 0x01020304, payloads)));
        Assert.Equal(Of(H1(a, mid, Ni, payloads)), Of(Ikev1KeySchedule.QuickModeHash2(HmacPrf.Sha1, a, 0x01020304, Ni, payloads)));
        Assert.Equal(Of(H1(a, [0], mid, Ni, Nr)), Of(Ikev1KeySchedule.QuickModeHash3(HmacPrf.Sha1, a, 0x01020304, Ni, Nr)));
    }
}
