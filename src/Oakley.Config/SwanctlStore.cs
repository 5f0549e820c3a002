using System.Formats.Asn1;
using System.Security.Cryptography;
using Oakley.Crypto.Signature;
using Oakley.Engine;
using Oakley.Engine.Certificates;

namespace Oakley.Config;

/// <summary>The shared-secret types of VICI's load-shared and of swanctl.conf's <c>secrets</c> section prefixes.</summary>
public enum SharedSecretType
{
    Ike,
    Eap,
    Xauth,
    Ntlm,
    Ppk,
}

/// <summary>A shared secret: its type, the secret, the identities it is for (none: anyone), and where it was defined.</summary>
public sealed record StoredSecret(SharedSecretType Type, byte[] Data, IReadOnlyList<Identity> Owners, SourceLocation Location);

/// <summary>A private key and where it came from (a file of the swanctl directory, or "vici").</summary>
public sealed record StoredKey(SignaturePrivateKey Key, string Origin);

/// <summary>A certificate and its role: a trust anchor (x509ca/, VICI flag CA) or an end entity (x509/, VICI flag NONE).</summary>
public sealed record StoredCertificate(Certificate Certificate, bool Authority, string Origin);

/// <summary>
/// The connections one build made, by the <see cref="SettingsSection"/> object they were built from, and the stamp of
/// the build inputs (<see cref="SwanctlStore.InputsStamp"/>) they were built over: a later build of a store with the
/// same stamp takes a piece it finds here instead of building it again.
/// </summary>
internal sealed record BuiltConnections(long Inputs, Dictionary<SettingsSection, LoadedConnection> ByPiece);

/// <summary>A stored connection that does not build any more (a pool or certificate it needs went), and why.</summary>
public sealed record InactiveConnection(string Name, ConfigException Error);

/// <summary>
/// The daemon's configuration as independently replaceable pieces: connections, pools and authorities by name (as the
/// <see cref="SettingsSection"/> trees swanctl.conf parses into), shared secrets by id, private keys by key id,
/// certificates, CRLs. <c>oakley daemon --config</c> and <c>load-all</c> replace it whole (<see cref="FromFile"/>); VICI's
/// load-*/unload-* commands change one piece of a copy (<see cref="Change{T}"/>). The effective <see cref="SwanctlConfig"/>
/// is always built from it by the same loader (<see cref="SwanctlLoader.Build"/>), so both paths validate alike. A store
/// is changed only before it is published: the daemon holds the current one and swaps it whole.
/// </summary>
public sealed class SwanctlStore
{
    private readonly OrderedDictionary<string, SettingsSection> _connections;
    private readonly OrderedDictionary<string, SettingsSection> _pools;
    private readonly OrderedDictionary<string, SettingsSection> _authorities;
    private readonly OrderedDictionary<string, StoredSecret> _secrets;
    private readonly OrderedDictionary<string, StoredKey> _keys;
    private readonly OrderedDictionary<string, StoredCertificate> _certificates;
    private readonly List<Crl> _crls;
    private readonly List<SignaturePublicKey> _trustedKeys;
    private readonly List<ConfigWarning> _fileWarnings;
    private static long s_stamps;
    private int _anonymous;
    private bool _fileHadSections;
    private long _inputs = NextStamp();

    /// <summary>An empty store; <paramref name="origin"/> names it in warnings about the whole configuration.</summary>
    public SwanctlStore(SourceLocation origin, string? directory = null)
    {
        Origin = origin;
        Directory = directory;
        _connections = new(StringComparer.Ordinal);
        _pools = new(StringComparer.Ordinal);
        _authorities = new(StringComparer.Ordinal);
        _secrets = new(StringComparer.Ordinal);
        _keys = new(StringComparer.Ordinal);
        _certificates = new(StringComparer.Ordinal);
        _crls = [];
        _trustedKeys = [];
        _fileWarnings = [];
        Files = new(StringComparer.Ordinal);
        PublicKeyFiles = new(StringComparer.Ordinal);
    }

    private SwanctlStore(SwanctlStore from)
    {
        Origin = from.Origin;
        Directory = from.Directory;
        _connections = new(from._connections, StringComparer.Ordinal);
        _pools = new(from._pools, StringComparer.Ordinal);
        _authorities = new(from._authorities, StringComparer.Ordinal);
        _secrets = new(from._secrets, StringComparer.Ordinal);
        _keys = new(from._keys, StringComparer.Ordinal);
        _certificates = new(from._certificates, StringComparer.Ordinal);
        _crls = [.. from._crls];
        _trustedKeys = [.. from._trustedKeys];
        _fileWarnings = [.. from._fileWarnings];
        _anonymous = from._anonymous;
        _fileHadSections = from._fileHadSections;
        _inputs = from._inputs;
        Built = from.Built;
        // Parsed files by path: only ever added to, and a path's content is read once per file load.
        Files = from.Files;
        PublicKeyFiles = from.PublicKeyFiles;
    }

    /// <summary>The swanctl.conf (or what else the store began with) that whole-configuration warnings name.</summary>
    public SourceLocation Origin { get; }

