using Oakley.Crypto.Cipher;
using Oakley.Protocol.Ikev2;

namespace Oakley.Crypto.Prf;

/// <summary>
/// PRF_AES128_XCBC (RFC 4434) and PRF_AES128_CMAC (RFC 4615): the AES MAC over a 128-bit key. A shorter key
/// is padded with zeros; a longer one is first reduced to 128 bits by the same MAC under an all-zero key.
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
        if (key.Length <= 16)
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
