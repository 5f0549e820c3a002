using System.Text;

namespace Oakley.Config;

/// <summary>
/// Parses strongSwan's settings syntax (swanctl.conf, strongswan.conf): nested <c>name { }</c> sections,
/// <c>key = value</c> where an unquoted value runs to the end of the line, double-quoted values with
/// escapes (and line breaks), <c>#</c> comments, and <c>include</c> with glob patterns relative to the
/// including file. Errors carry file:line:column and a caret.
/// </summary>
public sealed class SettingsParser
{
    private const int MaxIncludeDepth = 10;
    private readonly Func<string, string> _readFile;
    private readonly Func<string, IEnumerable<string>> _glob;
    private readonly Func<string, bool> _isDirectory;

    /// <param name="readFile">Reads a file (<see cref="SwanctlFile"/> passes File.ReadAllText; tests pass a dictionary).</param>
    /// <param name="glob">Expands an absolute include pattern to the sorted paths of the regular files it matches.</param>
    /// <param name="isDirectory">Whether a path is a directory (an include naming one is an error); none by default.</param>
    public SettingsParser(Func<string, string> readFile, Func<string, IEnumerable<string>> glob, Func<string, bool>? isDirectory = null)
    {
        _readFile = readFile;
        _glob = glob;
        _isDirectory = isDirectory ?? (_ => false);
    }

    public SettingsSection ParseFile(string path)
    {
        var root = new SettingsSection(string.Empty, new SourceLocation(path, 1, 1));
        ParseInto(root, path, 0);
        return root;
    }

    public SettingsSection ParseText(string text, string name = "<text>")
    {
        var root = new SettingsSection(string.Empty, new SourceLocation(name, 1, 1));
        new Lexer(text, name).ParseBody(root, this, 0, topLevel: true);
        return root;
    }

