using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

public class SansIoTests
{
    [Fact]
    public void OakleyEngine_ReferencesNoClockRandomnessSocketOrDelay()
    {
        var path = typeof(Oakley.Engine.Endpoint).Assembly.Location;
        Assert.Empty(SansIoAssertions.FindBannedReferences(path));
    }
}
