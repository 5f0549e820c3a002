namespace Oakley.Config.Import;

/// <summary>
/// Reads ipsec.conf as strongSwan's starter and Libreswan's pluto read it: a section starts in column 0
/// (<c>config setup</c>, <c>conn NAME</c>, <c>ca NAME</c>), its settings are the indented <c>key=value</c> lines
/// that follow, <c>#</c> starts a comment (outside quotes), and <c>include PATTERN</c> (relative to the including
/// file, shell wildcards allowed) splices other files in. Anything else is a <see cref="ConfigException"/> with
/// file:line: the importer cannot guess what a line it does not understand was meant to say.
/// </summary>
public sealed class IpsecConfParser(Func<string, string> readFile, Func<string, IEnumerable<string>> glob)
{

    /// <summary>Keywords only Libreswan (or its ancestor Openswan) knows; one of them makes the file Libreswan's.</summary>
    private static readonly HashSet<string> LibreswanKeywords = new(StringComparer.Ordinal)
    {
        "phase2alg", "phase2", "ikev2", "protostack", "narrowing", "leftaddresspool", "rightaddresspool", "salifetime",
        "leftmodecfgserver", "rightmodecfgserver", "leftmodecfgclient", "rightmodecfgclient", "leftxauthserver",
        "rightxauthserver", "leftxauthclient", "rightxauthclient", "modecfgdns", "modecfgpull", "encapsulation",
        "logfile", "plutodebug", "virtual-private", "ipsec-interface", "pfs", "nat-keepalive", "sha2-truncbug",
        "ikev1-policy", "listen", "nhelpers", "dumpdir", "logtime", "logappend", "leftnexthop", "rightnexthop",
    };

    private readonly IncludeReader _files = new(readFile, glob);
    private readonly List<IpsecSection> _setupSections = [];
    private IpsecConf _conf = new();
    private IpsecSection? _section;

    /// <summary>Parses the file at <paramref name="path"/> and what it includes.</summary>
    public IpsecConf Parse(string path)
    {
        _conf = new IpsecConf();
        _section = null;
        _setupSections.Clear();
        ParseFile(path, new SourceLocation(path, 0, 0), 0);
        _conf.Setup.AddRange(_setupSections.SelectMany(s => s.Settings));
        return _conf;
    }

    private void ParseFile(string path, SourceLocation includedFrom, int depth)
    {
        var lines = _files.Lines(path, includedFrom, depth);
        for (var i = 0; i < lines.Length; i++)
        {
            ParseLine(path, i + 1, lines[i], depth);
        }
    }

    private void ParseLine(string path, int number, string line, int depth)
    {
        var location = new SourceLocation(path, number, 1);
        var content = StripComment(line, location);
        if (content.Trim().Length == 0)
        {
            return;
        }

        if (!char.IsWhiteSpace(content[0]))
        {
            TopLevel(path, location, content.Trim(), depth);
            return;
        }

        if (_section is null)
        {
            throw new ConfigException(location, "an indented setting outside any section (expected 'config setup', 'conn NAME' or 'ca NAME' first)");
        }

        var text = content.Trim();
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ConfigException(location, $"expected KEY=VALUE, got '{text}'");
        }

        var key = text[..eq].Trim();
        if (!key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new ConfigException(location, $"'{key}' is not a keyword");
        }

        var value = Unquote(text[(eq + 1)..].Trim(), location);
        if (LibreswanKeywords.Contains(key) || value.StartsWith("0sAw", StringComparison.Ordinal) || value.StartsWith("0sAQ", StringComparison.Ordinal))
        {
            _conf.IsLibreswan = true;
        }

        _section.Settings.Add(new IpsecSetting(key, value, location));
    }

    private void TopLevel(string path, SourceLocation location, string text, int depth)
    {
        var parts = text.Split((char[])[' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var word = parts[0];
        var arg = parts.Length > 1 ? parts[1] : null;
        switch (word)
        {
            case "config" when arg == "setup":
                _section = new IpsecSection("config", "setup", location);
                _setupSections.Add(_section);
                return;
            case "conn" or "ca" when arg is not null && !arg.Contains(' ', StringComparison.Ordinal):
                _section = new IpsecSection(word, arg, location);
                (word == "conn" ? _conf.Conns : _conf.Cas).Add(_section);
                return;
            case "include" when arg is not null:
                Include(path, location, Unquote(arg, location), depth);
                return;
            case "version":
                // Openswan's and old strongSwan's "version 2" / "version 2.0" line: nothing to convert.
                return;
            default:
                throw new ConfigException(location, $"expected 'config setup', 'conn NAME', 'ca NAME' or 'include FILE', got '{text}'");
        }
    }

    private void Include(string path, SourceLocation location, string pattern, int depth)
    {
        foreach (var file in _files.Expand(path, pattern, location))
        {
            ParseFile(file, location, depth + 1);
        }
    }

    /// <summary>Cuts a <c>#</c> comment (at the line start or after white space, outside double quotes).</summary>
    private static string StripComment(string line, SourceLocation location)
    {
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '"')
            {
                quoted = !quoted;
            }
            else if (line[i] == '#' && !quoted && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i];
            }
        }

        return quoted ? throw new ConfigException(location, "unterminated quoted string") : line;
    }

    private static string Unquote(string value, SourceLocation location)
    {
        if (value.Length == 0 || value[0] != '"')
        {
            return value;
        }

        var end = value.IndexOf('"', 1);
        if (end < 0 || value[(end + 1)..].Trim().Length > 0)
        {
            throw new ConfigException(location, $"bad quoting in '{value}'");
        }

        return value[1..end];
    }

    /// <summary>A parser over the real file system.</summary>
    public static IpsecConfParser FromDisk() => new(File.ReadAllText, SwanctlFile.Glob);
}
