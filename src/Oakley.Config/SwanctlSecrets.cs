using Oakley.Engine;

namespace Oakley.Config;

/// <summary>PSKs from <c>secrets.ike*</c>: the best match has both identities, then one, then none (a wildcard).</summary>
public sealed class SharedKeyStore : ISecretStore
{
    private readonly List<(Identity[] Ids, byte[] Secret)> _entries = [];

    public int Count => _entries.Count;

    public void Add(Identity[] ids, byte[] secret) => _entries.Add((ids, secret));

    public byte[]? FindSharedKey(Identity local, Identity? remote)
    {
        byte[]? best = null;
        var bestScore = -1;
        foreach (var (ids, secret) in _entries)
        {
            var matchLocal = ids.Any(i => i.Matches(local));
            var matchRemote = remote is not null && ids.Any(i => i.Matches(remote));
            // An entry naming identities must match at least one of ours; an entry without ids is a wildcard.
            var score = ids.Length == 0 ? 0 : (matchLocal ? 2 : 0) + (matchRemote ? 2 : 0);
            if (ids.Length > 0 && score == 0)
            {
                continue;
            }

            if (score > bestScore)
            {
                bestScore = score;
                best = secret;
            }
        }

        return best;
    }
}

/// <summary>Loads <c>secrets { }</c>: the PSKs of <c>ike*</c> sections.</summary>
internal static class SwanctlSecrets
{
    public static void Load(SettingsSection secrets, SwanctlConfig result)
    {
        foreach (var s in secrets.Sections)
        {
            if (!s.Name.StartsWith("ike", StringComparison.Ordinal))
            {
                result.Warnings.Add(new ConfigWarning(s.Location, $"secrets of type '{s.Name}' are not supported yet and are ignored"));
                continue;
            }

            var secret = s.Value("secret") ?? throw new ConfigException(s.Location, $"secrets.{s.Name} has no 'secret'");
            var ids = s.Values.Where(v => v.Key.StartsWith("id", StringComparison.Ordinal)).Select(SwanctlValues.ParseId).ToArray();
            result.Secrets.Add(ids, DecodeSecret(secret));
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

            if (text.StartsWith("0s", StringComparison.Ordinal))
            {
                return Convert.FromBase64String(text[2..]);
            }
        }
        catch (FormatException)
        {
            throw new ConfigException(v.Location, $"'{v.Key}' is not valid {(text.StartsWith("0s", StringComparison.Ordinal) ? "base64" : "hex")}");
        }

        return System.Text.Encoding.UTF8.GetBytes(text);
    }
}
