using System.Text;

namespace Oakley.Config.Import;

/// <summary>The converted swanctl.conf and what the converter has to say about it.</summary>
/// <param name="PublicKeys">PEM public keys decoded from Libreswan's raw <c>rsasigkey</c>s, by the pubkey/ file name the output names.</param>
public sealed record ImportResult(string SwanctlConf, IReadOnlyList<ImportNote> Notes, int Connections, int CommentedOut, IReadOnlyDictionary<string, string> PublicKeys);

/// <summary>
/// <c>oakley import</c>: ipsec.conf (strongSwan's starter or Libreswan) and optionally ipsec.secrets to one
/// swanctl.conf that loads unchanged into strongSwan (<c>swanctl --load-all</c>) and into Oakley. Whatever only
/// strongSwan would load is written commented out (a whole connection when it cannot work without it, e.g. IKEv1);
/// each such thing, and everything not converted, is a note with file:line. Input that cannot be read or
/// parsed is a <see cref="ConfigException"/>.
/// </summary>
public static class IpsecImporter
{
    public static ImportResult Import(string confPath, string? secretsPath, ImportOptions options) =>
        Import(confPath, secretsPath, options, File.ReadAllText, SwanctlFile.Glob);

    /// <summary>The same over injected file access (tests).</summary>
    public static ImportResult Import(string confPath, string? secretsPath, ImportOptions options, Func<string, string> readFile, Func<string, IEnumerable<string>> glob)
    {
        ArgumentNullException.ThrowIfNull(confPath);
        ArgumentNullException.ThrowIfNull(options);
        var notes = new ImportNotes();
        var conf = new IpsecConfParser(readFile, glob).Parse(confPath);
        var secrets = secretsPath is null ? [] : new IpsecSecretsParser(readFile, glob).Parse(secretsPath);
        var side = options.RightIsLocal ? "right" : "left";
        notes.Add(new SourceLocation(confPath, 0, 0), $"{side} is taken as the local side of every conn (strongSwan picks the side by this host's addresses, which a file does not know); convert with --local {(options.RightIsLocal ? "left" : "right")} for the other end");
        SetupConverter.NoteSetup(conf.Setup, notes);
        var resolved = ConnResolver.Resolve(conf.Conns, notes);
        var templates = ConnResolver.AlsoTargets(conf.Conns);
        var connections = new SwanctlNode("connections");
        var pools = new SwanctlNode("pools");
        var (loaded, commented, defaults) = (0, 0, false);
        var publicKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var conn in resolved)
        {
            var auto = conn["auto"]?.Value.ToLowerInvariant() ?? "ignore";
            if (auto is "ignore" or "no")
            {
                if (!templates.Contains(conn.Name))
                {
                    notes.Add(conn["auto"]?.Location ?? conn.Location, $"conn {conn.Name}: auto={auto}{(conn["auto"] is null ? " (the default)" : string.Empty)}: starter does not load it, so it is not converted");
                }

                continue;
            }

            var ctx = new ConnContext(conn, conf, options, notes);
            for (var n = 2; connections.Find(ctx.Name) is not null; n++)
            {
                ctx.Name = $"{SwanctlWriter.SafeName(conn.Name)}-{n}"; // two names that read the same once made safe
            }

            var (node, connPools) = ConnConverter.Convert(ctx, conf.Setup);
            connections.Add(node);
            foreach (var pool in connPools)
            {
                pools.Add(pool);
            }

            foreach (var (file, pem) in ctx.PublicKeys)
            {
                publicKeys[file] = pem;
            }

            defaults |= ctx.UsedDefaultLifetimes && ctx.DisabledReason is null;
            (loaded, commented) = node.CommentedOut ? (loaded, commented + 1) : (loaded + 1, commented);
        }

        if (defaults)
        {
            notes.Add(new SourceLocation(confPath, 0, 0), "conns without ikelifetime/lifetime/margintime/rekeyfuzz/reauth get swanctl's defaults (IKE SA rekeyed after 4h, no reauthentication; CHILD SA rekeyed after 1h), not " +
                (conf.IsLibreswan ? "Libreswan's (IKE SA and CHILD SA rekeyed after 7h51m)" : "starter's (IKEv2 reauthentication after 2h51m, CHILD SA rekeyed after 51m)"));
        }

        var output = new StringBuilder();
        output.Append("# swanctl.conf converted by 'oakley import' from ").Append(Path.GetFileName(confPath));
        output.Append(secretsPath is null ? string.Empty : " and " + Path.GetFileName(secretsPath)).Append('\n');
        output.Append("# What is commented out with '# ' is what strongSwan would load and Oakley cannot (see the notes).\n\n");
        Section(output, connections);
        Section(output, pools);
        if (SetupConverter.Authorities(conf.Cas, notes) is { } authorities)
        {
            Section(output, authorities);
        }

        Section(output, SecretsConverter.Convert(secrets, notes));
        return new ImportResult(output.ToString(), notes.All, loaded, commented, publicKeys);
    }

    private static void Section(StringBuilder output, SwanctlNode node)
    {
        if (!node.IsEmpty)
        {
            SwanctlWriter.Write(output, node, 0);
            output.Append('\n');
        }
    }
}
