using System.Text;

namespace Oakley.Host.Vici;

/// <summary>
/// One VICI message (strongSwan's <c>src/libcharon/plugins/vici/README.md</c>, "Message format"): a section is an
/// ordered set of key/values, lists and named sub-sections; the message itself is the implicit root section. Values
/// are raw blobs; strongSwan sends strings (numbers as decimal text), which <see cref="Text"/> reads as UTF-8.
/// Entries keep the order they were added or decoded in, because swanctl prints them in that order.
/// </summary>
public sealed class ViciSection
{
    private readonly List<ViciEntry> _entries = [];

    public IReadOnlyList<ViciEntry> Entries => _entries;

    public bool IsEmpty => _entries.Count == 0;

    /// <summary>Adds <c>key = value</c> (UTF-8) and returns this section, for chaining.</summary>
    public ViciSection Add(string key, string value) => Add(key, Encoding.UTF8.GetBytes(value));

    /// <summary>Adds <c>key = value</c> with a raw blob (a certificate, a key) and returns this section.</summary>
    public ViciSection Add(string key, byte[] value)
    {
        _entries.Add(new ViciValue(key, value));
        return this;
    }

    /// <summary>Adds a named list of string items and returns this section.</summary>
    public ViciSection AddList(string key, IEnumerable<string> items)
    {
        _entries.Add(new ViciList(key, [.. items.Select(Encoding.UTF8.GetBytes)]));
        return this;
    }

    /// <summary>Adds a named list of raw items and returns this section.</summary>
    public ViciSection AddList(string key, IEnumerable<byte[]> items)
    {
        _entries.Add(new ViciList(key, [.. items]));
        return this;
    }

    /// <summary>Adds and returns a new named sub-section.</summary>
    public ViciSection AddSection(string key)
    {
        var child = new ViciSection();
        _entries.Add(new ViciSubsection(key, child));
        return child;
    }

    /// <summary>Adds <paramref name="child"/> as a named sub-section and returns this section.</summary>
    public ViciSection AddSection(string key, ViciSection child)
    {
        _entries.Add(new ViciSubsection(key, child));
        return this;
    }

    /// <summary>The raw value of <paramref name="key"/> (the last one if a peer repeated it), or null.</summary>
    public byte[]? Value(string key) => Last<ViciValue>(key)?.Value;

    /// <summary>The value of <paramref name="key"/> as UTF-8 text, or null.</summary>
    public string? Text(string key) => Value(key) is { } v ? Encoding.UTF8.GetString(v) : null;

    /// <summary>The items of the list <paramref name="key"/>, or null.</summary>
    public IReadOnlyList<byte[]>? List(string key) => Last<ViciList>(key)?.Items;

    /// <summary>The items of the list <paramref name="key"/> as UTF-8 text (empty when absent).</summary>
    public IReadOnlyList<string> TextList(string key) => List(key)?.Select(Encoding.UTF8.GetString).ToList() ?? [];

    /// <summary>The sub-section <paramref name="key"/>, or null.</summary>
    public ViciSection? Section(string key) => Last<ViciSubsection>(key)?.Section;

    /// <summary>The named sub-sections, in order.</summary>
    public IEnumerable<ViciSubsection> Sections => _entries.OfType<ViciSubsection>();

    private T? Last<T>(string key)
        where T : ViciEntry
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i] is T match && match.Key == key)
            {
                return match;
            }
        }

        return null;
    }
}

/// <summary>One named element of a section.</summary>
public abstract record ViciEntry(string Key);

/// <summary><c>key = value</c>.</summary>
public sealed record ViciValue(string Key, byte[] Value) : ViciEntry(Key);

/// <summary><c>key = [ item, ... ]</c> (lists hold values only, and do not nest).</summary>
public sealed record ViciList(string Key, IReadOnlyList<byte[]> Items) : ViciEntry(Key);

/// <summary><c>key { ... }</c>.</summary>
public sealed record ViciSubsection(string Key, ViciSection Section) : ViciEntry(Key);
