using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Oakley.Crypto.Tls;

/// <summary>
/// BouncyCastle's TLS crypto with every random byte drawn from an <see cref="IEntropySource"/>. Two paths had to be
/// closed: the <see cref="SecureRandom"/> BouncyCastle draws key shares and padding from (an adapter over the source),
/// and the nonce generator behind the Hello randoms and session IDs, which BouncyCastle seeds with its clock
/// (<c>AbstractTlsContext</c> mixes in <c>Times.NanoTime</c>): here it reads the source too, so a seeded test run is
/// the same run every time.
/// </summary>
internal sealed class EntropyTlsCrypto(IEntropySource entropy) : BcTlsCrypto(new SecureRandom(new EntropyRandomGenerator(entropy)))
{
    public override TlsNonceGenerator CreateNonceGenerator(byte[] additionalSeedMaterial) => new EntropyNonceGenerator(entropy);

    public override TlsNonceGenerator CreateNonceGenerator(ReadOnlySpan<byte> additionalSeedMaterial) => new EntropyNonceGenerator(entropy);

    private sealed class EntropyNonceGenerator(IEntropySource entropy) : TlsNonceGenerator
    {
        public byte[] GenerateNonce(int size)
        {
            var nonce = new byte[size];
            entropy.Fill(nonce);
            return nonce;
        }
    }
}
