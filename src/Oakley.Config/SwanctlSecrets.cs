using Oakley.Engine;

namespace Oakley.Config;

/// <summary>
/// Loads <c>secrets { }</c>: the PSKs of <c>ike*</c> sections (the validator has warned about the other types). A
/// missing or empty secret is refused, as strongSwan refuses it ("missing secret", "shared key data missing"): no
/// code path may authenticate with an empty key. Messages never contain the secret.
/// </summary>
internal static class SwanctlSecrets
{
    public static void Load(SettingsSection secrets, SwanctlConfig result)
    {
        foreach (var s in secrets.Sections.Where(s => s.Name.StartsWith("ike", StringComparison.Ordinal)))
        {
            var secret = s.Value("secret") ?? throw new ConfigException(s.Location, $"missing secret in 'secrets.{s.Name}'");
            var key = DecodeSecret(secret);
            if (key.Length == 0)
            {
                throw new ConfigException(secret.Location, $"'secrets.{s.Name}.secret' is empty: a pre-shared key must not be empty");
            }

            var ids = s.Values.Where(v => v.Key.StartsWith("id", StringComparison.Ordinal)).Select(SwanctlValues.ParseId).ToArray();
            result.Secrets.Add(ids, key);
        }
    }

    /// <summary>swanctl secrets: a plain string, or <c>0x</c> hex, or <c>0s</c> base64.</summary>
    public static byte[] DecodeSecret(SettingsValue v)
    {
        var text = v.Value;
        try
        {
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                return Convert.FromHexString(text[2..]);
            }

            if (text.StartsWith("0s", StringComparison.OrdinalIgnoreCase))
            {
                return Convert.FromBase64String(text[2..]);
            }
        }
        catch (FormatException)
        {
            throw new ConfigException(v.Location, $"'{v.Key}' is not valid {(text.StartsWith("0s", StringComparison.OrdinalIgnoreCase) ? "base64" : "hex")}");
        }

        return System.Text.Encoding.UTF8.GetBytes(text);
    }
}
