using System.Runtime.InteropServices;

namespace Oakley.Crypto.KeyExchange;

/// <summary>
/// A thin P/Invoke to OpenSSL's BIGNUM modular exponentiation, in the libcrypto the BCL itself loads.
/// Measured on this machine (2048-bit modulus, 256-bit exponent): System.Numerics.BigInteger.ModPow 2.4 ms,
/// BouncyCastle 2.0 ms, OpenSSL's Montgomery exponentiation 0.19 ms. Secret exponents use the
/// constant-time variant.
/// </summary>
internal static partial class OpenSslBn
{
    private const string Library = "libcrypto";

    static OpenSslBn() => NativeLibrary.SetDllImportResolver(typeof(OpenSslBn).Assembly, Resolve);

    /// <summary>Forces the resolver to be registered before the first call.</summary>
    public static void EnsureLoaded()
    {
    }

    private static IntPtr Resolve(string name, System.Reflection.Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library)
        {
            return IntPtr.Zero; // libsodium and others: default probing
        }

        foreach (var candidate in new[] { "libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so", "libcrypto.3.dylib", "libcrypto-3-x64.dll" })
        {
            if (NativeLibrary.TryLoad(candidate, assembly, path, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    [LibraryImport(Library)]
    internal static partial IntPtr BN_new();

    [LibraryImport(Library)]
    internal static partial void BN_clear_free(IntPtr a);

    [LibraryImport(Library)]
    internal static partial void BN_free(IntPtr a);

    [LibraryImport(Library)]
    internal static partial IntPtr BN_bin2bn(ReadOnlySpan<byte> s, int len, IntPtr ret);

    [LibraryImport(Library)]
    internal static partial int BN_bn2binpad(IntPtr a, Span<byte> to, int tolen);

    [LibraryImport(Library)]
    internal static partial int BN_cmp(IntPtr a, IntPtr b);

    [LibraryImport(Library)]
    internal static partial int BN_is_one(IntPtr a);

    [LibraryImport(Library)]
    internal static partial IntPtr BN_CTX_new();

    [LibraryImport(Library)]
    internal static partial void BN_CTX_free(IntPtr ctx);

    [LibraryImport(Library)]
    internal static partial IntPtr BN_MONT_CTX_new();

    [LibraryImport(Library)]
    internal static partial int BN_MONT_CTX_set(IntPtr mont, IntPtr mod, IntPtr ctx);

    [LibraryImport(Library)]
    internal static partial int BN_mod_exp_mont(IntPtr r, IntPtr a, IntPtr p, IntPtr m, IntPtr ctx, IntPtr mont);

    [LibraryImport(Library)]
    internal static partial int BN_mod_exp_mont_consttime(IntPtr r, IntPtr a, IntPtr p, IntPtr m, IntPtr ctx, IntPtr mont);

    /// <summary>A BIGNUM from big-endian bytes; the caller frees it.</summary>
    public static IntPtr FromBytes(ReadOnlySpan<byte> bytes)
    {
        var bn = BN_bin2bn(bytes, bytes.Length, IntPtr.Zero);
        return bn == IntPtr.Zero ? throw new OutOfMemoryException("BN_bin2bn failed") : bn;
    }

    /// <summary>r = base^exponent mod m, written big-endian and left-padded to <paramref name="output"/>'s length.</summary>
    public static void ModExp(IntPtr @base, IntPtr exponent, IntPtr modulus, IntPtr mont, bool secretExponent, Span<byte> output)
    {
        var ctx = BN_CTX_new();
        var r = BN_new();
        try
        {
            var ok = secretExponent
                ? BN_mod_exp_mont_consttime(r, @base, exponent, modulus, ctx, mont)
                : BN_mod_exp_mont(r, @base, exponent, modulus, ctx, mont);
            if (ok != 1 || BN_bn2binpad(r, output, output.Length) != output.Length)
            {
                throw new System.Security.Cryptography.CryptographicException("BN_mod_exp failed");
            }
        }
        finally
        {
            BN_clear_free(r);
            BN_CTX_free(ctx);
        }
    }

    /// <summary>A Montgomery context for a fixed modulus, kept for the life of the process (read-only once set).</summary>
    public static IntPtr CreateMont(IntPtr modulus)
    {
        var ctx = BN_CTX_new();
        try
        {
            var mont = BN_MONT_CTX_new();
            if (BN_MONT_CTX_set(mont, modulus, ctx) != 1)
            {
                throw new System.Security.Cryptography.CryptographicException("BN_MONT_CTX_set failed");
            }

            return mont;
        }
        finally
        {
            BN_CTX_free(ctx);
        }
    }
}
