using System.Net;

namespace Oakley.Host.Tests;

/// <summary>The DNS backends of the virtual IPs: which commands, and what /etc/resolv.conf becomes (a temporary file here).</summary>
public sealed class DnsBackendTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-dns-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class FakeRunner(params string[] installed) : ICommandRunner
    {
        public List<string> Runs { get; } = [];

        public void Run(string file, IReadOnlyList<string> args, string? input = null) =>
            Runs.Add($"{file} {string.Join(" ", args)}{(input is null ? "" : $" <<{input.Replace("\n", "|", StringComparison.Ordinal)}")}");

        public string? Find(string tool) => installed.Contains(tool) ? "/usr/bin/" + tool : null;
    }

    private static readonly IPAddress[] Servers = [IPAddress.Parse("192.0.2.53"), IPAddress.Parse("2001:db8::53")];

    [Fact]
    public void Resolved_SetsTheLinksServersAndTheCatchAllDomain_AndRevertsTheLink()
    {
        var runner = new FakeRunner("resolvectl", "resolvconf");
        var backend = DnsBackends.Detect("oakley0", runner, resolvedDirectory: _dir);
        Assert.IsType<ResolvedDns>(backend);
        backend!.Apply(Servers);
        backend.Apply([]);
        Assert.Equal(["/usr/bin/resolvectl dns oakley0 192.0.2.53 2001:db8::53", "/usr/bin/resolvectl domain oakley0 ~.", "/usr/bin/resolvectl revert oakley0"], runner.Runs);
    }

    [Fact]
    public void Resolvconf_AddsAndDeletesTheInterfaceRecord()
    {
        var runner = new FakeRunner("resolvconf");
        var backend = DnsBackends.Detect("oakley0", runner, resolvedDirectory: Path.Combine(_dir, "none"));
        Assert.IsType<ResolvconfDns>(backend);
        backend!.Apply(Servers);
        backend.Apply([]);
        Assert.Equal(["/usr/bin/resolvconf -a oakley0.oakley <<nameserver 192.0.2.53|nameserver 2001:db8::53|", "/usr/bin/resolvconf -d oakley0.oakley"], runner.Runs);
    }

    [Fact]
    public void Detect_WithoutTools_WritesResolvConf_ButNotUnderSystemdResolved()
    {
        Assert.IsType<ResolvConfFile>(DnsBackends.Detect("oakley0", new FakeRunner(), resolvedDirectory: Path.Combine(_dir, "none")));
        Assert.IsType<ResolvConfFile>(DnsBackends.Detect("oakley0", null, resolvedDirectory: Path.Combine(_dir, "none")));
        Assert.Null(DnsBackends.Detect("oakley0", new FakeRunner("resolvconf"), resolvedDirectory: _dir)); // resolved would overwrite the file
        Assert.Null(DnsBackends.Detect("oakley0", null, resolvedDirectory: _dir));
    }

    [Fact]
    public void ResolvConf_GetsAMarkedBlockOnTop_AndBackItsContent_KeepingOthersChanges()
    {
        var path = Path.Combine(_dir, "resolv.conf");
        const string Original = "# managed by hand\nnameserver 203.0.113.1\nsearch example.org\n";
        File.WriteAllText(path, Original);
        var file = new ResolvConfFile(path);
        file.Apply(Servers);
        Assert.Equal(ResolvConfFile.Begin + "\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n" + ResolvConfFile.End + "\n" + Original, File.ReadAllText(path));

        file.Apply([Servers[0]]); // replaced, not stacked
        Assert.Equal(ResolvConfFile.Begin + "\nnameserver 192.0.2.53\n" + ResolvConfFile.End + "\n" + Original, File.ReadAllText(path));

        File.AppendAllText(path, "options edns0\n"); // someone else edits meanwhile
        file.Apply([]);
        Assert.Equal(Original + "options edns0\n", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".oakley-new"));
    }

    [Fact]
    public void ResolvConf_NoFileBesideIt_IsRewrittenInPlace()
    {
        // As under the systemd unit's read-only /etc with resolv.conf bind-mounted writable: the temporary file cannot
        // be made (here a directory is in its way; there EROFS, and EBUSY for a rename onto the mount point).
        var path = Path.Combine(_dir, "resolv.conf");
        const string Original = "nameserver 203.0.113.1\n";
        File.WriteAllText(path, Original);
        Directory.CreateDirectory(path + ".oakley-new");
        (ulong, ulong)? inode;
        using (var before = File.OpenHandle(path))
        {
            inode = Oakley.Host.Systemd.JournalStream.Identity((int)before.DangerousGetHandle());
        }

        var file = new ResolvConfFile(path);
        file.Apply([Servers[0]]);
        Assert.Equal(ResolvConfFile.Begin + "\nnameserver 192.0.2.53\n" + ResolvConfFile.End + "\n" + Original, File.ReadAllText(path));
        using (var handle = File.OpenHandle(path))
        {
            Assert.Equal(inode, Oakley.Host.Systemd.JournalStream.Identity((int)handle.DangerousGetHandle())); // the same file, not a new one
        }

        file.Apply([]);
        Assert.Equal(Original, File.ReadAllText(path));
    }

    [Fact]
    public void ResolvConf_ThroughASymlink_WritesTheTarget_AndAStaleBlockIsRemoved()
    {
        var target = Path.Combine(_dir, "real.conf");
        var link = Path.Combine(_dir, "resolv.conf");
        File.WriteAllText(target, ResolvConfFile.Begin + "\nnameserver 192.0.2.99\n" + ResolvConfFile.End + "\nnameserver 203.0.113.1\n"); // a killed Oakley's
        File.CreateSymbolicLink(link, "real.conf");
        new ResolvConfFile(link).Apply([]);
        Assert.Equal("nameserver 203.0.113.1\n", File.ReadAllText(target));
        Assert.NotNull(new FileInfo(link).LinkTarget);
    }
}
