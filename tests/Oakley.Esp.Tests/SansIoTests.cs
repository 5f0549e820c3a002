using Oakley.Tests.Shared;

namespace Oakley.Esp.Tests;

public class SansIoTests
{
    [Fact]
    public void OakleyEsp_ReferencesNoClockRandomnessSocketOrDelay()
    {
        var path = typeof(Oakley.Esp.EspSa).Assembly.Location;
        Assert.Empty(SansIoAssertions.FindBannedReferences(path));
    }
}
