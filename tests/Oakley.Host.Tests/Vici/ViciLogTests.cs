using Microsoft.Extensions.Logging;
using Oakley.Host.Vici;

namespace Oakley.Host.Tests.Vici;

/// <summary>The log event's fields: the SA a line is about, strongSwan's levels and groups, stats' uptime wording.</summary>
public class ViciLogTests
{
    [Fact]
    public void TakesTheSaFromTheLinesFieldsAndDropsItsPrefix()
    {
        var fields = new List<KeyValuePair<string, object?>> { new("Name", "gw"), new("Id", 7L), new("{OriginalFormat}", "x") };
        Assert.Equal(("IKE_SA established", "gw", 7L), ViciLog.Split("[gw|7] IKE_SA established", fields));
        Assert.Equal(("CHILD_SA deleted", null, 7L), ViciLog.Split("[7] CHILD_SA deleted", new List<KeyValuePair<string, object?>> { new("Id", 7L) }));
        Assert.Equal(("[other|7] kept", "gw", 7L), ViciLog.Split("[other|7] kept", fields)); // only its own prefix goes
        Assert.Equal(("plain line", null, null), ViciLog.Split("plain line", "a string state"));
    }

    [Theory]
    [InlineData(LogLevel.Error, 0)]
    [InlineData(LogLevel.Warning, 0)]
    [InlineData(LogLevel.Information, 1)]
    [InlineData(LogLevel.Debug, 2)]
    [InlineData(LogLevel.Trace, 3)]
    public void MapsLevelsToStrongSwans(LogLevel level, int expected) => Assert.Equal(expected, ViciLog.Level(level));

    [Fact]
    public void NamesGroupsAsStrongSwan()
    {
        Assert.Equal("IKE", ViciLog.Group("ike"));
        Assert.Equal("DMN", ViciLog.Group("oakley"));
        Assert.Equal("LIB", ViciLog.Group("something-else"));
    }

    [Theory]
    [InlineData(0, "0 seconds")]
    [InlineData(1, "1 second")]
    [InlineData(59, "59 seconds")]
    [InlineData(60, "1 minute")]
    [InlineData(7200, "2 hours")]
    [InlineData(90000, "1 day")]
    public void UptimeReadsAsStrongSwansTimeDelta(int seconds, string expected) =>
        Assert.Equal(expected, ViciInfoCommands.Running(TimeSpan.FromSeconds(seconds)));
}
