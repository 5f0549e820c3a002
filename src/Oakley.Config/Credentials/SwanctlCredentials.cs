using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Config.Credentials;

/// <summary>
/// The credentials of a swanctl directory (strongSwan's layout next to swanctl.conf): <c>x509/</c> end-entity
/// certificates, <c>x509ca/</c> trust anchors, <c>pubkey/</c> raw public keys, private keys in <c>private/</c>,
/// <c>rsa/</c>, <c>ecdsa/</c> and <c>pkcs8/</c>, and PKCS#12 containers in <c>pkcs12/</c>; passphrases come from
/// <c>secrets</c> entries (<c>private-*</c>, <c>rsa-*</c>, <c>ecdsa-*</c>, <c>pkcs8-*</c>, <c>pkcs12-*</c> with
/// <c>file</c> and <c>secret</c>). A file that cannot be read is a warning naming it (as strongSwan logs and skips
/// it); a connection that needs it fails to load, or fails its IKE_AUTH naming what is missing.
/// </summary>
public sealed class SwanctlCredentials
{
    private static readonly string[] KeyDirectories = ["private", "rsa", "ecdsa", "pkcs8"];

    private readonly Dictionary<string, List<Certificate>> _files;
    private readonly Dictionary<string, SignaturePublicKey> _publicKeys;
    private readonly List<Certificate> _authorities = [];
    private readonly List<Certificate> _endEntities = [];
    private readonly List<(string Name, Certificate Certificate)> _named = [];
    private readonly List<Crl> _crls = [];
    private readonly Dictionary<string, (IReadOnlyList<string> Crl, IReadOnlyList<string> Ocsp)> _authorityUris = new(StringComparer.Ordinal);

    private SwanctlCredentials(string? directory, Dictionary<string, List<Certificate>>? files = null, Dictionary<string, SignaturePublicKey>? publicKeys = null)
    {
        Directory = directory;
        _files = files ?? new(StringComparer.Ordinal);
        _publicKeys = publicKeys ?? new(StringComparer.Ordinal);
    }

    /// <summary>The swanctl directory, or null when the configuration was given as text (no files to load).</summary>
    public string? Directory { get; }

    public static SwanctlCredentials None { get; } = new(null);

    public IReadOnlyList<Certificate> Authorities => _authorities;

    public IReadOnlyList<Certificate> EndEntities => _endEntities;

    /// <summary>The <c>authorities</c> sections, by name.</summary>
    public IReadOnlyList<(string Name, Certificate Certificate)> NamedAuthorities => _named;

    /// <summary>
    /// The credentials of a store: its trust anchors, end entities and CRLs, and the files of its swanctl directory by
    /// path (what a file's <c>certs = NAME</c> names; inline <c>0x</c>/<c>0s</c> data, as VICI's blobs become, needs none).
    /// </summary>
    internal static SwanctlCredentials Over(SwanctlStore store)
    {
        var creds = new SwanctlCredentials(store.Directory, store.Files, store.PublicKeyFiles);
        foreach (var c in store.Certificates)
        {
            (c.Authority ? creds._authorities : creds._endEntities).Add(c.Certificate);
        }

        creds._crls.AddRange(store.Crls);
        return creds;
    }

    /// <summary>Reads the directory's certificates, keys and CRLs into <paramref name="store"/> (warnings into its file warnings).</summary>
    internal static void Read(string directory, SettingsSection? secrets, SwanctlStore store)
    {
        var whole = new SourceLocation(Path.Combine(directory, "swanctl.conf"), 0, 0);
        void Warn(string message) => store.FileWarnings.Add(new ConfigWarning(whole, message));
        foreach (var (path, bytes) in Files(directory, "x509ca"))
        {
            AddCertificates(store, path, bytes, authority: true, Warn);
        }

        foreach (var (path, bytes) in Files(directory, "x509"))
        {
            AddCertificates(store, path, bytes, authority: false, Warn);
        }

        foreach (var (path, bytes) in Files(directory, "pubkey"))
        {
            if (KeyFiles.PublicKey(path, bytes, out var error) is { } key)
            {
                store.PublicKeyFiles[Relative(directory, "pubkey", path)] = key;
            }
            else
            {
                Warn(error!);
            }
        }

        foreach (var (path, bytes) in Files(directory, "x509crl"))
        {
            foreach (var (label, der) in KeyFiles.Blocks(bytes).Where(b => b.Label is null or "X509 CRL"))
            {
                if (Crl.Parse(der, out var error, path) is { } crl)
                {
                    store.AddCrl(crl);
                }
                else
                {
                    Warn($"{path}: not a usable CRL ({error})");
                }
            }
        }

        var passphrases = Passphrases(secrets);
        LoadPrivateKeys(directory, passphrases, store, Warn);
        foreach (var (path, bytes) in Files(directory, "pkcs12"))
        {
            CheckPermissions(path, Warn);
            var loaded = Pkcs12File.Load(path, bytes, passphrases.GetValueOrDefault(Path.GetFileName(path)), out var error);
            if (loaded is not { } contents)
            {
                Warn(error!);
                continue;
            }

            contents.Keys.ForEach(k => store.AddKey(k, path));
            store.Files[Relative(directory, "pkcs12", path)] = contents.Certificates;
            // Its CA certificates help build paths but are not trust anchors: those come from x509ca/ and authorities.
            contents.Certificates.ForEach(c => store.AddCertificate(c, authority: false, path));
        }
    }

