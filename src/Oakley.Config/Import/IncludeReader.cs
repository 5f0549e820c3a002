namespace Oakley.Config.Import;

/// <summary>
/// The file handling ipsec.conf and ipsec.secrets share: reading one file of an include tree into lines (with the
/// depth limit that stops include loops) and expanding an <c>include PATTERN</c> relative to the including file.
/// Errors are <see cref="ConfigException"/>s at the include line's file:line, so the user sees which include failed.
/// </summary>
internal sealed class IncludeReader(Func<string, string> readFile, Func<string, IEnumerable<string>> glob)
{
    private const int MaxIncludeDepth = 10;

    /// <summary>
    /// The lines of <paramref name="path"/> (split at <c>\n</c>, a trailing <c>\r</c> cut), line N at index N-1;
    /// <paramref name="includedFrom"/> is the include line (or line 0 of the top file) that errors point at.
    /// </summary>
    public string[] Lines(string path, SourceLocation includedFrom, int depth)
    {
        if (depth > MaxIncludeDepth)
        {
            throw new ConfigException(includedFrom, $"includes nested deeper than {MaxIncludeDepth} levels (an include loop?)");
        }

        string text;
        try
        {
            text = readFile(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException(includedFrom, $"{path}: no such file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(includedFrom, $"{path}: cannot read ({e.Message})");
        }

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = lines[i].TrimEnd('\r');
        }

        return lines;
    }

    /// <summary>
    /// The files <c>include <paramref name="pattern"/></c> in <paramref name="path"/> names, in glob order: a
    /// relative pattern is relative to the including file's folder. A wildcard that matches nothing is no error; a
    /// plain name that does not exist is.
    /// </summary>
    public List<string> Expand(string path, string pattern, SourceLocation location)
    {
        var full = Path.IsPathRooted(pattern) ? pattern : Path.Combine(Path.GetDirectoryName(path) ?? ".", pattern);
        var matches = glob(full).ToList();
        var wildcard = pattern.Contains('*', StringComparison.Ordinal) || pattern.Contains('?', StringComparison.Ordinal);
        if (matches.Count == 0 && !wildcard)
        {
            throw new ConfigException(location, $"include '{pattern}': no such file");
        }

        return matches;
    }
}
