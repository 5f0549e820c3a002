using System.Net;
using System.Text;

namespace Oakley.Host;

/// <summary>
/// No resolver daemon: the servers go into /etc/resolv.conf itself, as a marked block at the top (the resolver uses
/// the first nameservers it reads), and removing the block gives back the file as it was, with any change others
/// made meanwhile kept. A block a killed Oakley left is removed by the first <see cref="Apply"/> (it rewrites the
/// block, or strips it). The file is replaced through a temporary file, so a reader never sees half of it (where
/// that cannot be done, under the systemd unit's read-only /etc, it is rewritten in place).
/// </summary>
internal sealed class ResolvConfFile(string path) : IDnsBackend
{
    public const string Begin = "# BEGIN oakley: DNS servers of the IKE SA's virtual IP; removed when it goes";
    public const string End = "# END oakley";

    public string Name => path;

    public void Apply(IReadOnlyList<IPAddress> servers)
    {
        var current = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        var theirs = Strip(current);
        var next = servers.Count == 0 ? theirs : Block(servers) + theirs;
        if (next == current)
        {
            return;
        }

        // Through the link, if resolv.conf is one: the file it names is the one the resolver reads.
        var target = new FileInfo(path).LinkTarget is { } link ? Path.GetFullPath(link, Path.GetDirectoryName(path)!) : path;
        var temporary = target + ".oakley-new";
        try
        {
            File.WriteAllText(temporary, next);
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && File.Exists(target))
        {
            // The systemd unit's read-only /etc with only resolv.conf bind-mounted writable (ProtectSystem=strict,
            // ReadWritePaths=-/etc/resolv.conf): no file can be made beside it and no rename lands on a mount point
            // (EROFS, EBUSY), so the file is rewritten in place; a reader may then see it half-written, briefly.
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }

            File.WriteAllText(target, next);
        }
    }

    /// <summary>The file without Oakley's block (and without the block of an Oakley that was killed).</summary>
    internal static string Strip(string text)
    {
        var start = text.IndexOf(Begin, StringComparison.Ordinal);
        if (start < 0)
        {
            return text;
        }

        var end = text.IndexOf(End, start, StringComparison.Ordinal);
        var after = end < 0 ? text.Length : text.IndexOf('\n', end) is var nl and >= 0 ? nl + 1 : text.Length;
        return text[..start] + text[after..];
    }

    private static string Block(IReadOnlyList<IPAddress> servers)
    {
        var sb = new StringBuilder().Append(Begin).Append('\n');
        foreach (var s in servers)
        {
            sb.Append("nameserver ").Append(s).Append('\n');
        }

        return sb.Append(End).Append('\n').ToString();
    }
}
