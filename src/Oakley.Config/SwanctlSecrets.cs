using Oakley.Engine;

namespace Oakley.Config;

/// <summary>
/// Loads <c>secrets { }</c>: the PSKs of <c>ike*</c> sections and the EAP passwords of <c>eap*</c> sections (the
/// validator has warned about the other types). A missing or empty secret is refused, as strongSwan refuses it
/// ("missing secret", "shared key data missing"): no code path may authenticate with an empty key. Messages never
/// contain the secret.
/// </summary>
internal static class SwanctlSecrets
{
    public static void Load(SettingsSection secrets, SwanctlConfig result)
    {
        foreach (var s in secrets.Sections)
        {
            // The section-name prefixes are strongSwan's (SwanctlKeys.SecretTypes); "ike" is tested after "eap" there too.
            if (s.Name.StartsWith("eap", StringComparison.Ordinal))
            {
                var (ids, secret) = Shared(s, "an EAP secret");
                result.Secrets.AddEap(ids, secret);
            }
            else if (s.Name.StartsWith("ike", StringComparison.Ordinal))
            {
                var (ids, key) = Shared(s, "a pre-shared key");
                result.Secrets.Add(ids, key);
            }
        }
    }

    /// <summary>The identities (<c>id</c>, <c>id-*</c>) and the decoded, non-empty <c>secret</c> of a shared secret section.</summary>
    private static (Identity[] Ids, byte[] Secret) Shared(SettingsSection s, string what)
    {
        var secret = s.Value("secret") ?? throw new ConfigException(s.Location, $"missing secret in 'secrets.{s.Name}'");
        var key = DecodeSecret(secret);
        if (key.Length == 0)
        {
            throw new ConfigException(secret.Location, $"'secrets.{s.Name}.secret' is empty: {what} must not be empty");
        }

        var ids = s.Values.Where(v => v.Key.StartsWith("id", StringComparison.Ordinal)).Select(SwanctlValues.ParseId).ToArray();
        return (ids, key);
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
