using Oakley.Tests.Shared;

namespace Oakley.Iana.Tests;

public class SansIoTests
{
    [Fact]
    public void OakleyIana_ReferencesNoClockRandomnessSocketOrDelay()
    {
        var path = typeof(IkeProtocolException).Assembly.Location;
        Assert.Empty(SansIoAssertions.FindBannedReferences(path));
    }
}