    /// <summary>The swanctl directory whose x509/, x509ca/, pubkey/ … the file's credential names refer to (null: none).</summary>
    public string? Directory { get; }

    /// <summary>Certificates of the swanctl directory by full path (what the file's <c>certs = NAME</c> resolve to).</summary>
    internal Dictionary<string, List<Certificate>> Files { get; }

    /// <summary>Raw public keys of pubkey/ by full path.</summary>
    internal Dictionary<string, SignaturePublicKey> PublicKeyFiles { get; }

    public IEnumerable<string> ConnectionNames => _connections.Keys;

    /// <summary>
    /// Stamps what a connection's build consults besides its own section: pools, authorities, certificates, CRLs and
    /// trusted keys (not shared secrets or private keys: SwanctlLoader reads those only into the secret store and the
    /// warnings, which every build makes anew). Each change to them takes a new stamp from one process-wide counter, so
    /// two stores with the same stamp have the same inputs, even when they were changed apart from a common copy.
    /// </summary>
    internal long InputsStamp => _inputs;

    /// <summary>The connections of the last build of this store or of the store it was copied from (null: none yet).</summary>
    internal BuiltConnections? Built { get; set; }

    public IEnumerable<string> PoolNames => _pools.Keys;

    public IEnumerable<string> AuthorityNames => _authorities.Keys;

    /// <summary>The ids of the shared secrets (get-shared); secrets loaded without an id are not listed (as charon's).</summary>
    public IEnumerable<string> SecretIds => _secrets.Keys.Where(k => !k.StartsWith('\0'));

    /// <summary>The key ids of the private keys (get-keys): hex SHA-1 of the public key, as charon's KEYID_PUBKEY_SHA1.</summary>
    public IEnumerable<string> KeyIds => _keys.Keys;

    internal IEnumerable<SettingsSection> Connections => _connections.Values;

    internal IEnumerable<SettingsSection> Pools => _pools.Values;

    internal IEnumerable<SettingsSection> Authorities => _authorities.Values;

    internal IEnumerable<StoredSecret> Secrets => _secrets.Values;

    internal IEnumerable<StoredKey> Keys => _keys.Values;

    internal IEnumerable<StoredCertificate> Certificates => _certificates.Values;

    internal IReadOnlyList<Crl> Crls => _crls;

    /// <summary>Trusted raw public keys loaded over VICI (load-cert type PUBKEY); connections name theirs in <c>pubkeys</c>.</summary>
    public IReadOnlyList<SignaturePublicKey> TrustedKeys => _trustedKeys;

    /// <summary>The warnings of the file the store was read from (its validation and its credential files).</summary>
    internal List<ConfigWarning> FileWarnings => _fileWarnings;

    /// <summary>Nothing at all: a file without sections (a file with an empty <c>connections { }</c> is not), or a store emptied.</summary>
    internal bool IsEmpty => !_fileHadSections && _connections.Count == 0 && _pools.Count == 0 && _authorities.Count == 0 && _secrets.Count == 0
        && _keys.Count == 0 && _certificates.Count == 0;

    /// <summary>
    /// A parsed swanctl.conf as a whole store: checked first (every error at once, file:line), then its credential files
    /// read from <paramref name="directory"/> (null: a configuration given as text). Throws <see cref="ConfigException"/>.
    /// </summary>
    public static SwanctlStore FromFile(SettingsSection root, string? directory)
    {
        ArgumentNullException.ThrowIfNull(root);
        var errors = new List<ConfigError>();
        var store = new SwanctlStore(new SourceLocation(root.Location.File, 0, 0), directory) { _fileHadSections = root.Values.Count > 0 || root.Sections.Count > 0 };
        SwanctlValidator.Check(root, errors, store._fileWarnings);
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        if (directory is not null)
        {
            Credentials.SwanctlCredentials.Read(directory, root.Section("secrets"), store);
        }

        foreach (var s in root.Section("authorities")?.Sections ?? [])
        {
            store._authorities[s.Name] = s;
        }

        foreach (var s in root.Section("pools")?.Sections ?? [])
        {
            store._pools[s.Name] = s;
        }

        foreach (var s in root.Section("connections")?.Sections ?? [])
        {
            store._connections[s.Name] = s;
        }

        if (root.Section("secrets") is { } secrets)
        {
            SwanctlSecrets.Read(secrets, store);
        }

        return store;
    }

    /// <summary>A copy to change (the pieces are shared; they are never changed in place).</summary>
    public SwanctlStore Clone() => new(this);

    /// <summary>
    /// Applies <paramref name="change"/> to a copy and builds the copy (connections that no longer build are set aside as
    /// inactive, not refused). With <paramref name="connection"/>, that connection must build, or the change is refused
    /// with its error. Throws <see cref="ConfigException"/>; this store is never changed.
    /// </summary>
    public (SwanctlStore Store, SwanctlConfig Config, IReadOnlyList<InactiveConnection> Inactive, T Result) Change<T>(Func<SwanctlStore, T> change, string? connection = null)
    {
        ArgumentNullException.ThrowIfNull(change);
        var next = Clone();
        var result = change(next);
        var inactive = new List<InactiveConnection>();
        var config = SwanctlLoader.Build(next, inactive);
        if (connection is not null && inactive.FirstOrDefault(i => i.Name == connection) is { } failed)
        {
            throw failed.Error;
        }

        return (next, config, inactive, result);
    }

