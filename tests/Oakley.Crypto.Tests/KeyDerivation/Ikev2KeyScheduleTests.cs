using System.Buffers.Binary;
using System.Security.Cryptography;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.Prf;
using static Oakley.Crypto.Tests.VectorFile;

namespace Oakley.Crypto.Tests.KeyDerivation;

/// <summary>
/// The IKEv2 key schedule traced step by step against RFC 7296 §2.13-§2.18: every expected value is computed
/// here from the RFC's formulas with raw HMAC calls, never through the code under test.
/// </summary>
public class Ikev2KeyScheduleTests
{
    private static readonly byte[] Ni = Enumerable.Range(0, 32).Select(i => (byte)(0x10 + i)).ToArray();
    private static readonly byte[] Nr = Enumerable.Range(0, 32).Select(i => (byte)(0x80 + i)).ToArray();
    private static readonly byte[] Gir = Enumerable.Range(0, 32).Select(i => (byte)(0xC0 ^ i)).ToArray();
    private const ulong SpiI = 0x1122334455667788;
    private const ulong SpiR = 0x99AABBCCDDEEFF00;

    private static byte[] H(byte[] key, params byte[][] parts) => HMACSHA256.HashData(key, parts.SelectMany(p => p).ToArray());

    /// <summary>prf+ written out literally: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n).</summary>
    private static byte[] ReferencePrfPlus(byte[] key, byte[] seed, int length)
    {
        var output = new List<byte>();
        byte[] t = [];
        for (byte n = 1; output.Count < length; n++)
        {
            t = H(key, t, seed, [n]);
            output.AddRange(t);
        }

        return output.Take(length).ToArray();
    }

