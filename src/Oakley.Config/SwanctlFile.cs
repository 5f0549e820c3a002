namespace Oakley.Config;

/// <summary>
/// Reads configuration files from disk: the checks a user needs before any parsing (the path is missing, or is a
/// directory) with one clear line each, includes with globs (regular files only, as strongSwan reads them), then the
/// swanctl.conf loader.
/// </summary>
public static class SwanctlFile
{
    /// <summary>Reads, parses and loads a swanctl.conf; throws <see cref="ConfigException"/> with file:line.</summary>
    /// <summary>Its directory is the swanctl directory: the credentials are read from x509/, x509ca/, private/ … next to it.</summary>
    public static SwanctlConfig Load(string path) => SwanctlLoader.Build(LoadStore(path));

    /// <summary>Reads and parses a swanctl.conf and its credential files as a whole <see cref="SwanctlStore"/> (checked; not built yet).</summary>
    public static SwanctlStore LoadStore(string path) => SwanctlStore.FromFile(ReadSettings(path, "swanctl.conf"), Path.GetDirectoryName(Path.GetFullPath(path)));

    /// <summary>
    /// Parses a strongSwan settings file (swanctl.conf, strongswan.conf) with its includes. A missing path is
    /// <c>PATH: no such file</c>, a directory <c>PATH is a directory (expected NAME)</c>.
    /// </summary>
    public static SettingsSection ReadSettings(string path, string expectedName)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var whole = new SourceLocation(path, 0, 0);
        if (Directory.Exists(path))
        {
            throw new ConfigException(whole, $"{path} is a directory (expected {expectedName})");
        }

        if (!File.Exists(path))
        {
            throw new ConfigException(whole, $"{path}: no such file");
        }

        return new SettingsParser(File.ReadAllText, Glob, Directory.Exists).ParseFile(path);
    }

    /// <summary>Expands a pattern whose file name may hold <c>*</c> and <c>?</c> to the regular files it matches, sorted.</summary>
    public static IEnumerable<string> Glob(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var dir = Path.GetDirectoryName(pattern) ?? ".";
        var name = Path.GetFileName(pattern);
        if (!name.Contains('*', StringComparison.Ordinal) && !name.Contains('?', StringComparison.Ordinal))
        {
            return File.Exists(pattern) ? [pattern] : [];
        }

        return Directory.Exists(dir) ? Directory.GetFiles(dir, name).Order(StringComparer.Ordinal) : [];
    }
}
