using Oakley.Crypto.Signature;
using Oakley.Engine;
using Oakley.Engine.Certificates;

namespace Oakley.Config;

/// <summary>
/// What a swanctl configuration authenticates with: the PSKs of <c>secrets.ike*</c> (the best match has both
/// identities, then one, then none: a wildcard), the private keys of <c>private/</c>, <c>rsa/</c>, <c>ecdsa/</c>,
/// <c>pkcs8/</c> and <c>pkcs12/</c> (found by their public key), and the certificates (<see cref="CertificateStore"/>).
/// </summary>
public sealed class CredentialStore : ISecretStore
{
    private readonly List<(Identity[] Ids, byte[] Secret)> _entries = [];
    private readonly List<(byte[] Spki, SignaturePrivateKey Key, string File)> _keys = [];

    public CertificateStore Certificates { get; set; } = CertificateStore.Empty;

    /// <summary>The files the private keys came from (for listings; never the keys).</summary>
    public IEnumerable<string> PrivateKeyFiles => _keys.Select(k => k.File);

    public void AddPrivateKey(SignaturePrivateKey key, string file)
    {
        ArgumentNullException.ThrowIfNull(key);
        _keys.Add((key.ExportSubjectPublicKeyInfo(), key, file));
    }

    public SignaturePrivateKey? FindPrivateKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        foreach (var (spki, key, _) in _keys)
        {
            if (spki.AsSpan().SequenceEqual(subjectPublicKeyInfo))
            {
                return key;
            }
        }

        return null;
    }

    public int Count => _entries.Count;

    private readonly List<(Identity[] Ids, byte[] Secret)> _eap = [];

    /// <summary>The EAP secrets (<c>secrets.eap-*</c>).</summary>
    public int EapCount => _eap.Count;

    /// <summary>An EAP secret (<c>secrets.eap-*</c>) for the identities it names.</summary>
    public void AddEap(Identity[] ids, byte[] secret) => _eap.Add((ids, secret));

    /// <summary>The EAP secret that names <paramref name="eapId"/> (best with <paramref name="other"/> too); an entry without ids matches anyone.</summary>
    public byte[]? FindEapSecret(Identity eapId, Identity? other)
    {
        byte[]? best = null;
        var bestScore = -1;
        foreach (var (ids, secret) in _eap)
        {
            var own = ids.Length == 0 ? 0 : Score(ids, eapId);
            if (ids.Length > 0 && own == 0)
            {
                continue;
            }

            var score = own + (other is null || ids.Length == 0 ? 0 : Score(ids, other));
            if (score > bestScore)
            {
                bestScore = score;
                best = secret;
            }
        }

        return best;
    }

    public void Add(Identity[] ids, byte[] secret) => _entries.Add((ids, secret));

    public byte[]? FindSharedKey(Identity local, Identity? remote)
    {
        byte[]? best = null;
        var bestScore = -1;
        foreach (var (ids, secret) in _entries)
        {
            // An entry naming identities must match at least one of ours; an entry without ids is a wildcard, and
            // an id of %any matches any identity, but less well than the identity itself (strongSwan's ID_MATCH_ANY).
            var score = ids.Length == 0 ? 0 : Score(ids, local) + (remote is null ? 0 : Score(ids, remote));
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

    private static readonly Identity Any = Identity.Parse("%any");

    private static int Score(Identity[] ids, Identity id) => ids.Any(i => i.Matches(id)) ? 2 : ids.Any(i => i.Matches(Any)) ? 1 : 0;
}

