using System.Globalization;
using System.Numerics;
using Oakley.Crypto.KeyExchange;
using Oakley.Iana;

namespace Oakley.Crypto.Tests.KeyExchange;

/// <summary>A deterministic entropy source for tests (never for production).</summary>
internal sealed class SeededEntropy(int seed) : IEntropySource
{
    private readonly Random _random = new(seed);

    public void Fill(Span<byte> destination) => _random.NextBytes(destination);
}

public class KeyExchangeBehaviourTests
{
    public static TheoryData<KeId> AllMethods => new(
        KeId.Modp768, KeId.Modp1024, KeId.Modp1536, KeId.Modp2048, KeId.Modp3072, KeId.Modp4096, KeId.Modp6144, KeId.Modp8192,
        KeId.Modp1024s160, KeId.Modp2048s224, KeId.Modp2048s256,
        KeId.Ecp256, KeId.Ecp384, KeId.Ecp521, KeId.Ecp192, KeId.Ecp224,
        KeId.Brainpool224, KeId.Brainpool256, KeId.Brainpool384, KeId.Brainpool512,
        KeId.Curve25519, KeId.Curve448, KeId.MlKem512, KeId.MlKem768, KeId.MlKem1024);

    [Theory]
    [MemberData(nameof(AllMethods))]
    public void BothSides_AgreeOnTheSecret_WithTheRightLengths(KeId id)
    {
        Assert.True(KeyExchangeMethods.IsSupported(id));
        using var initiator = KeyExchangeMethods.Create(id, new SeededEntropy(1));
        using var responder = KeyExchangeMethods.Create(id, new SeededEntropy(2));
        var kei = initiator.GetPublicKey();
        Assert.Equal(KeyExchangeMethods.PublicKeyLength(id, fromInitiator: true), kei.Length);
        responder.SetPeerPublicKey(kei);
        var ker = responder.GetPublicKey();
        Assert.Equal(KeyExchangeMethods.PublicKeyLength(id, fromInitiator: false), ker.Length);
        initiator.SetPeerPublicKey(ker);
        Assert.Equal(initiator.GetSharedSecret(), responder.GetSharedSecret());
        Assert.Equal(id, initiator.Method);
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public void SameSeed_GivesTheSamePublicValue_DifferentSeedADifferentOne(KeId id)
    {
        using var a = KeyExchangeMethods.Create(id, new SeededEntropy(42));
        using var b = KeyExchangeMethods.Create(id, new SeededEntropy(42));
        using var c = KeyExchangeMethods.Create(id, new SeededEntropy(43));
        Assert.Equal(a.GetPublicKey(), b.GetPublicKey());
        Assert.NotEqual(a.GetPublicKey(), c.GetPublicKey());
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public void WrongLength_IsInvalidSyntax(KeId id)
    {
        using var ke = KeyExchangeMethods.Create(id, new SeededEntropy(3));
        var length = KeyExchangeMethods.PublicKeyLength(id, fromInitiator: !KeyExchangeMethods.IsKem(id));
        if (KeyExchangeMethods.IsKem(id))
        {
            ke.GetPublicKey(); // initiator role: expects a ciphertext
        }

        foreach (var n in new[] { 0, 1, length - 1, length + 1 })
        {
            var ex = Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(new byte[n]));
            Assert.Equal(NotifyType.InvalidSyntax, ex.Notify);
        }
    }

    public static TheoryData<KeId> ModpGroups => new(KeId.Modp768, KeId.Modp1024, KeId.Modp2048, KeId.Modp8192, KeId.Modp1024s160, KeId.Modp2048s256);

    [Theory]
    [MemberData(nameof(ModpGroups))]
    public void Modp_RejectsValuesOutsideOneToPMinusOne(KeId id)
    {
        using var ke = KeyExchangeMethods.Create(id, new SeededEntropy(4));
        var length = KeyExchangeMethods.PublicKeyLength(id, true);
        var p = Prime(id);
        foreach (var y in new[] { BigInteger.Zero, BigInteger.One, p - 1, p, p + 1, (BigInteger.One << (8 * length)) - 1 })
        {
            var bytes = new byte[length];
            var raw = y.ToByteArray(isUnsigned: true, isBigEndian: true);
            raw.CopyTo(bytes, length - raw.Length);
            var ex = Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(bytes));
            Assert.Equal(NotifyType.InvalidSyntax, ex.Notify);
        }
    }

