using System.Text;
using Oakley.Host.Vici;

namespace Oakley.Host.Tests.Vici;

/// <summary>The VICI message and packet encodings against the README's example, round trips and malformed input.</summary>
public class ViciEncodingTests
{
    /// <summary>The README's "Encoding example", byte for byte.</summary>
    private static readonly byte[] ReadmeExample =
    [
        3, 4, (byte)'k', (byte)'e', (byte)'y', (byte)'1', 0, 6, (byte)'v', (byte)'a', (byte)'l', (byte)'u', (byte)'e', (byte)'1',
        1, 8, (byte)'s', (byte)'e', (byte)'c', (byte)'t', (byte)'i', (byte)'o', (byte)'n', (byte)'1',
        1, 11, (byte)'s', (byte)'u', (byte)'b', (byte)'-', (byte)'s', (byte)'e', (byte)'c', (byte)'t', (byte)'i', (byte)'o', (byte)'n',
        3, 4, (byte)'k', (byte)'e', (byte)'y', (byte)'2', 0, 6, (byte)'v', (byte)'a', (byte)'l', (byte)'u', (byte)'e', (byte)'2',
        2,
        4, 5, (byte)'l', (byte)'i', (byte)'s', (byte)'t', (byte)'1',
        5, 0, 5, (byte)'i', (byte)'t', (byte)'e', (byte)'m', (byte)'1',
        5, 0, 5, (byte)'i', (byte)'t', (byte)'e', (byte)'m', (byte)'2',
        6,
        2,
    ];

    private static ViciSection ReadmeTree()
    {
        var m = new ViciSection().Add("key1", "value1");
        var s1 = m.AddSection("section1");
        s1.AddSection("sub-section").Add("key2", "value2");
        s1.AddList("list1", ["item1", "item2"]);
        return m;
    }

    [Fact]
    public void EncodesTheReadmeExample() => Assert.Equal(ReadmeExample, ViciEncoding.Encode(ReadmeTree()));

    [Fact]
    public void DecodesTheReadmeExample()
    {
        var m = ViciEncoding.Decode(ReadmeExample);
        Assert.Equal("value1", m.Text("key1"));
        Assert.Equal("value2", m.Section("section1")!.Section("sub-section")!.Text("key2"));
        Assert.Equal(["item1", "item2"], m.Section("section1")!.TextList("list1"));
        Assert.Equal(ReadmeExample, ViciEncoding.Encode(m)); // and back, byte for byte
    }

    [Fact]
    public void RoundTripsEmptyValuesListsSectionsAndBinary()
    {
        var m = new ViciSection().Add("empty", string.Empty).Add("blob", [0, 255, 10]).AddList("none", Array.Empty<string>());
        m.AddSection("s").AddSection("t");
        var bytes = ViciEncoding.Encode(m);
        var back = ViciEncoding.Decode(bytes);
        Assert.Equal(string.Empty, back.Text("empty"));
        Assert.Equal(new byte[] { 0, 255, 10 }, back.Value("blob"));
        Assert.Empty(back.TextList("none"));
        Assert.NotNull(back.Section("s")!.Section("t"));
        Assert.Equal(bytes, ViciEncoding.Encode(back));
    }

    public static TheoryData<string, string> Malformed() => new()
    {
        { "truncated name", "03 05 6b 65" },
        { "truncated value length", "03 01 6b 00" },
        { "truncated value", "03 01 6b 00 05 61 62" },
        { "section end without a section", "02" },
        { "unclosed section", "01 01 73" },
        { "list item outside a list", "05 00 01 61" },
        { "list end without a list", "06" },
        { "unclosed list", "04 01 6c 05 00 01 61" },
        { "key/value inside a list", "04 01 6c 03 01 6b 00 00 06" },
        { "section inside a list", "04 01 6c 01 01 73 02 06" },
        { "unknown element type", "07" },
        { "element type zero", "00" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void RefusesMalformedMessages(string why, string hex)
    {
        var e = Assert.Throws<ViciFormatException>(() => ViciEncoding.Decode(Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal))));
        Assert.False(string.IsNullOrEmpty(e.Message), why);
    }

