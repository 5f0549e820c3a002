using Oakley.Tests.Shared;

namespace Oakley.Crypto.Tests;

public class LayeringTests
{
    [Fact]
    public void OakleyCrypto_DependsOnIanaOnly_NotOnTheCodecs()
    {
        // Crypto needs the IANA transform IDs and IkeProtocolException, which live in Oakley.Iana; it must not
        // reach the IKE wire codecs (Oakley.Protocol), directly or through another of our assemblies.
        LayeringAssertions.AssertDependsOnExactly(typeof(IEntropySource).Assembly, "Oakley.Iana");
    }
}