    /// <summary>Adds or replaces a connection (swanctl.conf's <c>connections.NAME</c> tree); returns its warnings.</summary>
    public IReadOnlyList<ConfigWarning> SetConnection(SettingsSection conn) => Set(_connections, "connections", conn);

    public bool RemoveConnection(string name) => _connections.Remove(name);

    public IReadOnlyList<ConfigWarning> SetPool(SettingsSection pool) => Stamped(Set(_pools, "pools", pool));

    public bool RemovePool(string name) => Stamped(_pools.Remove(name));

    public IReadOnlyList<ConfigWarning> SetAuthority(SettingsSection authority) => Stamped(Set(_authorities, "authorities", authority));

    public bool RemoveAuthority(string name) => Stamped(_authorities.Remove(name));

    /// <summary>
    /// A shared secret as VICI's load-shared gives it: the same checks as a file's <c>secrets</c> section (an empty IKE
    /// or EAP secret is refused with the file's words); <paramref name="owners"/> are identities as swanctl.conf writes them.
    /// </summary>
    public static StoredSecret SharedSecret(string? id, SharedSecretType type, byte[] data, IEnumerable<string> owners, SourceLocation location)
    {
        ArgumentNullException.ThrowIfNull(owners);
        var ids = owners.Select((o, i) => SwanctlValues.ParseId(new SettingsValue($"owners[{i}]", o, location))).ToArray();
        return SwanctlSecrets.Checked(id ?? "(no id)", type, data, ids, location);
    }

    /// <summary>Adds or replaces a shared secret; without an id it can be neither listed nor unloaded (as charon's).</summary>
    public void SetSecret(string? id, StoredSecret secret) => _secrets[id ?? "\0" + _anonymous++] = secret;

    public bool RemoveSecret(string id) => _secrets.Remove(id);

    /// <summary>Adds a private key (the same key again replaces it); returns its key id.</summary>
    public string AddKey(SignaturePrivateKey key, string origin)
    {
        ArgumentNullException.ThrowIfNull(key);
        var id = KeyId(key.ExportSubjectPublicKeyInfo());
        _keys[id] = new StoredKey(key, origin);
        return id;
    }

    public bool RemoveKey(string id) => _keys.Remove(id.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant());

    /// <summary>Adds a certificate in a role (the same certificate may be both a trust anchor and an end entity).</summary>
    public void AddCertificate(Certificate cert, bool authority, string origin)
    {
        ArgumentNullException.ThrowIfNull(cert);
        _certificates[(authority ? "ca " : "ee ") + cert.Fingerprint] = new StoredCertificate(cert, authority, origin);
        _inputs = NextStamp();
    }

    public void AddCrl(Crl crl)
    {
        _crls.Add(crl);
        _inputs = NextStamp();
    }

    public void AddTrustedKey(SignaturePublicKey key)
    {
        _trustedKeys.Add(key);
        _inputs = NextStamp();
    }

    /// <summary>VICI clear-creds: every certificate, CRL, private key and shared secret goes (connections and authorities stay).</summary>
    public void ClearCredentials()
    {
        _certificates.Clear();
        _crls.Clear();
        _trustedKeys.Clear();
        _keys.Clear();
        _secrets.Clear();
        _inputs = NextStamp();
    }

    private static long NextStamp() => Interlocked.Increment(ref s_stamps);

    /// <summary>Takes a new <see cref="InputsStamp"/> after a change to a build input; returns <paramref name="result"/>.</summary>
    private T Stamped<T>(T result)
    {
        _inputs = NextStamp();
        return result;
    }

    /// <summary>
    /// charon's key identifier (KEYID_PUBKEY_SHA1): SHA-1 of the subjectPublicKey BIT STRING of the key's
    /// SubjectPublicKeyInfo, as lower-case hex (VICI load-key's <c>id</c>, get-keys, unload-key).
    /// </summary>
    public static string KeyId(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var spki = new AsnReader(subjectPublicKeyInfo.ToArray(), AsnEncodingRules.DER).ReadSequence();
        spki.ReadSequence(); // AlgorithmIdentifier
        var key = spki.ReadBitString(out _);
        return Convert.ToHexStringLower(SHA1.HashData(key));
    }

    /// <summary>Checks one piece on its own (as the whole file is checked) and stores it; throws with every error at once.</summary>
    private static List<ConfigWarning> Set(OrderedDictionary<string, SettingsSection> into, string sectionName, SettingsSection piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        var root = new SettingsSection("", new SourceLocation(piece.Location.File, 0, 0));
        var section = new SettingsSection(sectionName, piece.Location);
        section.Sections.Add(piece);
        root.Sections.Add(section);
        var errors = new List<ConfigError>();
        var warnings = new List<ConfigWarning>();
        SwanctlValidator.Check(root, errors, warnings);
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        into[piece.Name] = piece;
        return warnings;
    }
}
