namespace Oakley.Crypto;

/// <summary>
/// The only source of randomness below the host layer. The host injects the operating system's CSPRNG;
/// tests inject a seeded generator so that a run is reproducible from its seed.
/// </summary>
public interface IEntropySource
{
    void Fill(Span<byte> destination);
}
