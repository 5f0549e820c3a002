using Oakley.Tests.Shared;

namespace Oakley.Esp.Tests;

public class LayeringTests
{
    [Fact]
    public void OakleyEsp_DependsOnCryptoAndIanaOnly_NotOnTheCodecs()
    {
        // The ESP data plane runs without IKE: it may use the ciphers and the IANA IDs, never the IKE codecs
        // (Oakley.Protocol) or the engine, directly or through another of our assemblies.
        LayeringAssertions.AssertDependsOnExactly(typeof(EspSa).Assembly, "Oakley.Crypto", "Oakley.Iana");
    }
}
