using Oakley.Crypto;

namespace Oakley.Testing;

/// <summary>Deterministic entropy for tests and simulations: a run is reproducible from its seed. Never for production.</summary>
public sealed class SeededEntropy(int seed) : IEntropySource
{
    private readonly Random _random = new(seed);

    public int Seed { get; } = seed;

    public void Fill(Span<byte> destination) => _random.NextBytes(destination);
}
