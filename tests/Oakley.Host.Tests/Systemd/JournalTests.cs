using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Oakley.Engine;
using Oakley.Host.Systemd;

namespace Oakley.Host.Tests.Systemd;

/// <summary>
/// journald's native protocol: the byte format of fields (the simple and the binary length form), field names, and
/// what the journal logger sends a fake journal socket for the daemon's kinds of lines: IKE SA fields from the message
/// template and from scopes, formats of the template (SPIs in hex), exceptions, and the stderr fallback.
/// </summary>
public sealed class JournalTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-sdj-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Entry_SimpleAndBinaryForms_AreTheDocumentedBytes()
    {
        var entry = new JournalEntry();
        Assert.True(entry.Add("MESSAGE", "one line"));
        Assert.True(entry.Add("OAKLEY_ERROR", "two\nlines"));
        var expected = "MESSAGE=one line\n"u8.ToArray()
            .Concat("OAKLEY_ERROR\n"u8.ToArray())
            .Concat(new byte[] { 9, 0, 0, 0, 0, 0, 0, 0 }) // 64-bit little-endian length of "two\nlines"
            .Concat("two\nlines\n"u8.ToArray())
            .ToArray();
        Assert.Equal(expected, entry.Datagram.ToArray());
    }

    [Fact]
    public void Entry_MultiByteValue_LengthCountsBytes()
    {
        var entry = new JournalEntry();
        entry.Add("M", "é\n");
        Assert.Equal([(byte)'M', (byte)'\n', 3, 0, 0, 0, 0, 0, 0, 0, 0xC3, 0xA9, (byte)'\n', (byte)'\n'], entry.Datagram.ToArray());
    }

    [Theory]
    [InlineData("MESSAGE", true)]
    [InlineData("IKE_SA_NAME", true)]
    [InlineData("A1", true)]
    [InlineData("_PID", false)] // journald's trusted fields
    [InlineData("1ST", false)]
    [InlineData("lower", false)]
    [InlineData("WITH-DASH", false)]
    [InlineData("", false)]
    public void Entry_FieldNames(string name, bool valid)
    {
        Assert.Equal(valid, JournalEntry.IsValidName(name));
        Assert.Equal(valid, new JournalEntry().Add(name, "x"));
    }

    [Fact]
    public void Entry_NameTooLong_IsLeftOut()
    {
        var entry = new JournalEntry();
        Assert.False(entry.Add(new string('A', 65), "x"));
        Assert.True(entry.Add(new string('A', 64), "x"));
        Assert.Equal(64 + "=x\n".Length, entry.Datagram.Length);
    }

    [Theory]
    [InlineData("LocalTs", "OAKLEY_LOCAL_TS")]
    [InlineData("In", "OAKLEY_IN")]
    [InlineData("OldI", "OAKLEY_OLD_I")]
    [InlineData("SpiI", "OAKLEY_SPI_I")]
    [InlineData("Ike", "OAKLEY_IKE")]
    [InlineData("v4Addr", "OAKLEY_V4_ADDR")]
    public void FieldName_FromProperty(string property, string field) => Assert.Equal(field, JournalEntry.FieldName("OAKLEY_", property));

    [Theory]
    [InlineData("A=1\n")]
    [InlineData("A\n\u0001\0\0\0\0\0\0\0x\n")]
    public void Parse_WellFormed(string text) => Assert.NotNull(JournalEntry.Parse(Encoding.Latin1.GetBytes(text)));

    [Theory]
    [InlineData("A=1")] // no newline
    [InlineData("=1\n")] // no name
    [InlineData("A\n\u0005\0\0\0\0\0\0\0x\n")] // length past the end
    [InlineData("A\n\u0001\0\0\0\0\0\0\0xy")] // no newline after the value
    [InlineData("A\n\u0001\0\0")] // length cut short
    [InlineData("A\n\0\0\0\0\0\0\0\0")] // empty value without its newline
    public void Parse_Malformed_IsNull(string text) => Assert.Null(JournalEntry.Parse(Encoding.Latin1.GetBytes(text)));

    private (ILoggerFactory Logs, JournalLoggerProvider Provider, FakeUnixSocket Journal) Journal(TextWriter? fallback = null)
    {
        var journal = new FakeUnixSocket(Path.Combine(_dir, "journal"));
        var provider = new JournalLoggerProvider(journal.Address, fallback ?? TextWriter.Null);
        return (LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Trace)), provider, journal);
    }

    [Fact]
    public void EngineLine_HasTheIkeSaFields_FromTemplateAndScope()
    {
        var (logs, _, journal) = Journal();
        using (logs)
        using (journal)
        {
            var log = logs.CreateLogger("ike");
            var peer = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 4500);
            using (log.BeginScope(new IkeSaLogScope("tunnel", 7, peer)))
            {
                log.LogInformation("[{IkeSaName}|{IkeSaId}] CHILD_SA {Child} established with SPIs {In:x8}_i {Out:x8}_o", "tunnel", 7L, "net", 0xc1u, 0xabcdefu);
            }

            var fields = journal.Receive(Wait);
            Assert.NotNull(fields);
            Assert.Equal("[tunnel|7] CHILD_SA net established with SPIs 000000c1_i 00abcdef_o", fields["MESSAGE"]);
            Assert.Equal("6", fields["PRIORITY"]);
            Assert.Equal("oakley", fields["SYSLOG_IDENTIFIER"]);
            Assert.Equal("ike", fields["OAKLEY_LOGGER"]);
            Assert.Equal("tunnel", fields["IKE_SA_NAME"]);
            Assert.Equal("7", fields["IKE_SA_UNIQUE_ID"]);
            Assert.Equal("192.0.2.2", fields["PEER_ADDRESS"]);
            Assert.Equal("4500", fields["PEER_PORT"]);
            Assert.Equal("net", fields["OAKLEY_CHILD"]);
            Assert.Equal("000000c1", fields["OAKLEY_IN"]); // the template's format, not decimal
            Assert.Equal("00abcdef", fields["OAKLEY_OUT"]);
            Assert.DoesNotContain("OAKLEY_{ORIGINAL_FORMAT}", fields.Keys);
            Assert.All(fields.Keys, k => Assert.True(JournalEntry.IsValidName(k), k));
        }
    }

    [Fact]
    public void EngineEventLine_SourceGenerated_HasTheFields_AndNoKeys()
    {
        var (logs, _, journal) = Journal();
        using (logs)
        using (journal)
        {
            var log = logs.CreateLogger("ike");
            var key = Enumerable.Repeat((byte)0x5A, 32).ToArray();
            var remote = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500);
            var install = new ChildSaInstall(DateTimeOffset.UnixEpoch, 9, "tunnel", "net", 0xc445fc2d, 0x0000beef, false, false, Iana.EncrId.AesGcm16, 256, Iana.IntegId.None, false,
                key, [], key, [], [], [], new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500), remote, TimeSpan.FromHours(1), TimeSpan.FromHours(2));
            using (log.BeginScope(new IkeSaLogContext().Enter(install)!))
            {
                EngineEventLog.Write(log, new LogRateLimiter(10, 10), install);
            }

            var raw = journal.ReceiveRaw(Wait)!;
            var fields = JournalEntry.Parse(raw)!.ToDictionary(f => f.Key, f => f.Value);
            Assert.Equal("tunnel", fields["IKE_SA_NAME"]);
            Assert.Equal("9", fields["IKE_SA_UNIQUE_ID"]);
            Assert.Equal("192.0.2.2", fields["PEER_ADDRESS"]);
            Assert.Equal("c445fc2d", fields["OAKLEY_IN"]); // the generator names it '@in'; the template formats it x8
            Assert.Equal("0000beef", fields["OAKLEY_OUT"]);
            var text = Encoding.Latin1.GetString(raw);
            Assert.DoesNotContain("5a5a5a5a", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("WlpaWlpa", text, StringComparison.Ordinal); // nor in base64
            Assert.DoesNotContain("ZZZZ", text, StringComparison.Ordinal); // nor as raw bytes
        }
    }

    [Fact]
    public void LineOutsideAnyScope_HasOnlyItsOwnFields()
    {
        var (logs, _, journal) = Journal();
        using (logs)
        using (journal)
        {
            logs.CreateLogger("oakley").LogWarning("local address {Address} (local_addrs) is not on this host", IPAddress.Parse("198.51.100.7"));
            var fields = journal.Receive(Wait)!;
            Assert.Equal("4", fields["PRIORITY"]);
            Assert.Equal("198.51.100.7", fields["OAKLEY_ADDRESS"]);
            Assert.DoesNotContain("IKE_SA_NAME", fields.Keys);
            Assert.DoesNotContain("PEER_ADDRESS", fields.Keys);
        }
    }

    [Fact]
    public void MultiLineMessage_AndException_UseTheBinaryForm()
    {
        var (logs, _, journal) = Journal();
        using (logs)
        using (journal)
        {
            InvalidOperationException thrown;
            try
            {
                throw new InvalidOperationException("boom");
            }
            catch (InvalidOperationException e)
            {
                thrown = e;
            }

            logs.CreateLogger("ike").LogError(thrown, "first line\nsecond line");
            var raw = journal.ReceiveRaw(Wait)!;
            var expected = "MESSAGE\n"u8.ToArray().Concat(new byte[] { 22, 0, 0, 0, 0, 0, 0, 0 }).Concat("first line\nsecond line\n"u8.ToArray()).ToArray();
            Assert.Equal(expected, raw[..expected.Length]);
            var fields = JournalEntry.Parse(raw)!.ToDictionary(f => f.Key, f => f.Value);
            Assert.Equal("3", fields["PRIORITY"]);
            Assert.StartsWith("System.InvalidOperationException: boom", fields["OAKLEY_EXCEPTION"], StringComparison.Ordinal);
            Assert.Contains('\n', fields["OAKLEY_EXCEPTION"]); // the stack trace, in the binary form
        }
    }

    [Fact]
    public void NoJournalSocket_FallsBackToStderr_WithPriorityPrefixes()
    {
        var stderr = new StringWriter();
        using var provider = new JournalLoggerProvider(Path.Combine(_dir, "absent"), stderr);
        using var logs = LoggerFactory.Create(b => b.AddProvider(provider));
        logs.CreateLogger("oakley").LogWarning("no socket for {Remote}\nsecond", "192.0.2.9");
        Assert.Equal("<4>no socket for 192.0.2.9\n<4>second\n", stderr.ToString().ReplaceLineEndings("\n"));
        Assert.Equal(1, provider.Refused);
    }

    [Fact]
    public void LogContext_RemembersThePeer_UntilTheSaGoes()
    {
        var context = new IkeSaLogContext();
        var now = DateTimeOffset.UnixEpoch;
        var local = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500);
        var remote = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500);
        Assert.Null(context.Enter(new Alert(now, 0, "no IKE config found")));
        Assert.Equal("[|3]", context.Enter(new Alert(now, 3, "AUTHENTICATION_FAILED"))!.ToString()); // never came up: ID only
        var up = new IkeSaUp(now, 5, "tunnel", 1, 2, true, local, remote, "AES_GCM_16_256", "a", "b");
        Assert.Contains(context.Enter(up)!, kv => kv.Key == IkeSaLogScope.PeerKey && Equals(kv.Value, remote));
        context.Leave(up);
        var alert = context.Enter(new Alert(now, 5, "retransmit 1 of request"))!;
        Assert.Equal(["IkeSaName", "IkeSaId", "Peer"], alert.Select(kv => kv.Key));
        Assert.Equal("tunnel", alert[0].Value);
        var down = new IkeSaDown(now, 5, "tunnel", "deleted");
        Assert.Equal(3, context.Enter(down)!.Count);
        context.Leave(down);
        Assert.Equal(0, context.Count);
        Assert.Equal(IkeSaLogScope.IdKey, Assert.Single(context.Enter(new Alert(now, 5, "late"))!).Key); // forgotten: the ID alone
    }

    [Fact]
    public void JournalStream_MatchesTheDescriptorsDeviceAndInode_AsStatPrintsThem()
    {
        var path = Path.Combine(_dir, "stream");
        using var file = File.Open(path, FileMode.Create);
        var fd = (int)file.SafeFileHandle.DangerousGetHandle();
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%d:%i", path]) { RedirectStandardOutput = true })!;
        var printed = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        Assert.True(JournalStream.Matches(printed, fd), $"{printed} vs {JournalStream.Identity(fd)}");
        var (device, inode) = JournalStream.Identity(fd)!.Value;
        Assert.False(JournalStream.Matches($"{device}:{inode + 1}", fd));
        Assert.False(JournalStream.Matches($"{device + 1}:{inode}", fd));
        Assert.False(JournalStream.Matches("garbage", fd));
        Assert.False(JournalStream.Matches(null, fd));
        Assert.False(JournalStream.Matches(printed, 987654)); // not open
    }

    [Theory]
    [InlineData(0u, 0u, 0ul)]
    [InlineData(8u, 1u, 0x801ul)]
    [InlineData(259u, 3u, 0x10303ul)] // /dev/nvme0n1p3 style: major above 255
    [InlineData(0x1000u, 0x100u, 0x0000_1000_0010_0000ul)]
    public void MakeDevice_AsGlibc(uint major, uint minor, ulong device) => Assert.Equal(device, JournalStream.MakeDevice(major, minor));
}
