using Org.BouncyCastle.Crypto.Prng;

namespace Oakley.Crypto;

/// <summary>BouncyCastle's random generator interface over an <see cref="IEntropySource"/>; seed material is ignored (the source needs none). ML-KEM and the EAP-TLS channel take their randomness through it.</summary>
internal sealed class EntropyRandomGenerator(IEntropySource entropy) : IRandomGenerator
{
    public void AddSeedMaterial(byte[] seed)
    {
    }

    public void AddSeedMaterial(ReadOnlySpan<byte> seed)
    {
    }

    public void AddSeedMaterial(long seed)
    {
    }

    public void NextBytes(byte[] bytes) => entropy.Fill(bytes);

    public void NextBytes(byte[] bytes, int start, int len) => entropy.Fill(bytes.AsSpan(start, len));

    public void NextBytes(Span<byte> bytes) => entropy.Fill(bytes);
}
