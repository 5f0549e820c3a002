namespace Oakley.Config.Import;

/// <summary>A <c>conn</c> with <c>also=</c> and <c>%default</c> applied: each keyword's effective setting.</summary>
public sealed class ResolvedConn(string name, SourceLocation location, IReadOnlyDictionary<string, IpsecSetting> settings)
{
    public string Name { get; } = name;

    public SourceLocation Location { get; } = location;

    public IReadOnlyDictionary<string, IpsecSetting> Settings { get; } = settings;

    public IpsecSetting? this[string key] => Settings.GetValueOrDefault(key);
}

/// <summary>
/// Applies <c>also=</c> and <c>conn %default</c> the way starter does: a keyword set in the conn itself wins over
/// one from an <c>also</c> section (the sections in the order named, each with its own <c>also</c>s), which wins over
/// <c>%default</c>. A keyword set twice in one section is noted, the later winning; an <c>also</c> naming no section,
/// or a loop of them, is an error (starter refuses the file too).
/// </summary>
public static class ConnResolver
{
    private const int MaxAlsoDepth = 20;

    /// <summary>Resolves every conn section of <paramref name="sections"/> (including those only used by <c>also</c>).</summary>
    public static IReadOnlyList<ResolvedConn> Resolve(IReadOnlyList<IpsecSection> sections, ImportNotes notes)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(notes);
        var byName = new Dictionary<string, IpsecSection>(StringComparer.Ordinal);
        foreach (var section in sections.Where(s => s.Name != "%default"))
        {
            if (!byName.TryAdd(section.Name, section))
            {
                throw new ConfigException(section.Location, $"{section.Kind} '{section.Name}' is defined twice (first at {byName[section.Name].Location.File}:{byName[section.Name].Location.Line})");
            }
        }

        var defaults = new Dictionary<string, IpsecSetting>(StringComparer.Ordinal);
        foreach (var section in sections.Where(s => s.Name == "%default"))
        {
            Collect(section, byName, defaults, notes, [], 0, overwrite: true);
        }

        var result = new List<ResolvedConn>();
        foreach (var section in byName.Values)
        {
            var settings = new Dictionary<string, IpsecSetting>(StringComparer.Ordinal);
            Collect(section, byName, settings, notes, [section.Name], 0, overwrite: false);
            foreach (var (key, value) in defaults)
            {
                settings.TryAdd(key, value);
            }

            settings.Remove("also");
            result.Add(new ResolvedConn(section.Name, section.Location, settings));
        }

        return result;
    }

    /// <summary>The names that some section includes with <c>also=</c> (templates, not connections of their own).</summary>
    public static HashSet<string> AlsoTargets(IEnumerable<IpsecSection> sections) =>
        sections.SelectMany(s => s.Settings).Where(s => s.Key == "also").SelectMany(s => s.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);

    private static void Collect(IpsecSection section, Dictionary<string, IpsecSection> byName, Dictionary<string, IpsecSetting> into,
        ImportNotes notes, List<string> path, int depth, bool overwrite)
    {
        var own = new Dictionary<string, IpsecSetting>(StringComparer.Ordinal);
        var alsos = new List<IpsecSetting>();
        foreach (var setting in section.Settings)
        {
            if (setting.Key == "also")
            {
                alsos.Add(setting);
                continue;
            }

            if (own.TryGetValue(setting.Key, out var earlier))
            {
                notes.Add(setting.Location, $"{section.Kind} {section.Name}: {setting.Key} is set twice (also at line {earlier.Location.Line}); the later value is used");
            }

            own[setting.Key] = setting;
        }

        foreach (var (key, value) in own)
        {
            if (overwrite)
            {
                into[key] = value;
            }
            else
            {
                into.TryAdd(key, value);
            }
        }

        foreach (var also in alsos)
        {
            foreach (var target in also.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!byName.TryGetValue(target, out var included))
                {
                    throw new ConfigException(also.Location, $"also={target}: no conn section named '{target}'");
                }

                if (path.Contains(target, StringComparer.Ordinal) || depth >= MaxAlsoDepth)
                {
                    throw new ConfigException(also.Location, $"also={target}: a loop ({string.Join(" -> ", path)} -> {target})");
                }

                Collect(included, byName, into, notes, [.. path, target], depth + 1, overwrite);
            }
        }
    }
}
