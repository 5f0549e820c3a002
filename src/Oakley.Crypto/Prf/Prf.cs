using Oakley.Iana;

namespace Oakley.Crypto.Prf;

/// <summary>
/// A pseudorandom function as IKE uses it (RFC 7296 §2.13, RFC 2409 §5). Implementations are stateless
/// and thread-safe; <see cref="Compute"/> does not allocate for HMAC-based PRFs.
/// </summary>
public abstract class Prf
{
    public abstract PrfId Id { get; }

    /// <summary>Length of one PRF output block in bytes.</summary>
    public abstract int OutputSize { get; }

    /// <summary>
    /// The preferred key length in bytes. For HMAC PRFs any length is accepted; for fixed-key PRFs
    /// (AES-XCBC-PRF-128, AES-CMAC-PRF-128) RFC 7296 §2.14 splits nonces to reach this length.
    /// </summary>
    public abstract int KeySize { get; }

    /// <summary>True when the PRF takes a fixed-length key (RFC 7296 §2.14 "the PRF requires a fixed-length key").</summary>
    public abstract bool HasFixedKeySize { get; }

    /// <summary>Computes prf(key, data) into <paramref name="destination"/>, which must hold <see cref="OutputSize"/> bytes.</summary>
    public abstract void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination);

    public byte[] Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data)
    {
        var output = new byte[OutputSize];
        Compute(key, data, output);
        return output;
    }
}