    [Fact]
    public void RefusesNestingDeeperThanTheLimit()
    {
        var bytes = new List<byte>();
        for (var i = 0; i <= ViciEncoding.MaxDepth; i++)
        {
            bytes.AddRange([1, 1, (byte)'s']);
        }

        for (var i = 0; i <= ViciEncoding.MaxDepth; i++)
        {
            bytes.Add(2);
        }

        Assert.Throws<ViciFormatException>(() => ViciEncoding.Decode(bytes.ToArray()));
        Assert.NotNull(ViciEncoding.Decode(bytes.Skip(3).SkipLast(1).ToArray())); // exactly MaxDepth is fine
    }

    [Fact]
    public void RandomBytesThrowOnlyTheFormatException()
    {
        var random = new Random(17);
        for (var i = 0; i < 20_000; i++)
        {
            var data = new byte[random.Next(0, 40)];
            random.NextBytes(data);
            try
            {
                var m = ViciEncoding.Decode(data);
                Assert.Equal(data, ViciEncoding.Encode(m)); // what decodes re-encodes byte for byte
            }
            catch (ViciFormatException)
            {
            }
        }
    }

    [Fact]
    public void EncodesACommandRequestSegment()
    {
        // length 9 = type + name length + "version"; no message
        Assert.Equal(Convert.FromHexString("00000009" + "00" + "07" + Convert.ToHexString(Encoding.ASCII.GetBytes("version"))),
            new ViciPacket(ViciPacketType.CmdRequest, "version", new ViciSection()).Encode());
        Assert.Equal(Convert.FromHexString("0000000105"), new ViciPacket(ViciPacketType.EventConfirm).Encode());
    }

    [Fact]
    public void DecodesPackets()
    {
        var p = ViciPacket.Decode(Convert.FromHexString("07" + "03" + "6c6f67" + "030161" + "0001" + "62"));
        Assert.Equal(ViciPacketType.Event, p.Type);
        Assert.Equal("log", p.Name);
        Assert.Equal("b", p.Message!.Text("a"));
        Assert.Null(ViciPacket.Decode([2]).Message); // CMD_UNKNOWN: neither name nor message
    }

    [Theory]
    [InlineData("")]          // empty segment
    [InlineData("08")]        // unknown packet type
    [InlineData("00")]        // named type without its name length
    [InlineData("0005616263")] // name longer than the segment
    [InlineData("00016102")]  // bad message after the name
    public void RefusesMalformedPackets(string hex) =>
        Assert.Throws<ViciFormatException>(() => ViciPacket.Decode(Convert.FromHexString(hex)));

    [Fact]
    public async Task ReadsSegmentsAndRefusesBadLengths()
    {
        var two = new ViciPacket(ViciPacketType.CmdRequest, "stats").Encode().Concat(new ViciPacket(ViciPacketType.EventRegister, "log").Encode()).ToArray();
        using var stream = new MemoryStream(two);
        Assert.Equal("stats", (await ViciPacket.ReadAsync(stream, CancellationToken.None))!.Name);
        Assert.Equal(ViciPacketType.EventRegister, (await ViciPacket.ReadAsync(stream, CancellationToken.None))!.Type);
        Assert.Null(await ViciPacket.ReadAsync(stream, CancellationToken.None)); // clean end

        await Assert.ThrowsAsync<ViciFormatException>(() => ViciPacket.ReadAsync(new MemoryStream(Convert.FromHexString("00000000")), CancellationToken.None));
        await Assert.ThrowsAsync<ViciFormatException>(() => ViciPacket.ReadAsync(new MemoryStream(Convert.FromHexString("00080001")), CancellationToken.None)); // > 512 KB
        await Assert.ThrowsAsync<ViciFormatException>(() => ViciPacket.ReadAsync(new MemoryStream(Convert.FromHexString("0000000500")), CancellationToken.None)); // truncated
        await Assert.ThrowsAsync<ViciFormatException>(() => ViciPacket.ReadAsync(new MemoryStream(Convert.FromHexString("0000")), CancellationToken.None)); // truncated header
        // the first byte already read by the control socket's sniffing
        var p = await ViciPacket.ReadAsync(new MemoryStream(new ViciPacket(ViciPacketType.CmdRequest, "version").Encode()[1..]), CancellationToken.None, [0]);
        Assert.Equal("version", p!.Name);
    }
}
