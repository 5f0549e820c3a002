namespace Oakley.Config.Import;

/// <summary>How to read the file: which side is the local one.</summary>
/// <param name="RightIsLocal">
/// strongSwan decides per connection which of left and right is local by the host's addresses; a converter
/// cannot know the host, so it takes left as local (the usual convention) unless told otherwise.
/// </param>
public sealed record ImportOptions(bool RightIsLocal = false);

/// <summary>
/// The state of converting one conn: its effective settings, which keywords were looked at (the rest are
/// reported as not converted), the notes, and whether the connection must be written commented out because
/// Oakley cannot load it.
/// </summary>
internal sealed class ConnContext(ResolvedConn conn, IpsecConf file, ImportOptions options, ImportNotes notes)
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public ResolvedConn Conn { get; } = conn;

    public IpsecConf File { get; } = file;

    public ImportNotes Notes { get; } = notes;

    /// <summary>The swanctl name of the connection (section names allow letters, digits, '-' and '_' only).</summary>
    public string Name { get; set; } = SwanctlWriter.SafeName(conn.Name);

    public string LocalPrefix { get; } = options.RightIsLocal ? "right" : "left";

    public string RemotePrefix { get; } = options.RightIsLocal ? "left" : "right";

    /// <summary>Why the whole connection is written commented out (the first reason found), or null.</summary>
    public string? DisabledReason { get; private set; }

    /// <summary>The PEM public keys decoded from raw <c>rsasigkey</c>s, by their pubkey/ file name.</summary>
    public Dictionary<string, string> PublicKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether no lifetime keyword was set (swanctl's defaults then apply instead of starter's).</summary>
    public bool UsedDefaultLifetimes { get; set; }

    /// <summary>The IKE version written (0: any, 1, 2).</summary>
    public int Version { get; set; }

    /// <summary>The connection's setting of a keyword (marking it as handled).</summary>
    public IpsecSetting? Get(string key)
    {
        _used.Add(key);
        return Conn[key];
    }

    /// <summary>The first present of several alias keywords (all marked handled).</summary>
    public IpsecSetting? GetAny(params string[] keys)
    {
        IpsecSetting? found = null;
        foreach (var key in keys)
        {
            found ??= Get(key);
            _used.Add(key);
        }

        return found;
    }

    /// <summary>A left/right keyword of the local (<paramref name="local"/>) or remote side, e.g. <c>Side(true, "subnet")</c>.</summary>
    public IpsecSetting? Side(bool local, string suffix) => Get((local ? LocalPrefix : RemotePrefix) + suffix);

    public void Note(IpsecSetting setting, string message) =>
        Notes.Add(setting.Location, $"conn {Conn.Name}: {setting.Key}={Short(setting.Value)}: {message}");

    /// <summary>A value as notes quote it: long ones (raw keys) cut to their start.</summary>
    public static string Short(string value) => value.Length <= 48 ? value : value[..40] + "…";

    public void NoteConn(string message) => Notes.Add(Conn.Location, $"conn {Conn.Name}: {message}");

    /// <summary>Marks the connection as one Oakley cannot load; it is written commented out.</summary>
    public void Disable(IpsecSetting? setting, string reason)
    {
        if (DisabledReason is null)
        {
            DisabledReason = reason;
            var what = setting is null ? string.Empty : $"{setting.Key}={setting.Value}: ";
            Notes.Add(setting?.Location ?? Conn.Location,
                $"conn {Conn.Name}: {what}{reason}; the connection is written commented out (strongSwan would load it uncommented, Oakley cannot)");
        }
    }

    /// <summary>The keywords nobody looked at.</summary>
    public IEnumerable<IpsecSetting> Unused => Conn.Settings.Values.Where(s => !_used.Contains(s.Key)).OrderBy(s => s.Location.File, StringComparer.Ordinal).ThenBy(s => s.Location.Line);

    public void MarkUsed(string key) => _used.Add(key);

    /// <summary>Whether a yes/no keyword is yes (absent: <paramref name="fallback"/>).</summary>
    public static bool IsYes(IpsecSetting? setting, bool fallback = false) =>
        setting is null ? fallback : setting.Value.ToLowerInvariant() is "yes" or "true" or "1" or "insist" or "force";
}