    private static byte[] Spis()
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(b, SpiI);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), SpiR);
        return b;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(200)]
    [InlineData(255 * 32)]
    public void PrfPlus_MatchesTheRfcDefinition(int length)
    {
        Assert.Equal(Of(ReferencePrfPlus(Gir, Ni, length)), Of(PrfPlus.Derive(HmacPrf.Sha256, Gir, Ni, length)));
    }

    [Fact]
    public void PrfPlus_Refuses256Blocks() =>
        Assert.Throws<ArgumentException>(() => PrfPlus.Derive(HmacPrf.Sha256, Gir, Ni, (255 * 32) + 1));

    [Fact]
    public void Skeyseed_IsPrfOfNoncesOverSharedSecret() =>
        Assert.Equal(Of(H([.. Ni, .. Nr], Gir)), Of(Ikev2KeySchedule.DeriveSkeyseed(HmacPrf.Sha256, Ni, Nr, Gir)));

    [Fact]
    public void Keys_AreSplitFromPrfPlus_InRfcOrder()
    {
        var skeyseed = H([.. Ni, .. Nr], Gir);
        // AES-CBC-256 with HMAC-SHA2-256-128: encryption keys 32 bytes, integrity keys 32, PRF keys 32.
        var stream = ReferencePrfPlus(skeyseed, [.. Ni, .. Nr, .. Spis()], (3 * 32) + (2 * 32) + (2 * 32));
        using var keys = Ikev2KeySchedule.DeriveKeys(HmacPrf.Sha256, skeyseed, Ni, Nr, SpiI, SpiR, 32, 32);
        Assert.Equal(Of(stream.AsSpan(0, 32)), Of(keys.SK_d));
        Assert.Equal(Of(stream.AsSpan(32, 32)), Of(keys.SK_ai));
        Assert.Equal(Of(stream.AsSpan(64, 32)), Of(keys.SK_ar));
        Assert.Equal(Of(stream.AsSpan(96, 32)), Of(keys.SK_ei));
        Assert.Equal(Of(stream.AsSpan(128, 32)), Of(keys.SK_er));
        Assert.Equal(Of(stream.AsSpan(160, 32)), Of(keys.SK_pi));
        Assert.Equal(Of(stream.AsSpan(192, 32)), Of(keys.SK_pr));
    }

    [Fact]
    public void Keys_ForAnAead_HaveNoIntegrityKeys_AndSaltedEncryptionKeys()
    {
        var skeyseed = H([.. Ni, .. Nr], Gir);
        var stream = ReferencePrfPlus(skeyseed, [.. Ni, .. Nr, .. Spis()], 32 + 36 + 36 + 32 + 32);
        using var keys = Ikev2KeySchedule.DeriveKeys(HmacPrf.Sha256, skeyseed, Ni, Nr, SpiI, SpiR, 36, 0);
        Assert.Empty(keys.SK_ai);
        Assert.Empty(keys.SK_ar);
        Assert.Equal(Of(stream.AsSpan(32, 36)), Of(keys.SK_ei));
        Assert.Equal(Of(stream.AsSpan(68, 36)), Of(keys.SK_er));
        Assert.Equal(Of(stream.AsSpan(104, 32)), Of(keys.SK_pi));
    }

    [Fact]
    public void FixedKeyPrf_TakesHalfOfEachNonce()
    {
        // RFC 7296 §2.14: with AES-XCBC-PRF-128 and 32-byte nonces, the key is Ni[0..8] | Nr[0..8].
        byte[] key = [.. Ni.AsSpan(0, 8), .. Nr.AsSpan(0, 8)];
        Assert.Equal(Of(AesMacPrf.Xcbc.Compute(key, Gir)), Of(Ikev2KeySchedule.DeriveSkeyseed(AesMacPrf.Xcbc, Ni, Nr, Gir)));
        // Nonces that add up to the key size are used whole.
        Assert.Equal(Of(AesMacPrf.Cmac.Compute([.. Ni.AsSpan(0, 8), .. Nr.AsSpan(0, 8)], Gir)),
            Of(Ikev2KeySchedule.DeriveSkeyseed(AesMacPrf.Cmac, Ni.AsSpan(0, 8), Nr.AsSpan(0, 8), Gir)));
        // HMAC PRFs take the whole concatenation whatever its length.
        Assert.Equal(64, Ikev2KeySchedule.NonceKey(HmacPrf.Sha256, Ni, Nr).Length);
    }

    [Fact]
    public void IkeRekey_UsesTheOldSkdWithTheOldPrf()
    {
        var oldSkD = Enumerable.Repeat((byte)0x5D, 20).ToArray();
        var expected = HMACSHA1.HashData(oldSkD, (byte[])[.. Gir, .. Ni, .. Nr]);
        Assert.Equal(Of(expected), Of(Ikev2KeySchedule.DeriveRekeySkeyseed(HmacPrf.Sha1, oldSkD, Gir, Ni, Nr)));
    }

    [Fact]
    public void AdditionalKeyExchange_ChainsFromThePreviousSkd()
    {
        var skd = Enumerable.Repeat((byte)0x3C, 32).ToArray();
        var mlkem = Enumerable.Repeat((byte)0x77, 32).ToArray();
        Assert.Equal(Of(H(skd, mlkem, Ni, Nr)), Of(Ikev2KeySchedule.DeriveAdditionalKeSkeyseed(HmacPrf.Sha256, skd, mlkem, Ni, Nr)));
    }

    [Fact]
    public void ChildKeymat_WithoutPfs_SplitsInitiatorToResponderFirst()
    {
        var skd = Enumerable.Repeat((byte)0xD0, 32).ToArray();
        var stream = ReferencePrfPlus(skd, [.. Ni, .. Nr], 2 * (16 + 32));
        using var k = Ikev2KeySchedule.DeriveChildKeys(HmacPrf.Sha256, skd, Ni, Nr, 16, 32);
        Assert.Equal(Of(stream.AsSpan(0, 16)), Of(k.EncryptionKeyInitiatorToResponder));
        Assert.Equal(Of(stream.AsSpan(16, 32)), Of(k.IntegrityKeyInitiatorToResponder));
        Assert.Equal(Of(stream.AsSpan(48, 16)), Of(k.EncryptionKeyResponderToInitiator));
        Assert.Equal(Of(stream.AsSpan(64, 32)), Of(k.IntegrityKeyResponderToInitiator));
    }

    [Fact]
    public void ChildKeymat_WithPfs_PrependsTheNewSharedSecret()
    {
        var skd = Enumerable.Repeat((byte)0xD1, 32).ToArray();
        var addKe = Enumerable.Repeat((byte)0xAD, 32).ToArray();
        var stream = ReferencePrfPlus(skd, [.. Gir, .. addKe, .. Ni, .. Nr], 2 * 36);
        using var k = Ikev2KeySchedule.DeriveChildKeys(HmacPrf.Sha256, skd, Ni, Nr, 36, 0, Gir, addKe);
        Assert.Equal(Of(stream.AsSpan(0, 36)), Of(k.EncryptionKeyInitiatorToResponder));
        Assert.Empty(k.IntegrityKeyInitiatorToResponder);
        Assert.Equal(Of(stream.AsSpan(36, 36)), Of(k.EncryptionKeyResponderToInitiator));
    }

    [Fact]
    public void PskAuth_FollowsSection2_15()
    {
        var realMessage1 = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var skPi = Enumerable.Repeat((byte)0x9A, 32).ToArray();
        byte[] idBody = [2, 0, 0, 0, .. "a.example"u8];
        var psk = "interop-test-psk-not-secret"u8.ToArray();
        var maced = H(skPi, idBody);
        byte[] signed = [.. realMessage1, .. Nr, .. maced];
        var expected = H(H(psk, "Key Pad for IKEv2"u8.ToArray()), signed);

        var octets = Ikev2Auth.SignedOctets(HmacPrf.Sha256, realMessage1, Nr, skPi, idBody);
        Assert.Equal(Of(signed), Of(octets));
        var auth = Ikev2Auth.SharedKeyAuth(HmacPrf.Sha256, psk, octets);
        Assert.Equal(Of(expected), Of(auth));
        Assert.True(Ikev2Auth.Verify(expected, auth));
        auth[0] ^= 1;
        Assert.False(Ikev2Auth.Verify(expected, auth));
    }
}