    [Theory]
    [InlineData(KeId.Modp1024s160)]
    [InlineData(KeId.Modp2048s224)]
    [InlineData(KeId.Modp2048s256)]
    public void Rfc5114Groups_RejectValuesOutsideTheSubgroup(KeId id)
    {
        // 2 generates a larger subgroup than q for these primes: 1 < 2 < p-1 passes, 2^q mod p != 1 must fail.
        using var ke = KeyExchangeMethods.Create(id, new SeededEntropy(5));
        var bytes = new byte[KeyExchangeMethods.PublicKeyLength(id, true)];
        bytes[^1] = 2;
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(bytes)).Notify);
    }

    [Theory]
    [InlineData(KeId.Ecp256)]
    [InlineData(KeId.Ecp384)]
    [InlineData(KeId.Ecp521)]
    [InlineData(KeId.Brainpool256)]
    [InlineData(KeId.Ecp192)]
    public void Ecp_RejectsPointsOffTheCurve_AndCoordinatesAboveP(KeId id)
    {
        using var ke = KeyExchangeMethods.Create(id, new SeededEntropy(6));
        using var other = KeyExchangeMethods.Create(id, new SeededEntropy(7));
        var good = other.GetPublicKey();
        var offCurve = (byte[])good.Clone();
        offCurve[^1] ^= 1; // y changed: no longer on the curve
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(offCurve)).Notify);
        var allOnes = Enumerable.Repeat((byte)0xFF, good.Length).ToArray(); // x, y >= p
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(allOnes)).Notify);
        var zero = new byte[good.Length]; // (0, 0): the encoding of no valid point
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(zero)).Notify);
        ke.SetPeerPublicKey(good); // and the untouched value is accepted
    }

    [Fact]
    public void X25519_RejectsLowOrderPoints()
    {
        using var ke = KeyExchangeMethods.Create(KeId.Curve25519, new SeededEntropy(8));
        // u = 0 and u = 1 are of small order: the shared secret would be all zeros (RFC 7748 §6.1, RFC 8031 §2).
        var zero = new byte[32];
        var one = new byte[32];
        one[0] = 1;
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(zero)).Notify);
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(one)).Notify);
    }

    [Fact]
    public void X448_RejectsLowOrderPoints()
    {
        using var ke = KeyExchangeMethods.Create(KeId.Curve448, new SeededEntropy(9));
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => ke.SetPeerPublicKey(new byte[56])).Notify);
    }

    [Fact]
    public void MlKem_RejectsAnEncapsulationKeyFailingTheModulusCheck()
    {
        using var initiator = KeyExchangeMethods.Create(KeId.MlKem768, new SeededEntropy(10));
        var ek = initiator.GetPublicKey();
        ek[0] = 0xFF;
        ek[1] |= 0x0F; // first coefficient = 0xFFF = 4095 >= q = 3329
        using var responder = KeyExchangeMethods.Create(KeId.MlKem768, new SeededEntropy(11));
        Assert.Equal(NotifyType.InvalidSyntax, Assert.Throws<IkeProtocolException>(() => responder.SetPeerPublicKey(ek)).Notify);
    }

    [Fact]
    public void MlKem_ForgedCiphertext_GivesADifferentSecret()
    {
        using var initiator = KeyExchangeMethods.Create(KeId.MlKem512, new SeededEntropy(12));
        using var responder = KeyExchangeMethods.Create(KeId.MlKem512, new SeededEntropy(13));
        responder.SetPeerPublicKey(initiator.GetPublicKey());
        var ct = responder.GetPublicKey();
        ct[5] ^= 1;
        initiator.SetPeerPublicKey(ct);
        Assert.NotEqual(responder.GetSharedSecret(), initiator.GetSharedSecret());
    }

    [Fact]
    public void SharedSecret_BeforePeerValue_IsACallerBug()
    {
        using var ke = KeyExchangeMethods.Create(KeId.Curve25519, new SeededEntropy(14));
        Assert.Throws<InvalidOperationException>(() => ke.GetSharedSecret());
    }

    [Fact]
    public void UnsupportedMethod_IsReported()
    {
        Assert.False(KeyExchangeMethods.IsSupported(KeId.Gost3410_2012_256));
        Assert.Throws<NotSupportedException>(() => KeyExchangeMethods.Create(KeId.Gost3410_2012_256, new SeededEntropy(1)));
    }

    internal static BigInteger Prime(KeId id) => id switch
    {
        KeId.Modp768 => Parse(ModpGroupParameters.Modp768Prime),
        KeId.Modp1024 => Parse(ModpGroupParameters.Modp1024Prime),
        KeId.Modp1536 => Parse(ModpGroupParameters.Modp1536Prime),
        KeId.Modp2048 => Parse(ModpGroupParameters.Modp2048Prime),
        KeId.Modp3072 => Parse(ModpGroupParameters.Modp3072Prime),
        KeId.Modp4096 => Parse(ModpGroupParameters.Modp4096Prime),
        KeId.Modp6144 => Parse(ModpGroupParameters.Modp6144Prime),
        KeId.Modp8192 => Parse(ModpGroupParameters.Modp8192Prime),
        KeId.Modp1024s160 => Parse(ModpGroupParameters.Modp1024s160Prime),
        KeId.Modp2048s224 => Parse(ModpGroupParameters.Modp2048s224Prime),
        _ => Parse(ModpGroupParameters.Modp2048s256Prime),
    };

    internal static BigInteger Parse(string hex) => BigInteger.Parse("0" + hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
