namespace Oakley.Config.Import;

/// <summary>
/// ipsec.secrets entries → swanctl.conf <c>secrets</c>: <c>PSK</c> → <c>ike-N</c>, <c>EAP</c> → <c>eap-N</c>,
/// <c>XAUTH</c> → <c>xauth-N</c>, <c>NTLM</c> → <c>ntlm-N</c> (each with its ids as <c>id-1</c>, <c>id-2</c>, …);
/// private keys (<c>RSA</c>, <c>ECDSA</c>, <c>PKCS8</c>, <c>BLISS</c>) are files swanctl loads from
/// <c>private/</c> by itself, so they need an entry only for their passphrase (<c>private-N</c>), and
/// <c>P12</c> containers one in <c>pkcs12-N</c>. Each key file gets a note saying where to copy it.
/// </summary>
internal static class SecretsConverter
{
    public static SwanctlNode Convert(IReadOnlyList<IpsecSecret> secrets, ImportNotes notes)
    {
        var node = new SwanctlNode("secrets");
        var counters = new Dictionary<string, int>(StringComparer.Ordinal);
        string Next(string prefix) => $"{prefix}-{counters[prefix] = counters.GetValueOrDefault(prefix) + 1}";
        foreach (var secret in secrets)
        {
            switch (secret.Type)
            {
                case "PSK" or "EAP" or "XAUTH" or "NTLM":
                    var why = secret.Values.Count == 0 ? "without a value" : Invalid(IpsecSecretsParser.Unquote(secret.Values[0]), secret.Values[0].StartsWith('"'));
                    if (why is not null)
                    {
                        notes.Add(secret.Location, $"{secret.Type} {why}: not converted");
                        break;
                    }

                    Shared(node.Section(Next(secret.Type.ToLowerInvariant() == "psk" ? "ike" : secret.Type.ToLowerInvariant())), secret, notes);
                    break;
                case "RSA" or "ECDSA" or "PKCS8" or "BLISS" or "PRIVATE":
                    PrivateKey(node, secret, notes, () => Next("private"), "private");
                    break;
                case "P12" or "PKCS12":
                    PrivateKey(node, secret, notes, () => Next("pkcs12"), "pkcs12");
                    break;
                case "PIN":
                    notes.Add(secret.Location, "PIN (a smartcard's PIN): tokens are not built in Oakley (secrets.token-*): not converted");
                    break;
                default:
                    notes.Add(secret.Location, $"'{secret.Type}' is not a secret type this converter knows: not converted");
                    break;
            }
        }

        return node;
    }

    /// <summary>Why a secret cannot be written (empty, or 0x/0s that do not decode), or null.</summary>
    private static string? Invalid(string value, bool quoted)
    {
        if (value.Length == 0)
        {
            return "with an empty secret (swanctl refuses empty keys)";
        }

        try
        {
            var decoded = quoted ? null
                : value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? System.Convert.FromHexString(value[2..])
                : value.StartsWith("0s", StringComparison.Ordinal) ? System.Convert.FromBase64String(value[2..]) : null;
            return decoded is { Length: 0 } ? "with an empty secret (swanctl refuses empty keys)" : null;
        }
        catch (FormatException)
        {
            return "whose 0x/0s value does not decode as hex/base64";
        }
    }

    private static void Shared(SwanctlNode entry, IpsecSecret secret, ImportNotes notes)
    {
        if (secret.Values.Count == 0)
        {
            notes.Add(secret.Location, $"{secret.Type} without a value: not converted");
            return;
        }

        if (secret.Type == "XAUTH")
        {
            notes.Add(secret.Location, "XAUTH secrets are for IKEv1 XAuth, which Oakley does not build (it loads them with a warning); an IKEv2 gateway uses EAP secrets instead");
        }

        var ids = secret.Ids.Select(IpsecSecretsParser.Unquote).Where(id => id != "%any" || secret.Ids.Count > 1).ToList();
        if (secret.Type != "PSK" && ids.Count == 0)
        {
            notes.Add(secret.Location, $"{secret.Type} without a user name: it matches any identity");
        }

        for (var i = 0; i < ids.Count; i++)
        {
            entry.Set(ids.Count == 1 ? "id" : $"id-{i + 1}", ids[i]);
        }

        // A quoted secret is a string; an unquoted 0x…/0s… one is hex/base64, which swanctl reads the same way.
        var raw = secret.Values[0];
        var value = IpsecSecretsParser.Unquote(raw);
        var quoted = raw != value;
        entry.Set("secret", value, quoted: quoted);
        if (quoted && (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || value.StartsWith("0s", StringComparison.OrdinalIgnoreCase)))
        {
            notes.Add(secret.Location, $"{secret.Type}: the quoted secret starts with 0x/0s, which swanctl reads as hex/base64 even in quotes: write it as 0x plus its hex bytes");
        }
        if (secret.Values.Count > 1)
        {
            notes.Add(secret.Location, $"{secret.Type}: only the first value is the secret; the rest is ignored");
        }
    }

    private static void PrivateKey(SwanctlNode node, IpsecSecret secret, ImportNotes notes, Func<string> next, string directory)
    {
        if (secret.Values.Count == 0 || secret.Values[0] == "{")
        {
            notes.Add(secret.Location, $"{secret.Type} with an inline key (or none): swanctl loads private keys from files in /etc/swanctl/{directory}/: write the key there: not converted");
            return;
        }

        var file = IpsecSecretsParser.Unquote(secret.Values[0]);
        var name = Path.GetFileName(file);
        var from = Path.IsPathRooted(file) ? file : "/etc/ipsec.d/private/" + file;
        notes.Add(secret.Location, $"copy {from} to /etc/swanctl/{directory}/{name} (mode 600); swanctl loads it from there");
        if (secret.Ids.Count > 0)
        {
            notes.Add(secret.Location, $"{secret.Type}: the ids before ':' are not needed (a private key is found by its public key)");
        }

        if (secret.Values.Count < 2)
        {
            if (directory == "pkcs12")
            {
                node.Section(next()).Set("file", name);
            }

            return;
        }

        var passphrase = IpsecSecretsParser.Unquote(secret.Values[1]);
        if (passphrase.Equals("%prompt", StringComparison.OrdinalIgnoreCase))
        {
            notes.Add(secret.Location, "%prompt: a daemon cannot ask for a passphrase at start: decrypt the key, or put its passphrase in the secrets entry");
            return;
        }

        var entry = node.Section(next());
        entry.Set("file", name);
        entry.Set("secret", passphrase, quoted: true);
    }
}
