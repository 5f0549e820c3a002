namespace Oakley.Config;

/// <summary>strongSwan's boolean spellings in settings files: yes/no, true/false, enabled/disabled, 1/0.</summary>
internal static class SettingsBool
{
    /// <summary>The value of <paramref name="key"/>, or <paramref name="fallback"/> when absent; <paramref name="name"/> is its full name for the error.</summary>
    public static bool Read(SettingsSection section, string key, bool fallback, string name)
    {
        var v = section.Value(key);
        if (v is null)
        {
            return fallback;
        }

        return v.Value.Trim().ToLowerInvariant() switch
        {
            "yes" or "true" or "enabled" or "1" => true,
            "no" or "false" or "disabled" or "0" => false,
            _ => throw new ConfigException(v.Location, $"{name} = '{v.Value}' is not yes or no"),
        };
    }
}
