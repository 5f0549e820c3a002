using System.Numerics;
using Oakley.Crypto.KeyExchange;
using Oakley.Iana;

namespace Oakley.Crypto.Tests.KeyExchange;

/// <summary>
/// Guards against transcription errors in the MODP primes: each RFC 2409/3526 prime is recomputed from its
/// defining formula with an independently computed pi, and checked to be a safe prime; the RFC 5114 groups
/// are checked for a prime q dividing p-1 with g of order q.
/// </summary>
public class ModpParameterTests
{
    public static TheoryData<KeId, int, int> OakleyGroups => new()
    {
        { KeId.Modp768, 768, 149686 },
        { KeId.Modp1024, 1024, 129093 },
        { KeId.Modp1536, 1536, 741804 },
        { KeId.Modp2048, 2048, 124476 },
        { KeId.Modp3072, 3072, 1690314 },
        { KeId.Modp4096, 4096, 240904 },
        { KeId.Modp6144, 6144, 929484 },
        { KeId.Modp8192, 8192, 4743158 },
    };

    [Theory]
    [MemberData(nameof(OakleyGroups))]
    public void Prime_MatchesTheRfcFormula(KeId id, int n, int k)
    {
        // p = 2^n - 2^(n-64) - 1 + 2^64 * ( [2^(n-130) pi] + k )  (RFC 2409 §6, RFC 3526)
        var expected = (BigInteger.One << n) - (BigInteger.One << (n - 64)) - 1 + ((PiTimesPowerOfTwo(n - 130) + k) << 64);
        Assert.Equal(expected, KeyExchangeBehaviourTests.Prime(id));
    }

    [Theory]
    [InlineData(KeId.Modp768)]
    [InlineData(KeId.Modp1024)]
    [InlineData(KeId.Modp1536)]
    [InlineData(KeId.Modp2048)]
    [InlineData(KeId.Modp3072)]
    public void Prime_IsASafePrime(KeId id)
    {
        var p = KeyExchangeBehaviourTests.Prime(id);
        Assert.True(ProbablyPrime(p));
        Assert.True(ProbablyPrime((p - 1) / 2));
    }

    [Theory]
    [InlineData(KeId.Modp1024s160, ModpGroupParameters.Modp1024s160Generator, ModpGroupParameters.Modp1024s160Order, 160)]
    [InlineData(KeId.Modp2048s224, ModpGroupParameters.Modp2048s224Generator, ModpGroupParameters.Modp2048s224Order, 224)]
    [InlineData(KeId.Modp2048s256, ModpGroupParameters.Modp2048s256Generator, ModpGroupParameters.Modp2048s256Order, 256)]
    public void Rfc5114Group_HasAPrimeOrderSubgroup(KeId id, string generator, string order, int orderBits)
    {
        var p = KeyExchangeBehaviourTests.Prime(id);
        var g = KeyExchangeBehaviourTests.Parse(generator);
        var q = KeyExchangeBehaviourTests.Parse(order);
        Assert.Equal(orderBits, (int)q.GetBitLength());
        Assert.True(ProbablyPrime(p));
        Assert.True(ProbablyPrime(q));
        Assert.True(((p - 1) % q).IsZero);
        Assert.True(BigInteger.ModPow(g, q, p).IsOne);
    }

    /// <summary>floor(pi * 2^bits) by Machin's formula, pi = 16 arctan(1/5) - 4 arctan(1/239), with 64 guard bits.</summary>
    private static BigInteger PiTimesPowerOfTwo(int bits)
    {
        var one = BigInteger.One << (bits + 64);
        BigInteger ArctanInverse(int x)
        {
            BigInteger sum = 0, term = one / x, x2 = x * x;
            for (var n = 1; !term.IsZero; n += 2)
            {
                sum += ((n / 2) % 2 == 0 ? term : -term) / n;
                term /= x2;
            }

            return sum;
        }

        return ((16 * ArctanInverse(5)) - (4 * ArctanInverse(239))) >> 64;
    }

    /// <summary>Miller-Rabin with fixed bases: enough to catch any transcription error with overwhelming probability.</summary>
    private static bool ProbablyPrime(BigInteger n)
    {
        var d = n - 1;
        var s = 0;
        while (d.IsEven)
        {
            d >>= 1;
            s++;
        }

        foreach (var a in new BigInteger[] { 2, 3, 5 })
        {
            var x = BigInteger.ModPow(a, d, n);
            if (x.IsOne || x == n - 1)
            {
                continue;
            }

            var composite = true;
            for (var r = 1; r < s && composite; r++)
            {
                x = BigInteger.ModPow(x, 2, n);
                composite = x != n - 1;
            }

            if (composite)
            {
                return false;
            }
        }

        return true;
    }
}
