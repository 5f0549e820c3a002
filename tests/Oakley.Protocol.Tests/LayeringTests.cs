using Oakley.Protocol.Ikev2;
using Oakley.Tests.Shared;

namespace Oakley.Protocol.Tests;

public class LayeringTests
{
    [Fact]
    public void OakleyProtocol_DependsOnIanaOnly()
    {
        // The codecs sit directly on the IANA registries and on nothing else of ours (not on Crypto).
        LayeringAssertions.AssertDependsOnExactly(typeof(IkeHeader).Assembly, "Oakley.Iana");
    }
}