    private void ParseInto(SettingsSection section, string path, int depth)
    {
        string text;
        try
        {
            text = _readFile(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException(new SourceLocation(path, 0, 0), $"{path}: no such file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(new SourceLocation(path, 0, 0), $"{path}: cannot read: {e.Message}");
        }

        new Lexer(text, path).ParseBody(section, this, depth, topLevel: true);
    }

    private void Include(SettingsSection section, string pattern, SourceLocation at, string line, int depth)
    {
        if (depth >= MaxIncludeDepth)
        {
            throw new ConfigException(at, $"includes nested more than {MaxIncludeDepth} deep (a loop?)", line);
        }

        var baseDir = Path.GetDirectoryName(Path.GetFullPath(at.File)) ?? ".";
        var full = Path.IsPathRooted(pattern) ? pattern : Path.Combine(baseDir, pattern);
        var isPattern = pattern.Contains('*', StringComparison.Ordinal) || pattern.Contains('?', StringComparison.Ordinal);
        if (!isPattern && _isDirectory(full))
        {
            throw new ConfigException(at, $"included '{pattern}' is a directory (include its files with a pattern such as '{pattern.TrimEnd('/')}/*.conf')", line);
        }

        // As in strongSwan, a pattern that matches nothing includes nothing; a plain file name that does not exist is a
        // typo, so it is an error. Directories a pattern matches are skipped (strongSwan reads regular files only).
        var files = _glob(full).Where(f => !_isDirectory(f)).ToList();
        if (files.Count == 0 && !isPattern)
        {
            throw new ConfigException(at, $"included file '{pattern}' does not exist", line);
        }

        foreach (var f in files)
        {
            ParseInto(section, f, depth + 1);
        }
    }

    private sealed class Lexer(string text, string file)
    {
        private readonly string[] _lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        private int _line;
        private int _col;

        private SourceLocation Here => new(file, _line + 1, _col + 1);

        private string CurrentLine => _line < _lines.Length ? _lines[_line] : string.Empty;

        public void ParseBody(SettingsSection section, SettingsParser parser, int depth, bool topLevel)
        {
            while (true)
            {
                SkipSpaceAndComments();
                if (_line >= _lines.Length)
                {
                    if (!topLevel)
                    {
                        throw new ConfigException(new SourceLocation(file, _lines.Length, 1), $"section '{section.Name}' (opened at line {section.Location.Line}) is not closed: missing '}}'");
                    }

                    return;
                }

                var c = CurrentLine[_col];
                if (c == '}')
                {
                    if (topLevel)
                    {
                        throw new ConfigException(Here, "unexpected '}'", CurrentLine);
                    }

                    _col++;
                    return;
                }

                var start = Here;
                var name = ReadName();
                if (name.Length == 0)
                {
                    throw new ConfigException(start, $"unexpected character '{c}'", CurrentLine);
                }

                SkipInlineSpace();
                var next = _col < CurrentLine.Length ? CurrentLine[_col] : '\n';
                if (name == "include" && next is not ('=' or '{'))
                {
                    var pattern = CurrentLine[_col..].Trim();
                    var lineText = CurrentLine;
                    NextLine();
                    parser.Include(section, pattern, start, lineText, depth);
                    continue;
                }

                if (next == '{')
                {
                    _col++;
                    var child = section.GetOrAddSection(name, start);
                    ParseBody(child, parser, depth, topLevel: false);
                    continue;
                }

                if (next != '=')
                {
                    throw new ConfigException(Here, $"expected '=' or '{{' after '{name}'", CurrentLine);
                }

                _col++;
                SkipInlineSpace();
                var value = ReadValue();
                section.Values.Add(new SettingsValue(name, value, start));
            }
        }

        private string ReadName()
        {
            var line = CurrentLine;
            var s = _col;
            while (_col < line.Length && !char.IsWhiteSpace(line[_col]) && line[_col] is not ('=' or '{' or '}' or '#' or '"'))
            {
                _col++;
            }

            return line[s.._col];
        }

        private string ReadValue()
        {
            var line = CurrentLine;
            if (_col < line.Length && line[_col] == '"')
            {
                var start = Here;
                _col++;
                var sb = new StringBuilder();
                while (true)
                {
                    if (_line >= _lines.Length)
                    {
                        throw new ConfigException(start, "unterminated quoted string", _lines[start.Line - 1]);
                    }

                    line = CurrentLine;
                    if (_col >= line.Length)
                    {
                        sb.Append('\n');
                        NextLine();
                        continue;
                    }

                    var ch = line[_col++];
                    if (ch == '"')
                    {
                        break;
                    }

                    if (ch == '\\' && _col < line.Length)
                    {
                        var e = line[_col++];
                        sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => e });
                        continue;
                    }

                    sb.Append(ch);
                }

                var rest = CurrentLine[_col..];
                var hash = rest.IndexOf('#', StringComparison.Ordinal);
                if ((hash < 0 ? rest : rest[..hash]).Trim().Length > 0 && !(hash < 0 ? rest : rest[..hash]).Trim().StartsWith('}'))
                {
                    throw new ConfigException(Here, "unexpected text after quoted value", CurrentLine);
                }

                _col += hash < 0 ? rest.TrimEnd().Length : hash;
                return sb.ToString();
            }

            // Unquoted: to the end of the line or a comment.
            var end = line.IndexOf('#', _col);
            var value = (end < 0 ? line[_col..] : line[_col..end]).Trim();
            NextLine();
            return value;
        }

        private void SkipInlineSpace()
        {
            var line = CurrentLine;
            while (_col < line.Length && line[_col] is ' ' or '\t')
            {
                _col++;
            }
        }

        private void SkipSpaceAndComments()
        {
            while (_line < _lines.Length)
            {
                var line = CurrentLine;
                while (_col < line.Length && char.IsWhiteSpace(line[_col]))
                {
                    _col++;
                }

                if (_col >= line.Length || line[_col] == '#')
                {
                    NextLine();
                    continue;
                }

                return;
            }
        }

        private void NextLine()
        {
            _line++;
            _col = 0;
        }
    }
}
