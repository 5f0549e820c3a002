using System.Runtime.InteropServices;

namespace Oakley.Crypto;

/// <summary>
/// The libsodium functions Oakley calls (the library ships inside NSec's package): X25519 for the key exchange and
/// Ed25519 for signatures. One binding, initialised once before the first call.
/// </summary>
internal static partial class LibSodium
{
    private const string Library = "libsodium";

    static LibSodium()
    {
        if (sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise");
        }
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519_base(ref byte q, in byte n);

    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519(ref byte q, in byte n, in byte p);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_seed_keypair(ref byte pk, ref byte sk, in byte seed);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_detached(ref byte sig, out ulong siglen, in byte m, ulong mlen, in byte sk);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_verify_detached(in byte sig, in byte m, ulong mlen, in byte pk);
}
