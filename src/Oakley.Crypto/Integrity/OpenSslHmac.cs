using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Oakley.Crypto.KeyExchange;

namespace Oakley.Crypto.Integrity;

/// <summary>
/// HMAC through OpenSSL's HMAC_CTX, keyed once: a packet costs a reset to the keyed state, an update and a final.
/// The BCL's keyed IncrementalHash does the same work but measured about 3 µs per 64-byte ESP packet here, most
/// of it wrapper overhead (see docs/benchmarks.md). HMAC_CTX is deprecated in OpenSSL 3 in favour of EVP_MAC,
/// whose parameter lookups cost more per call; libcrypto 3 still exports it, and the BCL path is the fallback.
/// </summary>
internal sealed unsafe partial class OpenSslHmacContext : IntegrityContext
{
    private const string Library = "libcrypto";
    private readonly IntPtr _ctx;
    private readonly int _icvSize;
    private int _disposed;

    // Probed once: a libcrypto without the HMAC_CTX interface makes every HMAC use the BCL instead.
    private static readonly bool Available = Probe();

    private static bool Probe()
    {
        OpenSslBn.EnsureLoaded(); // registers the libcrypto resolver
        try
        {
            HMAC_CTX_free(HMAC_CTX_new());
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The EVP digest for an HMAC hash, or zero when this libcrypto lacks the HMAC_CTX interface.</summary>
    public static IntPtr Digest(HashAlgorithmName hash)
    {
        if (!Available)
        {
            return IntPtr.Zero;
        }

        try
        {
            return hash.Name switch
            {
                "SHA1" => EVP_sha1(),
                "SHA256" => EVP_sha256(),
                "SHA384" => EVP_sha384(),
                "SHA512" => EVP_sha512(),
                "MD5" => EVP_md5(),
                _ => IntPtr.Zero,
            };
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return IntPtr.Zero;
        }
    }

    public OpenSslHmacContext(IntPtr digest, ReadOnlySpan<byte> key, int icvSize)
    {
        _icvSize = icvSize;
        _ctx = HMAC_CTX_new();
        fixed (byte* k = key)
        {
            if (_ctx == IntPtr.Zero || HMAC_Init_ex(_ctx, k, key.Length, digest, IntPtr.Zero) != 1)
            {
                if (_ctx != IntPtr.Zero)
                {
                    HMAC_CTX_free(_ctx);
                }

                throw new CryptographicException("OpenSSL refused the HMAC key");
            }
        }
    }

    public override void Compute(ReadOnlySpan<byte> data, Span<byte> icv)
    {
        Span<byte> full = stackalloc byte[64];
        Mac(data, full);
        full[.._icvSize].CopyTo(icv);
    }

    public override bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> icv)
    {
        if (icv.Length != _icvSize)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[64];
        Mac(data, expected);
        return CryptographicOperations.FixedTimeEquals(expected[.._icvSize], icv);
    }

    private void Mac(ReadOnlySpan<byte> data, Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        fixed (byte* d = data, o = output)
        {
            uint length;
            // A null key and digest reset the context to its keyed state (the ipad block is not recomputed).
            if (HMAC_Init_ex(_ctx, null, 0, IntPtr.Zero, IntPtr.Zero) != 1
                || (!data.IsEmpty && HMAC_Update(_ctx, d, (nuint)data.Length) != 1)
                || HMAC_Final(_ctx, o, &length) != 1)
            {
                throw new CryptographicException("OpenSSL HMAC failed");
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            HMAC_CTX_free(_ctx); // cleanses the keyed state
        }
    }

    [LibraryImport(Library)]
    private static partial IntPtr EVP_md5();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_sha1();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_sha256();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_sha384();

    [LibraryImport(Library)]
    private static partial IntPtr EVP_sha512();

    [LibraryImport(Library)]
    private static partial IntPtr HMAC_CTX_new();

    [LibraryImport(Library)]
    private static partial void HMAC_CTX_free(IntPtr ctx);

    [LibraryImport(Library)]
    private static partial int HMAC_Init_ex(IntPtr ctx, byte* key, int length, IntPtr digest, IntPtr engine);

    [LibraryImport(Library)]
    private static partial int HMAC_Update(IntPtr ctx, byte* data, nuint length);

    [LibraryImport(Library)]
    private static partial int HMAC_Final(IntPtr ctx, byte* output, uint* length);
}
