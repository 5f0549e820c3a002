using System.Security.Cryptography;
using Oakley.Iana;

namespace Oakley.Crypto.Prf;

/// <summary>PRF_HMAC_* (RFC 2104, RFC 4868) through the BCL's one-shot HMAC, which does not allocate.</summary>
public sealed class HmacPrf : Prf
{
    private HmacPrf(PrfId id, HashAlgorithmName hash, int outputSize, int blockSize)
    {
        Id = id;
        Hash = hash;
        OutputSize = outputSize;
        BlockSize = blockSize;
    }

    public static HmacPrf Md5 { get; } = new(PrfId.HmacMd5, HashAlgorithmName.MD5, 16, 64);
    public static HmacPrf Sha1 { get; } = new(PrfId.HmacSha1, HashAlgorithmName.SHA1, 20, 64);
    public static HmacPrf Sha256 { get; } = new(PrfId.HmacSha2_256, HashAlgorithmName.SHA256, 32, 64);
    public static HmacPrf Sha384 { get; } = new(PrfId.HmacSha2_384, HashAlgorithmName.SHA384, 48, 128);
    public static HmacPrf Sha512 { get; } = new(PrfId.HmacSha2_512, HashAlgorithmName.SHA512, 64, 128);

    public override PrfId Id { get; }

    public HashAlgorithmName Hash { get; }

    /// <summary>The hash's internal block size in bytes.</summary>
    public int BlockSize { get; }

    public override int OutputSize { get; }

    /// <summary>RFC 4868 §2.1.2: the key length for PRF_HMAC_SHA2 is the output length; likewise for MD5/SHA1.</summary>
    public override int KeySize => OutputSize;

    public override bool HasFixedKeySize => false;

    public override void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination) =>
        CryptographicOperations.HmacData(Hash, key, data, destination);
}
