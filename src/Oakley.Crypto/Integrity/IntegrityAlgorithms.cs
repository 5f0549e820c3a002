using System.Security.Cryptography;
using Oakley.Crypto.Cipher;
using Oakley.Iana;

namespace Oakley.Crypto.Integrity;

/// <summary>AUTH_HMAC_* (RFC 2404, RFC 2403, RFC 4868): HMAC truncated to the ICV length.</summary>
public sealed class HmacIntegrity : IntegrityAlgorithm
{
    private HmacIntegrity(IntegId id, HashAlgorithmName hash, int keySize, int icvSize)
    {
        Id = id;
        Hash = hash;
        KeySize = keySize;
        IcvSize = icvSize;
    }

    public static HmacIntegrity Md5_96 { get; } = new(IntegId.HmacMd5_96, HashAlgorithmName.MD5, 16, 12);
    public static HmacIntegrity Sha1_96 { get; } = new(IntegId.HmacSha1_96, HashAlgorithmName.SHA1, 20, 12);
    public static HmacIntegrity Sha256_128 { get; } = new(IntegId.HmacSha2_256_128, HashAlgorithmName.SHA256, 32, 16);
    public static HmacIntegrity Sha384_192 { get; } = new(IntegId.HmacSha2_384_192, HashAlgorithmName.SHA384, 48, 24);
    public static HmacIntegrity Sha512_256 { get; } = new(IntegId.HmacSha2_512_256, HashAlgorithmName.SHA512, 64, 32);

    public override IntegId Id { get; }

    public HashAlgorithmName Hash { get; }

    public override int KeySize { get; }

    public override int IcvSize { get; }

    public override IntegrityContext CreateContext(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"{Id} needs a {KeySize}-byte key", nameof(key));
        }

        if (OpenSslHmacContext.Digest(Hash) is var digest && digest != IntPtr.Zero)
        {
            return new OpenSslHmacContext(digest, key, IcvSize);
        }

        return new HmacContext(IncrementalHash.CreateHMAC(Hash, key), IcvSize);
    }

    private sealed class HmacContext(IncrementalHash hmac, int icvSize) : IntegrityContext
    {
        public override void Compute(ReadOnlySpan<byte> data, Span<byte> icv)
        {
            Span<byte> full = stackalloc byte[64];
            hmac.AppendData(data);
            hmac.GetHashAndReset(full);
            full[..icvSize].CopyTo(icv);
        }

        public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> icv)
        {
            if (icv.Length != icvSize)
            {
                return false;
            }

            Span<byte> expected = stackalloc byte[64];
            hmac.AppendData(data);
            hmac.GetHashAndReset(expected);
            return CryptographicOperations.FixedTimeEquals(expected[..icvSize], icv);
        }

        protected override void Dispose(bool disposing) => hmac.Dispose();
    }
}

/// <summary>AUTH_AES_XCBC_96 (RFC 3566) and AUTH_AES_CMAC_96 (RFC 4494): a 16-byte key, the MAC truncated to 12 bytes.</summary>
public sealed class AesMacIntegrity : IntegrityAlgorithm
{
    private readonly bool _cmac;

    private AesMacIntegrity(bool cmac) => _cmac = cmac;

    public static AesMacIntegrity Xcbc96 { get; } = new(false);

    public static AesMacIntegrity Cmac96 { get; } = new(true);

    public override IntegId Id => _cmac ? IntegId.AesCmac96 : IntegId.AesXcbc96;

    public override int KeySize => 16;

    public override int IcvSize => 12;

    public override IntegrityContext CreateContext(ReadOnlySpan<byte> key)
    {
        if (key.Length != 16)
        {
            throw new ArgumentException($"{Id} needs a 16-byte key", nameof(key));
        }

        return new MacContext(_cmac ? AesMac.CreateCmac(key) : AesMac.CreateXcbc(key));
    }

    private sealed class MacContext(AesMac mac) : IntegrityContext
    {
        public override void Compute(ReadOnlySpan<byte> data, Span<byte> icv)
        {
            Span<byte> full = stackalloc byte[16];
            mac.Compute(data, full);
            full[..12].CopyTo(icv);
        }

        public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> icv)
        {
            Span<byte> full = stackalloc byte[16];
            mac.Compute(data, full);
            return icv.Length == 12 && CryptographicOperations.FixedTimeEquals(full[..12], icv);
        }

        protected override void Dispose(bool disposing) => mac.Dispose();
    }
}
