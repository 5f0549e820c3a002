using System.Security.Cryptography;
using Oakley.Iana;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Oakley.Crypto.KeyExchange;

/// <summary>
/// Curve448 (RFC 7748, RFC 8031) through BouncyCastle's X448 functions: neither the BCL nor libsodium has it.
/// </summary>
public sealed class X448KeyExchange : KeyExchange
{
    private const int Size = 56;
    private readonly byte[] _private = new byte[Size];
    private byte[]? _shared;

    internal X448KeyExchange(IEntropySource entropy) => entropy.Fill(_private);

    private X448KeyExchange(ReadOnlySpan<byte> privateKey) => privateKey.CopyTo(_private);

    public override KeId Method => KeId.Curve448;

    internal static X448KeyExchange FromPrivateKey(ReadOnlySpan<byte> privateKey) => new(privateKey);

    /// <summary>The raw X448 function (RFC 7748 §5) for known-answer tests.</summary>
    internal static bool ScalarMult(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> u, Span<byte> output)
    {
        var r = new byte[Size];
        var ok = X448.CalculateAgreement(scalar.ToArray(), 0, u.ToArray(), 0, r, 0);
        r.CopyTo(output);
        return ok;
    }

    public override byte[] GetPublicKey()
    {
        var pub = new byte[Size];
        X448.ScalarMultBase(_private, 0, pub, 0);
        return pub;
    }

    public override void SetPeerPublicKey(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != Size)
        {
            throw IkeProtocolException.InvalidSyntax($"Curve448 KE data of {peerPublicKey.Length} bytes, expected 56");
        }

        var shared = new byte[Size];
        // CalculateAgreement returns false for an all-zero result; RFC 8031 §2 requires rejecting it.
        if (!X448.CalculateAgreement(_private, 0, peerPublicKey.ToArray(), 0, shared, 0) || !shared.AsSpan().ContainsAnyExcept((byte)0))
        {
            throw IkeProtocolException.InvalidSyntax("Curve448 public value yields an all-zero shared secret");
        }

        _shared = shared;
    }

    public override byte[] GetSharedSecret() => _shared ?? throw new InvalidOperationException("the peer's public value has not been set");

    protected override void Dispose(bool disposing)
    {
        CryptographicOperations.ZeroMemory(_private);
        if (_shared is not null)
        {
            CryptographicOperations.ZeroMemory(_shared);
        }
    }
}