    /// <summary>An <c>authorities.&lt;name&gt;</c> section: its <c>cacert</c> (relative to x509ca/, or absolute) is a trust anchor.</summary>
    public void AddAuthority(SettingsSection authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        var file = authority.Value("cacert") ?? authority.Value("file")
            ?? throw new ConfigException(authority.Location, $"'authorities.{authority.Name}' has no cacert");
        var cert = FindCertificate(file.Value, "x509ca", out var error) ?? throw new ConfigException(file.Location, error!);
        if (!cert.IsCa)
        {
            throw new ConfigException(file.Location, $"'authorities.{authority.Name}.cacert': '{cert.SubjectText}' is not a CA certificate (basicConstraints CA:TRUE)");
        }

        _authorities.Add(cert);
        _named.Add((authority.Name, cert));
        static IReadOnlyList<string> Uris(SettingsValue? v) => v is null ? [] : v.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        _authorityUris[cert.Fingerprint] = (Uris(authority.Value("crl_uris")), Uris(authority.Value("ocsp_uris")));
    }

    /// <summary>The <c>crl_uris</c> and <c>ocsp_uris</c> of each <c>authorities</c> section, by the CA's fingerprint.</summary>
    public IReadOnlyDictionary<string, (IReadOnlyList<string> Crl, IReadOnlyList<string> Ocsp)> AuthorityUris => _authorityUris;

    public IReadOnlyList<Crl> Crls => _crls;

    /// <summary>The engine's certificate store over what was loaded.</summary>
    public CertificateStore BuildStore() =>
        new(_authorities, _endEntities) { Revocation = new RevocationChecker(_crls, null, null) { AuthorityUris = _authorityUris } };

    /// <summary>
    /// A certificate named in swanctl.conf: a path relative to <paramref name="subdirectory"/> (x509/ or x509ca/), or
    /// absolute; null with <paramref name="error"/> naming what was looked for.
    /// </summary>
    public Certificate? FindCertificate(string name, string subdirectory, out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        error = null;
        if (Inline(name, "certificate", out error) is { } data)
        {
            var inline = KeyFiles.Certificates("certificate data", data, out error);
            return inline.Count == 0 ? null : inline[0];
        }

        if (error is not null)
        {
            return null;
        }

        if (Directory is null && !Path.IsPathRooted(name))
        {
            error = $"certificate '{name}' cannot be loaded: the configuration was not read from a swanctl directory";
            return null;
        }

        var path = Path.IsPathRooted(name) ? name : Path.Combine(Directory!, subdirectory, name);
        if (_files.TryGetValue(Path.GetFullPath(path), out var known))
        {
            return known[0];
        }

        if (!File.Exists(path))
        {
            error = $"certificate file '{name}' not found ({path})";
            return null;
        }

        var certs = KeyFiles.Certificates(path, File.ReadAllBytes(path), out error);
        if (certs.Count == 0)
        {
            return null;
        }

        _files[Path.GetFullPath(path)] = certs;
        return certs[0];
    }

