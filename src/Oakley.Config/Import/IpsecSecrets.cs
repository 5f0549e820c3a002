namespace Oakley.Config.Import;

/// <summary>One ipsec.secrets entry: <c>[ids] : TYPE value [passphrase]</c>.</summary>
public sealed record IpsecSecret(IReadOnlyList<string> Ids, string Type, IReadOnlyList<string> Values, SourceLocation Location);

/// <summary>
/// Reads ipsec.secrets (strongSwan's and Libreswan's): an entry starts in column 0, indented lines continue it,
/// <c>#</c> starts a comment, <c>include PATTERN</c> splices other files in (relative to the including file).
/// The selectors before the lone <c>:</c> are identities; after it come the type and its values, quoted or not.
/// Libreswan's <c>: RSA { … }</c> blocks are kept as an entry of type <c>RSA</c> with the value <c>{</c>.
/// </summary>
public sealed class IpsecSecretsParser(Func<string, string> readFile, Func<string, IEnumerable<string>> glob)
{
    private readonly IncludeReader _files = new(readFile, glob);

    public List<IpsecSecret> Parse(string path)
    {
        var result = new List<IpsecSecret>();
        ParseFile(path, new SourceLocation(path, 0, 0), 0, result);
        return result;
    }

    private void ParseFile(string path, SourceLocation from, int depth, List<IpsecSecret> result)
    {
        var lines = _files.Lines(path, from, depth);
        var entries = new List<(SourceLocation Location, List<string> Tokens)>();
        var inBlock = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var location = new SourceLocation(path, i + 1, 1);
            var line = lines[i];
            if (inBlock)
            {
                inBlock = !line.Trim().StartsWith('}');
                continue;
            }

            var tokens = Tokens(line, location);
            if (tokens.Count == 0)
            {
                continue;
            }

            if (!char.IsWhiteSpace(line[0]) && tokens[0] == "include")
            {
                Include(path, location, tokens, depth, result, entries);
                continue;
            }

            if (char.IsWhiteSpace(line[0]) && entries.Count > 0)
            {
                entries[^1].Tokens.AddRange(tokens);
            }
            else
            {
                entries.Add((location, tokens));
            }

            inBlock = tokens[^1] == "{";
        }

        result.AddRange(entries.Select(e => Entry(e.Location, e.Tokens)));
    }

    private void Include(string path, SourceLocation location, List<string> tokens, int depth, List<IpsecSecret> result, List<(SourceLocation, List<string>)> pending)
    {
        if (tokens.Count != 2)
        {
            throw new ConfigException(location, "expected 'include FILE'");
        }

        result.AddRange(pending.Select(e => Entry(e.Item1, e.Item2)));
        pending.Clear();
        foreach (var file in _files.Expand(path, tokens[1], location))
        {
            ParseFile(file, location, depth + 1, result);
        }
    }

    private static IpsecSecret Entry(SourceLocation location, List<string> tokens)
    {
        var colon = tokens.IndexOf(":");
        if (colon < 0 || colon + 1 >= tokens.Count)
        {
            throw new ConfigException(location, "expected '[IDs] : TYPE VALUE' (a ':' surrounded by blanks, then the secret's type)");
        }

        return new IpsecSecret(tokens[..colon], tokens[colon + 1].ToUpperInvariant(), tokens[(colon + 2)..], location);
    }

    /// <summary>Blank-separated tokens; a double-quoted token keeps its blanks and is marked by its quotes.</summary>
    private static List<string> Tokens(string line, SourceLocation location)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < line.Length)
        {
            if (char.IsWhiteSpace(line[i]))
            {
                i++;
            }
            else if (line[i] == '#')
            {
                break;
            }
            else if (line[i] is '"' or '\'')
            {
                var end = line.IndexOf(line[i], i + 1);
                if (end < 0)
                {
                    throw new ConfigException(location, "unterminated quoted string");
                }

                tokens.Add("\"" + line[(i + 1)..end] + "\"");
                i = end + 1;
            }
            else
            {
                var start = i;
                while (i < line.Length && !char.IsWhiteSpace(line[i]))
                {
                    i++;
                }

                tokens.Add(line[start..i]);
            }
        }

        return tokens;
    }

    /// <summary>A token without its quotes.</summary>
    public static string Unquote(string token) => token.Length >= 2 && token[0] == '"' && token[^1] == '"' ? token[1..^1] : token;

    public static IpsecSecretsParser FromDisk() => new(File.ReadAllText, SwanctlFile.Glob);
}
