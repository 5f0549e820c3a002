using Oakley.Tests.Shared;

namespace Oakley.Protocol.Tests;

public class SansIoTests
{
    [Fact]
    public void OakleyProtocol_ReferencesNoClockRandomnessSocketOrDelay()
    {
        var path = typeof(Oakley.Protocol.Ikev2.IkeHeader).Assembly.Location;
        Assert.Empty(SansIoAssertions.FindBannedReferences(path));
    }

    [Fact]
    public void Checker_FindsBannedReferences_InAnAssemblyThatUsesThem()
    {
        // The test assembly itself reads files (the vectors) and so must be flagged: proves the checker can fail.
        var found = SansIoAssertions.FindBannedReferences(typeof(SansIoTests).Assembly.Location);
        Assert.Contains(found, f => f.StartsWith("System.IO.File", StringComparison.Ordinal));
    }
}
