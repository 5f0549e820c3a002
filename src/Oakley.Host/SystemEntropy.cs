using System.Security.Cryptography;
using Oakley.Crypto;

namespace Oakley.Host;

/// <summary>The operating system's CSPRNG, injected into the sans-IO layers.</summary>
public sealed class SystemEntropy : IEntropySource
{
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
