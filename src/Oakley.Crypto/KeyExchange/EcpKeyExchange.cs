using System.Security.Cryptography;
using Oakley.Iana;

namespace Oakley.Crypto.KeyExchange;

/// <summary>
/// Elliptic-curve Diffie-Hellman over the NIST (RFC 5903, RFC 5114) and Brainpool (RFC 6954) curves through
/// the BCL (OpenSSL). The KE data is x ‖ y, each padded to the field size; the shared secret is the x
/// coordinate alone (RFC 5903 §7, §9). The private scalar comes from the injected entropy and is imported;
/// importing the peer's point makes OpenSSL check that it lies on the curve.
/// </summary>
public sealed class EcpKeyExchange : KeyExchange
{
    private readonly ECDiffieHellman _key;
    private readonly int _coordinateSize;
    private byte[]? _shared;

    internal EcpKeyExchange(KeId id, IEntropySource entropy)
    {
        Method = id;
        var (curve, size, order) = Curve(id);
        _coordinateSize = size;
        var d = new byte[order.Length];
        try
        {
            // Rejection sampling of a scalar in [1, n-1] (FIPS 186-5 A.4.2 style): draw the order's length,
            // mask to its bit length, retry if out of range.
            var topMask = (byte)(0xFF >> System.Numerics.BitOperations.LeadingZeroCount((uint)order[0]) - 24);
            do
            {
                entropy.Fill(d);
                d[0] &= topMask;
            }
            while (IsZero(d) || d.AsSpan().SequenceCompareTo(order) >= 0);

            _key = ECDiffieHellman.Create();
            _key.ImportParameters(new ECParameters { Curve = curve, D = d });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    private EcpKeyExchange(KeId id, ReadOnlySpan<byte> privateKey)
    {
        Method = id;
        var (curve, size, _) = Curve(id);
        _coordinateSize = size;
        _key = ECDiffieHellman.Create();
        _key.ImportParameters(new ECParameters { Curve = curve, D = privateKey.ToArray() });
    }

    public override KeId Method { get; }

    internal static EcpKeyExchange FromPrivateKey(KeId id, ReadOnlySpan<byte> privateKey) => new(id, privateKey);

    internal static bool Supports(KeId id) => id is KeId.Ecp256 or KeId.Ecp384 or KeId.Ecp521 or KeId.Ecp192 or KeId.Ecp224
        or KeId.Brainpool224 or KeId.Brainpool256 or KeId.Brainpool384 or KeId.Brainpool512;

    public override byte[] GetPublicKey()
    {
        var q = _key.ExportParameters(false).Q;
        var result = new byte[2 * _coordinateSize];
        q.X!.CopyTo(result.AsSpan(_coordinateSize - q.X!.Length));
        q.Y!.CopyTo(result.AsSpan((2 * _coordinateSize) - q.Y!.Length));
        return result;
    }

    public override void SetPeerPublicKey(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != 2 * _coordinateSize)
        {
            throw IkeProtocolException.InvalidSyntax($"KE data of {peerPublicKey.Length} bytes for {Method}, expected {2 * _coordinateSize}");
        }

        ECDiffieHellman? peer = null;
        try
        {
            peer = ECDiffieHellman.Create();
            // OpenSSL rejects coordinates >= p, the point at infinity and points not on the curve.
            peer.ImportParameters(new ECParameters
            {
                Curve = Curve(Method).Curve,
                Q = new ECPoint { X = peerPublicKey[.._coordinateSize].ToArray(), Y = peerPublicKey[_coordinateSize..].ToArray() },
            });
            _shared = _key.DeriveRawSecretAgreement(peer.PublicKey);
        }
        catch (CryptographicException)
        {
            throw IkeProtocolException.InvalidSyntax($"{Method} public value is not a valid point on the curve");
        }
        finally
        {
            peer?.Dispose();
        }

        if (_shared.Length != _coordinateSize)
        {
            var padded = new byte[_coordinateSize];
            _shared.CopyTo(padded.AsSpan(_coordinateSize - _shared.Length));
            _shared = padded;
        }
    }

    public override byte[] GetSharedSecret() => _shared ?? throw new InvalidOperationException("the peer's public value has not been set");

    protected override void Dispose(bool disposing)
    {
        _key.Dispose();
        if (_shared is not null)
        {
            CryptographicOperations.ZeroMemory(_shared);
        }
    }

    private static bool IsZero(ReadOnlySpan<byte> s) => !s.ContainsAnyExcept((byte)0);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<KeId, (ECCurve Curve, int CoordinateSize, byte[] Order)> Curves = new();

    /// <summary>The curve, its field size and its order n, read once from OpenSSL's explicit curve parameters.</summary>
    private static (ECCurve Curve, int CoordinateSize, byte[] Order) Curve(KeId id) => Curves.GetOrAdd(id, static id =>
    {
        var curve = id switch
        {
            KeId.Ecp256 => ECCurve.NamedCurves.nistP256,
            KeId.Ecp384 => ECCurve.NamedCurves.nistP384,
            KeId.Ecp521 => ECCurve.NamedCurves.nistP521,
            KeId.Ecp192 => ECCurve.CreateFromValue("1.2.840.10045.3.1.1"), // secp192r1, RFC 5114 §2.6
            KeId.Ecp224 => ECCurve.CreateFromValue("1.3.132.0.33"),        // secp224r1, RFC 5114 §2.7
            KeId.Brainpool224 => ECCurve.NamedCurves.brainpoolP224r1,
            KeId.Brainpool256 => ECCurve.NamedCurves.brainpoolP256r1,
            KeId.Brainpool384 => ECCurve.NamedCurves.brainpoolP384r1,
            KeId.Brainpool512 => ECCurve.NamedCurves.brainpoolP512r1,
            _ => throw new ArgumentOutOfRangeException(nameof(id), id, "not an ECP group"),
        };
        using var probe = ECDiffieHellman.Create(curve);
        var explicitCurve = probe.ExportExplicitParameters(false).Curve;
        return (curve, explicitCurve.Prime!.Length, explicitCurve.Order!);
    });
}
