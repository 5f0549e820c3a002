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
    /// <summary>
    /// The shared secrets of a file's <c>secrets</c> section into the store, by section name (the id swanctl gives them
    /// over VICI). XAuth, NTLM and PPK secrets are kept (the validator warned that nothing uses them); key passphrases
    /// (<c>private-*</c>, …) and tokens are not shared secrets.
    /// </summary>
    public static void Read(SettingsSection secrets, SwanctlStore store)
    {
        foreach (var s in secrets.Sections)
        {
            // The section-name prefixes are strongSwan's (SwanctlKeys.SecretTypes); "ike" is tested after "eap" there too.
            SharedSecretType? type = s.Name switch
            {
                _ when s.Name.StartsWith("eap", StringComparison.Ordinal) => SharedSecretType.Eap,
                _ when s.Name.StartsWith("xauth", StringComparison.Ordinal) => SharedSecretType.Xauth,
                _ when s.Name.StartsWith("ntlm", StringComparison.Ordinal) => SharedSecretType.Ntlm,
                _ when s.Name.StartsWith("ike", StringComparison.Ordinal) => SharedSecretType.Ike,
                _ when s.Name.StartsWith("ppk", StringComparison.Ordinal) => SharedSecretType.Ppk,
                _ => null,
            };
            if (type is SharedSecretType.Eap or SharedSecretType.Ike)
            {
                var secret = s.Value("secret") ?? throw new ConfigException(s.Location, $"missing secret in 'secrets.{s.Name}'");
                var ids = s.Values.Where(v => v.Key.StartsWith("id", StringComparison.Ordinal)).Select(SwanctlValues.ParseId).ToArray();
                store.SetSecret(s.Name, Checked(s.Name, type.Value, DecodeSecret(secret), ids, secret.Location));
            }
            else if (type is { } unused && s.Value("secret") is { } secret)
            {
                store.SetSecret(s.Name, new StoredSecret(unused, DecodeSecret(secret), [], s.Location));
            }
        }
    }

    /// <summary>
    /// A shared secret as both paths define it (the file's section, VICI's load-shared): an empty IKE or EAP secret is
    /// refused, as strongSwan refuses it ("shared key data missing"): no code path may authenticate with an empty key.
    /// </summary>
    public static StoredSecret Checked(string id, SharedSecretType type, byte[] data, Identity[] owners, SourceLocation location)
    {
        if (data.Length == 0 && type is SharedSecretType.Ike or SharedSecretType.Eap)
        {
            throw new ConfigException(location, $"'secrets.{id}.secret' is empty: {(type == SharedSecretType.Eap ? "an EAP secret" : "a pre-shared key")} must not be empty");
        }

        return new StoredSecret(type, data, owners, location);
    }

    /// <summary>The PSKs and EAP passwords of the store into the configuration's credential store (the others are unused).</summary>
    public static void Load(IEnumerable<StoredSecret> secrets, SwanctlConfig result)
    {
        foreach (var s in secrets)
        {
            if (s.Type == SharedSecretType.Eap)
            {
                result.Secrets.AddEap([.. s.Owners], s.Data);
            }
            else if (s.Type == SharedSecretType.Ike)
            {
                result.Secrets.Add([.. s.Owners], s.Data);
            }
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
