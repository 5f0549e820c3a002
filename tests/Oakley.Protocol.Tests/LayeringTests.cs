using Oakley.Protocol.Ikev2;
using Oakley.Tests.Shared;

namespace Oakley.Protocol.Tests;

public class LayeringTests
{
    [Fact]
    public void OakleyProtocol_DependsOnIanaOnly()
    {
        // The codecs sit directly on the IANA registries and on nothing else of ours (not on Crypto).
        var protocol = typeof(IkeHeader).Assembly;
        Assert.Equal(["Oakley.Iana"], LayeringAssertions.DirectOakleyReferences(protocol));
        Assert.Equal(["Oakley.Iana"], LayeringAssertions.OakleyDependencyClosure(protocol));
    }
}
