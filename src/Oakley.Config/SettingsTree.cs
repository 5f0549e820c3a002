namespace Oakley.Config;

/// <summary>Where a key, value or section came from, for error messages.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A <c>key = value</c> pair of a strongSwan settings file.</summary>
public sealed record SettingsValue(string Key, string Value, SourceLocation Location);

/// <summary>A section (<c>name { ... }</c>) of a strongSwan settings file; later definitions of a key override earlier ones.</summary>
public sealed class SettingsSection(string name, SourceLocation location)
{
    public string Name { get; } = name;

    public SourceLocation Location { get; } = location;

    public List<SettingsValue> Values { get; } = [];

    public List<SettingsSection> Sections { get; } = [];

    public SettingsValue? Value(string key) => Values.LastOrDefault(v => v.Key == key);

    public SettingsSection? Section(string name) => Sections.LastOrDefault(s => s.Name == name);

    /// <summary>Merges a section with the same name into this one (strongSwan merges repeated sections).</summary>
    internal SettingsSection GetOrAddSection(string name, SourceLocation location)
    {
        var existing = Sections.FirstOrDefault(s => s.Name == name);
        if (existing is not null)
        {
            return existing;
        }

        var s = new SettingsSection(name, location);
        Sections.Add(s);
        return s;
    }
}

/// <summary>A configuration error: file:line:column, a message and the offending line with a caret.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(SourceLocation location, string message, string? sourceLine = null)
        : base(Format(location, message, sourceLine))
    {
        Location = location;
        Reason = message;
    }

    public ConfigException()
        : base("configuration error")
    {
        Location = new SourceLocation("?", 0, 0);
        Reason = Message;
    }

    public ConfigException(string message)
        : base(message)
    {
        Location = new SourceLocation("?", 0, 0);
        Reason = message;
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Location = new SourceLocation("?", 0, 0);
        Reason = message;
    }

    public SourceLocation Location { get; }

    public string Reason { get; }

    private static string Format(SourceLocation location, string message, string? sourceLine)
    {
        if (sourceLine is null)
        {
            return $"{location.File}:{location.Line}: error: {message}";
        }

        var caret = new string(' ', Math.Max(0, location.Column - 1)) + "^";
        return $"{location.File}:{location.Line}:{location.Column}: error: {message}\n    {sourceLine.TrimEnd()}\n    {caret}";
    }
}

/// <summary>A problem that does not stop loading (an unsupported key, for example).</summary>
public sealed record ConfigWarning(SourceLocation Location, string Message)
{
    public override string ToString() => $"{Location.File}:{Location.Line}: warning: {Message}";
}
