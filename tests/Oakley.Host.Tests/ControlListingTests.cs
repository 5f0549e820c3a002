using System.Text.Json.Nodes;

namespace Oakley.Host.Tests;

public class ControlListingTests
{
    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 3)]
    [InlineData(7, 3)] // pages of 3, 3 and 1
    [InlineData(6, 3)]
    [InlineData(5, 10)]
    public async Task AStreamedListing_IsOneJsonLine_WithEveryEntryInOrder(int total, int pageSize)
    {
        var writer = new StringWriter();
        var pages = 0;
        await ControlCommands.WriteListingAsync(writer, total, pageSize, (start, count) =>
        {
            pages++;
            // Entry 2 vanished between the snapshot and its page: that page is shorter, or empty.
            var ids = Enumerable.Range(start, Math.Min(count, total - start)).Where(i => i != 2);
            return Task.FromResult(string.Join(",", ids.Select(i => $"{{\"uniqueid\":{i}}}")));
        });

        var text = writer.ToString();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text.TrimEnd('\n'));
        var response = JsonNode.Parse(text)!.AsObject();
        Assert.True((bool)response["ok"]!);
        var expected = Enumerable.Range(0, total).Where(i => i != 2).ToArray();
        Assert.Equal(expected, response["ike-sas"]!.AsArray().Select(s => (int)s!["uniqueid"]!).ToArray());
        Assert.Equal((total + pageSize - 1) / pageSize, pages);
    }
}
