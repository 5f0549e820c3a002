using System.Text;
using Oakley.Config;

namespace Oakley.Host.Vici;

/// <summary>
/// A VICI load-conn / load-pool / load-authority message as the <see cref="SettingsSection"/> tree the swanctl.conf
/// parser makes of the same section, so that one loader validates both. swanctl sends a file's values as they are
/// written, except that it splits list keys (<c>local_ts</c>, <c>proposals</c>, pool attributes …) at commas into VICI
/// lists, and sends the <em>contents</em> of the files <c>certs</c>, <c>cacerts</c>, <c>pubkeys</c> and <c>cacert</c>
/// name (src/swanctl/commands/load_conns.c, load_authorities.c, load_pools.c): a list becomes the comma-separated value
/// again, and credential data becomes swanctl.conf's own inline form, <c>0s</c> and base64. Every value's location is
/// its key path (<c>connections.x.children.net.esp_proposals</c>, line 0): VICI has no file and no lines.
/// </summary>
internal static class ViciSettings
{
    /// <summary>Keys whose values are credential data, not text (connections: certs, cacerts, pubkeys; authorities: cacert).</summary>
    private static readonly string[] BlobKeys = ["certs", "cacerts", "pubkeys", "cacert"];

    /// <summary>
    /// The named sub-sections of a message (load-conn's connections, load-pool's pools, …) as trees under
    /// <paramref name="parent"/> (<c>connections</c>, <c>pools</c>, <c>authorities</c>). Throws <see cref="ConfigException"/>
    /// for a message that no file could have produced (values at the top, a section given twice).
    /// </summary>
    public static List<SettingsSection> Sections(ViciSection message, string parent)
    {
        ArgumentNullException.ThrowIfNull(message);
        var at = new SourceLocation(parent, 0, 0);
        if (message.Entries.FirstOrDefault(e => e is not ViciSubsection) is { } stray)
        {
            throw new ConfigException(at, $"'{stray.Key}' is not a section: the request holds one section per {parent[..^1]}");
        }

        var sections = message.Sections.Select(s => Convert(s.Key, s.Section, $"{parent}.{s.Key}")).ToList();
        if (sections.Count == 0)
        {
            throw new ConfigException(at, $"the request holds no {parent[..^1]}");
        }

        return sections;
    }

    private static SettingsSection Convert(string name, ViciSection vici, string path)
    {
        var section = new SettingsSection(name, new SourceLocation(path, 0, 0));
        foreach (var entry in vici.Entries)
        {
            var key = $"{path}.{entry.Key}";
            switch (entry)
            {
                case ViciValue v:
                    section.Values.Add(new SettingsValue(v.Key, Text(v.Key, v.Value), new SourceLocation(key, 0, 0)));
                    break;
                case ViciList l:
                    section.Values.Add(new SettingsValue(l.Key, string.Join(",", l.Items.Select(i => Text(l.Key, i))), new SourceLocation(key, 0, 0)));
                    break;
                case ViciSubsection s:
                    if (section.Section(s.Key) is not null)
                    {
                        throw new ConfigException(new SourceLocation(key, 0, 0), $"'{key}' is defined twice");
                    }

                    section.Sections.Add(Convert(s.Key, s.Section, key));
                    break;
            }
        }

        return section;
    }

    /// <summary>A value as the file would have it: UTF-8 text, or credential data in swanctl.conf's inline <c>0s</c> form.</summary>
    private static string Text(string key, byte[] value) =>
        BlobKeys.Contains(key, StringComparer.OrdinalIgnoreCase) ? "0s" + System.Convert.ToBase64String(value) : Encoding.UTF8.GetString(value);

    /// <summary>
    /// A refused piece as charon words a refusal (<c>errmsg</c>): each error with the key path it is about, which the
    /// loader's messages often name already. Several errors (the validator finds them all at once) are joined by "; ".
    /// </summary>
    public static string Describe(ConfigException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return string.Join("; ", e.Errors.Select(error => error.Location.Line != 0 ? error.ToString()
            : error.Message.Contains(error.Location.File, StringComparison.Ordinal) ? error.Message
            : $"{error.Location.File}: {error.Message}"));
    }

    /// <summary>Whether a VICI boolean is set (charon's get_bool: yes, true, enabled, 1).</summary>
    public static bool IsYes(string? value) => value?.Trim().ToLowerInvariant() is "yes" or "true" or "enabled" or "1";
}
