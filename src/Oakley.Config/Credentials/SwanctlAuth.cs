using Oakley.Crypto.Signature;
using Oakley.Engine;
using Oakley.Engine.Certificates;

namespace Oakley.Config.Credentials;

/// <summary>
/// One swanctl authentication round (<c>local</c> / <c>remote</c>) as an <see cref="AuthConfig"/>. <c>auth</c> is
/// <c>psk</c> or strongSwan's public-key syntax: <c>pubkey</c>, <c>rsa</c>, <c>rsa/pss</c>, <c>ecdsa</c>,
/// <c>ed25519</c> or <c>ed448</c>, optionally prefixed with <c>ike:</c> and followed by hash names
/// (<c>rsa/pss-sha384-sha256</c>, <c>pubkey-sha256</c>), which restrict the signature schemes (SHA-1 only when named).
/// EAP rounds are <see cref="SwanctlEap"/>'s. <c>certs</c> are relative to x509/, <c>cacerts</c> to x509ca/, <c>pubkeys</c> to pubkey/ (or absolute paths).
/// </summary>
internal static class SwanctlAuth
{
    public static AuthConfig Round(SettingsSection round, bool local, SwanctlCredentials creds)
    {
        var auth = round.Value("auth");
        if (SwanctlEap.IsEap(auth))
        {
            // EAP-TLS authenticates with the round's certs (and an EAP-only gateway's local round presents them).
            // A remote EAP-TLS round checks the client certificate's revocation by its revocation policy.
            var eap = SwanctlEap.Round(round, auth!, local);
            var certs = local ? Names(round, "certs").Select(v => Certificate(creds, v.Name, "x509", v.Location)).ToList() : [];
            var revocation = !local && round.Value("revocation") is { } rv ? RevocationOf(rv) : RevocationPolicy.Relaxed;
            return certs.Count == 0 && revocation == RevocationPolicy.Relaxed ? eap : new AuthConfig
            {
                Class = eap.Class, EapMethod = eap.EapMethod, EapRadius = eap.EapRadius, EapDynamic = eap.EapDynamic, EapId = eap.EapId, Certificates = certs,
                Revocation = revocation,
            };
        }

        var (cls, schemes) = auth is null ? (AuthClass.PublicKey, SignatureSchemes.Default) : Parse(auth);
        if (cls == AuthClass.Psk)
        {
            return AuthConfig.Psk;
        }

        return new AuthConfig
        {
            Class = AuthClass.PublicKey,
            Certificates = Names(round, "certs").Select(v => Certificate(creds, v.Name, "x509", v.Location)).ToList(),
            CaCertificates = local ? [] : Names(round, "cacerts").Select(v => Certificate(creds, v.Name, "x509ca", v.Location)).ToList(),
            PublicKeys = Names(round, "pubkeys").Select(v => creds.FindPublicKey(v.Name, out var error) ?? throw new ConfigException(v.Location, error!)).ToList(),
            Schemes = schemes,
            Revocation = round.Value("revocation") is { } r ? RevocationOf(r) : RevocationPolicy.Relaxed,
        };
    }

    /// <summary>The class and the acceptable schemes of an <c>auth</c> value.</summary>
    internal static (AuthClass Class, IReadOnlyList<SignatureScheme> Schemes) Parse(SettingsValue auth)
    {
        var text = auth.Value.Trim().ToLowerInvariant();
        if (text == "psk")
        {
            return (AuthClass.Psk, []);
        }

        if (text.StartsWith("ike:", StringComparison.Ordinal))
        {
            text = text[4..];
        }

        var parts = text.Split('-');
        Func<SignatureScheme, bool> kind = parts[0] switch
        {
            "pubkey" => _ => true,
            "rsa" => s => s.KeyType == SignatureKeyType.Rsa && !s.Pss,
            "rsa/pss" => s => s.KeyType == SignatureKeyType.Rsa && s.Pss,
            "ecdsa" => s => s.KeyType == SignatureKeyType.Ecdsa,
            "ed25519" => s => s.KeyType == SignatureKeyType.Ed25519,
            "ed448" => s => s.KeyType == SignatureKeyType.Ed448,
            _ => throw new ConfigException(auth.Location, $"invalid value for '{auth.Key}': '{auth.Value}' (psk, pubkey, rsa, rsa/pss, ecdsa, ed25519, ed448 or eap[-<method>]; XAuth is IKEv1 only)"),
        };
        var hashes = new List<SignatureHash>();
        foreach (var part in parts.Skip(1))
        {
            hashes.Add(part switch
            {
                "sha1" => SignatureHash.Sha1,
                "sha256" => SignatureHash.Sha256,
                "sha384" => SignatureHash.Sha384,
                "sha512" => SignatureHash.Sha512,
                "identity" => SignatureHash.Identity,
                _ when part.All(char.IsAsciiDigit) => throw new ConfigException(auth.Location, $"'{auth.Key} = {auth.Value}': key strength constraints ('-{part}') are not supported yet"),
                _ => throw new ConfigException(auth.Location, $"invalid value for '{auth.Key}': '{auth.Value}' ('{part}' is not a hash: sha1, sha256, sha384, sha512, identity)"),
            });
        }

        var pool = hashes.Count == 0 ? SignatureSchemes.Default : SignatureSchemes.All;
        var schemes = pool.Where(s => kind(s) && (hashes.Count == 0 || hashes.Contains(s.HashId) || s.HashId == SignatureHash.Identity)).ToList();
        if (schemes.Count == 0)
        {
            throw new ConfigException(auth.Location, $"'{auth.Key} = {auth.Value}' leaves no signature scheme");
        }

        return (AuthClass.PublicKey, schemes);
    }

    private static RevocationPolicy RevocationOf(SettingsValue v) => v.Value.Trim().ToLowerInvariant() switch
    {
        "strict" => RevocationPolicy.Strict,
        "ifuri" => RevocationPolicy.IfUri,
        "relaxed" => RevocationPolicy.Relaxed,
        _ => throw new ConfigException(v.Location, $"invalid value for '{v.Key}': '{v.Value}' (strict, ifuri or relaxed)"),
    };

    private static Certificate Certificate(SwanctlCredentials creds, string name, string sub, SourceLocation at) =>
        creds.FindCertificate(name, sub, out var error) ?? throw new ConfigException(at, error!);

    private static IEnumerable<(string Name, SourceLocation Location)> Names(SettingsSection round, string key) =>
        round.Value(key) is { } v ? v.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(n => (n, v.Location)) : [];
}
