using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using Oakley.Iana;

namespace Oakley.Crypto.KeyExchange;

/// <summary>A finite-field Diffie-Hellman group: prime, generator, optional subgroup order, private exponent length.</summary>
internal sealed class ModpGroup
{
    public ModpGroup(KeId id, string primeHex, BigInteger generator, string? orderHex, int exponentBits)
    {
        Id = id;
        Prime = BigInteger.Parse("0" + primeHex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Generator = generator;
        Order = orderHex is null ? null : BigInteger.Parse("0" + orderHex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        ExponentBits = exponentBits;
        Length = (int)((Prime.GetBitLength() + 7) / 8);
        PrimeMinusOne = Prime - 1;
        OpenSslBn.EnsureLoaded();
        NativePrime = OpenSslBn.FromBytes(Prime.ToByteArray(isUnsigned: true, isBigEndian: true));
        NativeGenerator = OpenSslBn.FromBytes(Generator.ToByteArray(isUnsigned: true, isBigEndian: true));
        NativeOrder = Order is { } q ? OpenSslBn.FromBytes(q.ToByteArray(isUnsigned: true, isBigEndian: true)) : IntPtr.Zero;
        NativeMont = OpenSslBn.CreateMont(NativePrime);
    }

    // OpenSSL BIGNUMs for the fixed parameters: created once per group, never freed (the groups are static).
    public IntPtr NativePrime { get; }

    public IntPtr NativeGenerator { get; }

    public IntPtr NativeOrder { get; }

    public IntPtr NativeMont { get; }

    public KeId Id { get; }

    public BigInteger Prime { get; }

    public BigInteger PrimeMinusOne { get; }

    public BigInteger Generator { get; }

    /// <summary>The prime order q of the generator's subgroup (RFC 5114 groups only).</summary>
    public BigInteger? Order { get; }

    public int ExponentBits { get; }

    /// <summary>Public values and shared secrets are padded to this many bytes (RFC 7296 §3.4).</summary>
    public int Length { get; }

    private static readonly Dictionary<KeId, ModpGroup> Groups = Build();

    public static ModpGroup Get(KeId id) => Groups[id];

    public static bool Has(KeId id) => Groups.ContainsKey(id);

    private static Dictionary<KeId, ModpGroup> Build()
    {
        static BigInteger Hex(string s) => BigInteger.Parse("0" + s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        // Private exponents: at least twice the group's security strength (NIST SP 800-56A/SP 800-57), never
        // below 256 bits for the RFC 3526 groups; the RFC 5114 groups draw from [1, q-1].
        return new[]
        {
            new ModpGroup(KeId.Modp768, ModpGroupParameters.Modp768Prime, 2, null, 256),
            new ModpGroup(KeId.Modp1024, ModpGroupParameters.Modp1024Prime, 2, null, 256),
            new ModpGroup(KeId.Modp1536, ModpGroupParameters.Modp1536Prime, 2, null, 256),
            new ModpGroup(KeId.Modp2048, ModpGroupParameters.Modp2048Prime, 2, null, 256),
            new ModpGroup(KeId.Modp3072, ModpGroupParameters.Modp3072Prime, 2, null, 256),
            new ModpGroup(KeId.Modp4096, ModpGroupParameters.Modp4096Prime, 2, null, 320),
            new ModpGroup(KeId.Modp6144, ModpGroupParameters.Modp6144Prime, 2, null, 384),
            new ModpGroup(KeId.Modp8192, ModpGroupParameters.Modp8192Prime, 2, null, 512),
            new ModpGroup(KeId.Modp1024s160, ModpGroupParameters.Modp1024s160Prime, Hex(ModpGroupParameters.Modp1024s160Generator), ModpGroupParameters.Modp1024s160Order, 160),
            new ModpGroup(KeId.Modp2048s224, ModpGroupParameters.Modp2048s224Prime, Hex(ModpGroupParameters.Modp2048s224Generator), ModpGroupParameters.Modp2048s224Order, 224),
            new ModpGroup(KeId.Modp2048s256, ModpGroupParameters.Modp2048s256Prime, Hex(ModpGroupParameters.Modp2048s256Generator), ModpGroupParameters.Modp2048s256Order, 256),
        }.ToDictionary(g => g.Id);
    }
}

/// <summary>
/// Finite-field Diffie-Hellman (MODP groups 1, 2, 5, 14-18 and RFC 5114 groups 22-24). The exponentiations
/// run in OpenSSL (<see cref="OpenSslBn"/>, about 12x faster than System.Numerics.BigInteger here); range
/// checks use BigInteger. Peer values are validated per RFC 6989 §2.1: exact length and
/// 1 &lt; y &lt; p-1, plus y^q = 1 mod p for the prime-order-subgroup groups (RFC 6989 §2.2).
/// </summary>
public sealed class ModpKeyExchange : KeyExchange
{
    private readonly ModpGroup _group;
    private BigInteger _private;
    private byte[]? _shared;

    internal ModpKeyExchange(KeId id, IEntropySource entropy)
        : this(ModpGroup.Get(id), GeneratePrivate(ModpGroup.Get(id), entropy))
    {
    }

    private ModpKeyExchange(ModpGroup group, BigInteger privateExponent)
    {
        _group = group;
        _private = privateExponent;
    }

    public override KeId Method => _group.Id;

    /// <summary>Test hook: a key exchange with a known private exponent (big-endian bytes).</summary>
    internal static ModpKeyExchange FromPrivateKey(KeId id, ReadOnlySpan<byte> privateExponent) =>
        new(ModpGroup.Get(id), new BigInteger(privateExponent, isUnsigned: true, isBigEndian: true));

    public override byte[] GetPublicKey()
    {
        var result = new byte[_group.Length];
        ModExp(_group.NativeGenerator, secret: true, result);
        return result;
    }

    /// <summary>base^x mod p with our private exponent x (constant time in x).</summary>
    private void ModExp(IntPtr @base, bool secret, Span<byte> output)
    {
        var exponentBytes = _private.ToByteArray(isUnsigned: true, isBigEndian: true);
        var exponent = OpenSslBn.FromBytes(exponentBytes);
        try
        {
            OpenSslBn.ModExp(@base, exponent, _group.NativePrime, _group.NativeMont, secret, output);
        }
        finally
        {
            OpenSslBn.BN_clear_free(exponent);
            CryptographicOperations.ZeroMemory(exponentBytes);
        }
    }

    public override void SetPeerPublicKey(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != _group.Length)
        {
            throw IkeProtocolException.InvalidSyntax($"KE data of {peerPublicKey.Length} bytes for {_group.Id}, expected {_group.Length}");
        }

        var y = new BigInteger(peerPublicKey, isUnsigned: true, isBigEndian: true);
        if (y <= BigInteger.One || y >= _group.PrimeMinusOne)
        {
            // RFC 6989 §2.1: reject 0, 1, p-1 and anything not below p.
            throw IkeProtocolException.InvalidSyntax($"{_group.Id} public value outside 1 < y < p-1");
        }

        var peer = OpenSslBn.FromBytes(peerPublicKey);
        try
        {
            if (_group.Order is not null)
            {
                // RFC 6989 §2.2: for groups with a small subgroup, y^q mod p must be 1 (q is public: no constant time needed).
                Span<byte> check = stackalloc byte[_group.Length];
                OpenSslBn.ModExp(peer, _group.NativeOrder, _group.NativePrime, _group.NativeMont, secretExponent: false, check);
                if (check[..^1].ContainsAnyExcept((byte)0) || check[^1] != 1)
                {
                    throw IkeProtocolException.InvalidSyntax($"{_group.Id} public value is not in the prime-order subgroup");
                }
            }

            var shared = new byte[_group.Length];
            ModExp(peer, secret: true, shared);
            _shared = shared;
        }
        finally
        {
            OpenSslBn.BN_free(peer);
        }
    }

    public override byte[] GetSharedSecret() => _shared ?? throw new InvalidOperationException("the peer's public value has not been set");

    protected override void Dispose(bool disposing)
    {
        _private = BigInteger.Zero;
        if (_shared is not null)
        {
            CryptographicOperations.ZeroMemory(_shared);
        }
    }

    private static BigInteger GeneratePrivate(ModpGroup group, IEntropySource entropy)
    {
        var bytes = new byte[(group.ExponentBits + 7) / 8];
        try
        {
            while (true)
            {
                entropy.Fill(bytes);
                var extra = (bytes.Length * 8) - group.ExponentBits;
                bytes[0] &= (byte)(0xFF >> extra);
                var x = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
                if (x > BigInteger.One && (group.Order is not { } q || x < q))
                {
                    return x;
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