    /// <summary>A raw public key named in swanctl.conf (<c>pubkeys</c>): relative to pubkey/, or absolute.</summary>
    public SignaturePublicKey? FindPublicKey(string name, out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        error = null;
        if (Inline(name, "public key", out error) is { } data)
        {
            return KeyFiles.PublicKey("public key data", data, out error);
        }

        if (error is not null)
        {
            return null;
        }

        if (Directory is not null && _publicKeys.TryGetValue(Path.GetFullPath(Path.Combine(Directory, "pubkey", name)), out var key))
        {
            return key;
        }

        var path = Path.IsPathRooted(name) || Directory is null ? name : Path.Combine(Directory, "pubkey", name);
        if (!File.Exists(path))
        {
            error = $"public key file '{name}' not found ({path})";
            return null;
        }

        return KeyFiles.PublicKey(path, File.ReadAllBytes(path), out error);
    }

    private static void AddCertificates(SwanctlStore store, string path, byte[] bytes, bool authority, Action<string> warn)
    {
        var certs = KeyFiles.Certificates(path, bytes, out var error);
        if (error is not null)
        {
            warn(error);
            return;
        }

        store.Files[Path.GetFullPath(path)] = certs;
        certs.ForEach(c => store.AddCertificate(c, authority, path));
    }

    private static void LoadPrivateKeys(string directory, Dictionary<string, byte[]> passphrases, SwanctlStore store, Action<string> warn)
    {
        foreach (var sub in KeyDirectories)
        {
            foreach (var (path, bytes) in Files(directory, sub))
            {
                CheckPermissions(path, warn);
                var key = KeyFiles.PrivateKey(path, bytes, passphrases.GetValueOrDefault(Path.GetFileName(path)), out var error);
                if (key is null)
                {
                    warn(error!);
                    continue;
                }

                store.AddKey(key, path);
            }
        }
    }

    /// <summary>strongSwan reads keys of any mode, but one others can read is a leak waiting to happen: say so.</summary>
    private static void CheckPermissions(string path, Action<string> warn)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            warn($"{path} is accessible by group or others (mode {System.Convert.ToString((int)mode & 0x1ff, 8)}): a private key should be chmod 600");
        }
    }

    /// <summary>Passphrases by file name, from <c>secrets.private-*</c>, <c>rsa-*</c>, <c>ecdsa-*</c>, <c>pkcs8-*</c> and <c>pkcs12-*</c>.</summary>
    private static Dictionary<string, byte[]> Passphrases(SettingsSection? secrets)
    {
        var map = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var s in secrets?.Sections ?? [])
        {
            if (s.Name.StartsWith("private", StringComparison.Ordinal) || s.Name.StartsWith("rsa", StringComparison.Ordinal) || s.Name.StartsWith("ecdsa", StringComparison.Ordinal)
                || s.Name.StartsWith("pkcs8", StringComparison.Ordinal) || s.Name.StartsWith("pkcs12", StringComparison.Ordinal))
            {
                if (s.Value("file") is { } file && s.Value("secret") is { } secret)
                {
                    map[Path.GetFileName(file.Value)] = SwanctlSecrets.DecodeSecret(secret);
                }
            }
        }

        return map;
    }

    /// <summary>
    /// Inline credential data, as swanctl.conf allows it for <c>certs</c>, <c>cacerts</c>, <c>pubkeys</c> and
    /// <c>cacert</c> (<c>0x</c> hex, <c>0s</c> base64; swanctl sends the decoded bytes, and a VICI blob is kept so):
    /// the bytes, or null (not inline, or invalid: then <paramref name="error"/> says so).
    /// </summary>
    private static byte[]? Inline(string value, string what, out string? error)
    {
        error = null;
        var hex = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        if (!hex && !value.StartsWith("0s", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            return hex ? System.Convert.FromHexString(value[2..]) : System.Convert.FromBase64String(value[2..]);
        }
        catch (FormatException)
        {
            error = $"inline {what} data is not valid {(hex ? "hex" : "base64")}";
            return null;
        }
    }

    private static IEnumerable<(string Path, byte[] Bytes)> Files(string directory, string sub)
    {
        var dir = Path.Combine(directory, sub);
        if (!System.IO.Directory.Exists(dir))
        {
            return [];
        }

        return System.IO.Directory.GetFiles(dir).Order(StringComparer.Ordinal).Select(f => (Path.GetFullPath(f), File.ReadAllBytes(f)));
    }

    private static string Relative(string directory, string sub, string path) => Path.GetFullPath(Path.Combine(directory, sub, Path.GetFileName(path)));
}
