using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Oakley.Iana;

namespace Oakley.Crypto.KeyExchange;

/// <summary>
/// Curve25519 (RFC 7748, RFC 8031) through a thin P/Invoke to libsodium, which ships inside NSec's package.
/// NSec's own Key/Agree path costs about 10× the math (guarded secure memory per key), so the handshake uses
/// the raw scalar-multiplication functions. The scalar comes from the injected entropy.
/// </summary>
public sealed class X25519KeyExchange : KeyExchange
{
    private const int Size = 32;
    private readonly byte[] _private = new byte[Size];
    private byte[]? _shared;

    internal X25519KeyExchange(IEntropySource entropy) => entropy.Fill(_private);

    private X25519KeyExchange(ReadOnlySpan<byte> privateKey) => privateKey.CopyTo(_private);

    public override KeId Method => KeId.Curve25519;

    internal static X25519KeyExchange FromPrivateKey(ReadOnlySpan<byte> privateKey) => new(privateKey);

    /// <summary>The raw X25519 function (RFC 7748 §5) for known-answer tests; false when libsodium rejects the result.</summary>
    internal static bool ScalarMult(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> u, Span<byte> output) =>
        LibSodium.crypto_scalarmult_curve25519(ref MemoryMarshal.GetReference(output), in MemoryMarshal.GetReference(scalar), in MemoryMarshal.GetReference(u)) == 0;

    public override byte[] GetPublicKey()
    {
        var pub = new byte[Size];
        if (LibSodium.crypto_scalarmult_curve25519_base(ref pub[0], in _private[0]) != 0)
        {
            throw new CryptographicException("X25519 public key generation failed");
        }

        return pub;
    }

    public override void SetPeerPublicKey(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != Size)
        {
            throw IkeProtocolException.InvalidSyntax($"Curve25519 KE data of {peerPublicKey.Length} bytes, expected 32");
        }

        var shared = new byte[Size];
        // libsodium returns -1 when the result is all zeros (a low-order point); RFC 8031 §2 requires rejecting it.
        if (!ScalarMult(_private, peerPublicKey, shared) || !shared.AsSpan().ContainsAnyExcept((byte)0))
        {
            throw IkeProtocolException.InvalidSyntax("Curve25519 public value yields an all-zero shared secret");
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
