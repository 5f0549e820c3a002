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
    private readonly List<SourceLocation> _definitions = [location];

    public string Name { get; } = name;

    /// <summary>Where the section was first opened.</summary>
    public SourceLocation Location { get; } = location;

    /// <summary>Every place a section of this name was opened at this path (merged into this one), in parse order.</summary>
    public IReadOnlyList<SourceLocation> Definitions => _definitions;

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
            existing._definitions.Add(location);
            return existing;
        }

        var s = new SettingsSection(name, location);
        Sections.Add(s);
        return s;
    }
}

/// <summary>One configuration error: where, and what.</summary>
public sealed record ConfigError(SourceLocation Location, string Message)
{
    /// <summary><c>file:line: error: message</c>; without a line (a whole file), the message alone, which names the file.</summary>
    public override string ToString() => Location.Line == 0 ? Message : $"{Location.File}:{Location.Line}: error: {Message}";
}

/// <summary>
/// A configuration error: file:line:column, a message and the offending line with a caret; or several errors found
/// together (one per line, in file order), when the whole file is checked before it is refused.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(SourceLocation location, string message, string? sourceLine = null)
        : base(Format(location, message, sourceLine))
    {
        Location = location;
        Reason = message;
        Errors = [new ConfigError(location, message)];
    }

    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join("\n", (errors ?? throw new ArgumentNullException(nameof(errors))).Select(e => e.ToString())))
    {
        if (errors.Count == 0)
        {
            throw new ArgumentException("no errors", nameof(errors));
        }

        Location = errors[0].Location;
        Reason = errors[0].Message;
        Errors = errors;
    }

    public ConfigException()
        : base("configuration error")
    {
        Location = new SourceLocation("?", 0, 0);
        Reason = Message;
        Errors = [new ConfigError(Location, Reason)];
    }

    public ConfigException(string message)
        : base(message)
    {
        Location = new SourceLocation("?", 0, 0);
        Reason = message;
        Errors = [new ConfigError(Location, Reason)];
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Location = new SourceLocation("?", 0, 0);
        Reason = message;
        Errors = [new ConfigError(Location, Reason)];
    }

    public SourceLocation Location { get; }

    public string Reason { get; }

    /// <summary>All errors (one for a syntax error; every unknown or unsupported key at once for a refused file).</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    private static string Format(SourceLocation location, string message, string? sourceLine)
    {
        if (sourceLine is null || location.Line == 0)
        {
            return new ConfigError(location, message).ToString();
        }

        var caret = new string(' ', Math.Max(0, location.Column - 1)) + "^";
        return $"{location.File}:{location.Line}:{location.Column}: error: {message}\n    {sourceLine.TrimEnd()}\n    {caret}";
    }
}

/// <summary>A problem that does not stop loading (an unsupported key, for example).</summary>
public sealed record ConfigWarning(SourceLocation Location, string Message)
{
    public override string ToString() => Location.Line == 0 ? $"{Location.File}: warning: {Message}" : $"{Location.File}:{Location.Line}: warning: {Message}";
}
