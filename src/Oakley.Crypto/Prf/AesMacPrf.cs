using Oakley.Crypto.Cipher;
using Oakley.Iana;

namespace Oakley.Crypto.Prf;

/// <summary>
/// PRF_AES128_XCBC (RFC 4434) and PRF_AES128_CMAC (RFC 4615): the AES MAC over a 128-bit key. For XCBC a
/// shorter key is padded with zeros and a longer one reduced to 128 bits by AES-XCBC-MAC under an all-zero
/// key (RFC 4434 §2); for CMAC any key that is not 128 bits is reduced by AES-CMAC under an all-zero key
/// (RFC 4615 §3).
/// </summary>
public sealed class AesMacPrf : Prf
{
    private readonly bool _cmac;

    private AesMacPrf(bool cmac) => _cmac = cmac;

    public static AesMacPrf Xcbc { get; } = new(false);

    public static AesMacPrf Cmac { get; } = new(true);

    public override PrfId Id => _cmac ? PrfId.Aes128Cmac : PrfId.Aes128Xcbc;

    public override int OutputSize => 16;

    public override int KeySize => 16;

    public override bool HasFixedKeySize => true;

    public override void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        Span<byte> k = stackalloc byte[16];
        k.Clear();
        if (key.Length == 16 || (key.Length < 16 && !_cmac))
        {
            key.CopyTo(k);
        }
        else
        {
            using var reducer = Create(stackalloc byte[16]);
            reducer.Compute(key, k);
        }

        using var mac = Create(k);
        mac.Compute(data, destination[..16]);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(k);
    }

    private AesMac Create(ReadOnlySpan<byte> key) => _cmac ? AesMac.CreateCmac(key) : AesMac.CreateXcbc(key);
}
