using System.Text;

namespace Oakley.Config.Import;

/// <summary>A <c>key = value</c> of the swanctl.conf being written; a commented one is written as <c># key = value</c>.</summary>
internal sealed record SwanctlEntry(string Key, string Value, bool Commented, bool Quoted = false);

/// <summary>
/// A section of the swanctl.conf being written. A section with <see cref="CommentedOut"/> set is written with every
/// line behind <c>#</c>: the converter keeps what strongSwan would load (so an operator who stays with strongSwan
/// can take it back) while the file loads unchanged into Oakley.
/// </summary>
internal sealed class SwanctlNode(string name)
{
    private readonly List<object> _items = [];

    public string Name { get; } = name;

    public bool CommentedOut { get; set; }

    public IReadOnlyList<object> Items => _items;

    public void Set(string key, string value, bool commented = false, bool quoted = false)
    {
        _items.RemoveAll(i => i is SwanctlEntry e && e.Key == key);
        _items.Add(new SwanctlEntry(key, value, commented, quoted));
    }

    public string? Get(string key) => _items.OfType<SwanctlEntry>().LastOrDefault(e => e.Key == key && !e.Commented)?.Value;

    public SwanctlNode Section(string name)
    {
        var existing = _items.OfType<SwanctlNode>().FirstOrDefault(n => n.Name == name);
        if (existing is not null)
        {
            return existing;
        }

        var node = new SwanctlNode(name);
        _items.Add(node);
        return node;
    }

    /// <summary>Adds a section built elsewhere (a section of the same name is replaced).</summary>
    public void Add(SwanctlNode node)
    {
        _items.RemoveAll(i => i is SwanctlNode n && n.Name == node.Name);
        _items.Add(node);
    }

    public SwanctlNode? Find(string name) => _items.OfType<SwanctlNode>().FirstOrDefault(n => n.Name == name);

    public bool IsEmpty => _items.Count == 0;
}

/// <summary>Writes <see cref="SwanctlNode"/>s in strongSwan's settings syntax, two spaces per level.</summary>
internal static class SwanctlWriter
{
    public static void Write(StringBuilder output, SwanctlNode node, int depth, bool commented = false)
    {
        commented |= node.CommentedOut;
        Line(output, depth, commented, node.Name + " {");
        foreach (var item in node.Items)
        {
            if (item is SwanctlEntry entry)
            {
                var text = $"{entry.Key} = {(entry.Quoted ? QuoteAlways(entry.Value) : Quote(entry.Value))}";
                Line(output, depth + 1, commented, entry.Commented && !commented ? "# " + text : text);
            }
            else
            {
                Write(output, (SwanctlNode)item, depth + 1, commented);
            }
        }

        Line(output, depth, commented, "}");
    }

    /// <summary>A line; inside a commented-out section every line starts with <c>#</c> in column 0 (easy to take back).</summary>
    private static void Line(StringBuilder output, int depth, bool commented, string text) =>
        output.Append(commented ? "# " : string.Empty).Append(' ', depth * 2).Append(text).Append('\n');

    private static string QuoteAlways(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// A section name as the settings syntax allows it: letters, digits, <c>-</c> and <c>_</c> (a dot would nest
    /// sections; blanks, commas, braces and the like end the name); anything else becomes <c>-</c>.
    /// </summary>
    public static string SafeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return safe.Length == 0 ? "-" : safe;
    }

    /// <summary>
    /// A value runs to the end of its line in the settings syntax; one holding characters the syntax gives meaning
    /// to (<c># { } " = \</c>), or surrounding blanks, is written in double quotes with <c>"</c> and <c>\</c> escaped.
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var plain = value.Length > 0 && value.Trim() == value && value.IndexOfAny(['#', '{', '}', '"', '=', '\\', '\n', '\r', '\t']) < 0;
        return plain ? value : QuoteAlways(value);
    }
}
