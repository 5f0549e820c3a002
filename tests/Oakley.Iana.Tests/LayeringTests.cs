using Oakley.Tests.Shared;

namespace Oakley.Iana.Tests;

public class LayeringTests
{
    [Fact]
    public void OakleyIana_ReferencesNoOtherOakleyAssembly()
    {
        // The bottom layer: Protocol, Crypto and Esp build on it, so it may build on none of them.
        Assert.Empty(LayeringAssertions.DirectOakleyReferences(typeof(IkeProtocolException).Assembly));
    }

    [Fact]
    public void Checker_SeesOakleyReferences_InAnAssemblyThatHasThem()
    {
        // This test assembly uses Oakley.Iana, so the checker must report it: proves the checks above can fail.
        Assert.Contains("Oakley.Iana", LayeringAssertions.DirectOakleyReferences(typeof(LayeringTests).Assembly));
        Assert.Contains("Oakley.Iana", LayeringAssertions.OakleyDependencyClosure(typeof(LayeringTests).Assembly));
    }
}
