using Oakley.Crypto.Signature;
using Oakley.Engine;
using Oakley.Engine.Certificates;
using Oakley.Protocol.Ikev2;

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

    /// <summary>EAP secrets by each concrete identity they name (FQDN and email case-insensitive, as Identity.Matches compares them).</summary>
    private readonly Dictionary<Identity, List<int>> _eapByIdentity = [];

    /// <summary>EAP secrets that name no identity, %any or a wildcard: checked for every lookup (few, in practice).</summary>
    private readonly List<int> _eapPatterns = [];

    /// <summary>The EAP secrets (<c>secrets.eap-*</c>).</summary>
    public int EapCount => _eap.Count;

    /// <summary>An EAP secret (<c>secrets.eap-*</c>) for the identities it names.</summary>
    public void AddEap(Identity[] ids, byte[] secret)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var index = _eap.Count;
        _eap.Add((ids, secret));
        if (ids.Length == 0 || ids.Any(i => i.IsAny || i.IsWildcard))
        {
            _eapPatterns.Add(index);
        }

        foreach (var id in ids.Where(i => !i.IsAny && !i.IsWildcard).Select(Folded).Distinct())
        {
            if (!_eapByIdentity.TryGetValue(id, out var list))
            {
                _eapByIdentity[id] = list = [];
            }

            list.Add(index);
        }
    }

    /// <summary>
    /// The EAP secret that names <paramref name="eapId"/> (best with <paramref name="other"/> too); an entry without ids
    /// matches anyone. Only the entries naming the identity and the pattern entries are scored, so the lookup does not
    /// grow with the number of users (issue 16's bench: a scan of 60,000 entries cost 4.5 ms per authentication).
    /// </summary>
    public byte[]? FindEapSecret(Identity eapId, Identity? other)
    {
        ArgumentNullException.ThrowIfNull(eapId);
        byte[]? best = null;
        var bestScore = -1;
        var bestIndex = int.MaxValue;
        var named = _eapByIdentity.GetValueOrDefault(Folded(eapId)) ?? [];
        foreach (var index in named.Concat(_eapPatterns))
        {
            var (ids, secret) = _eap[index];
            // An entry without ids matches both sides as %any does (strongSwan's ID_MATCH_ANY).
            var own = ids.Length == 0 ? 1 : EapScore(ids, eapId);
            if (own == 0)
            {
                continue;
            }

            // The first defined entry wins a tie, as the full scan in definition order did.
            var score = own + (other is null ? 0 : ids.Length == 0 ? 1 : EapScore(ids, other));
            if (score > bestScore || (score == bestScore && index < bestIndex))
            {
                (bestScore, bestIndex, best) = (score, index, secret);
            }
        }

        return best;
    }

    /// <summary>strongSwan's match grades: the identity itself (3), a wildcard pattern of it (2), %any (1), none (0).</summary>
    private static int EapScore(Identity[] ids, Identity id) =>
        ids.Any(i => Folded(i).Equals(Folded(id))) ? 3 : ids.Any(i => i.IsWildcard && i.Matches(id)) ? 2 : ids.Any(i => i.IsAny) ? 1 : 0;

    /// <summary>The index key: FQDN and email identities lower-cased (they match case-insensitively).</summary>
    private static Identity Folded(Identity id) => id.Type is Protocol.Ikev2.IdentificationType.Fqdn or Protocol.Ikev2.IdentificationType.Rfc822Address
        ? new Identity(id.Type, System.Text.Encoding.ASCII.GetBytes(System.Text.Encoding.ASCII.GetString(id.Value).ToLowerInvariant()))
        : id;

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

    /// <summary>
    /// Whether <see cref="FindSharedKey"/> would find a key for (local, remote), for many connections at once: a key
    /// is found when an entry has no ids, or one of its ids matches local, remote or %any. Ids that match only
    /// themselves (not DNs, not <c>*</c> patterns) are looked up in a set; the others are tried one by one, as there.
    /// </summary>
    public Func<Identity, Identity, bool> SharedKeyPresence()
    {
        var exact = new HashSet<(IdentificationType, string)>();
        var patterns = new List<Identity>();
        var always = false;
        foreach (var (ids, _) in _entries)
        {
            always |= ids.Length == 0;
            foreach (var id in ids)
            {
                always |= id.Matches(Any);
                if (ExactKey(id) is { } key)
                {
                    exact.Add(key);
                }
                else
                {
                    patterns.Add(id);
                }
            }
        }

        return (local, remote) => always || (ExactKey(local) is { } l && exact.Contains(l)) || (ExactKey(remote) is { } r && exact.Contains(r))
            || patterns.Any(p => p.Matches(local) || p.Matches(remote));
    }

    /// <summary>An identity that matches only what has this key (Identity.Matches: FQDN and e-mail case-insensitive); null: a DN or a pattern.</summary>
    private static (IdentificationType, string)? ExactKey(Identity id) => id.Type switch
    {
        IdentificationType.DerAsn1Dn => null,
        IdentificationType.Fqdn or IdentificationType.Rfc822Address when id.Value.Length > 0 && id.Value[0] == (byte)'*' => null,
        IdentificationType.Fqdn or IdentificationType.Rfc822Address => (id.Type, System.Text.Encoding.ASCII.GetString(id.Value).ToLowerInvariant()),
        _ => (id.Type, Convert.ToHexString(id.Value)),
    };

    private static readonly Identity Any = Identity.Parse("%any");

    private static int Score(Identity[] ids, Identity id) => ids.Any(i => i.Matches(id)) ? 2 : ids.Any(i => i.Matches(Any)) ? 1 : 0;
}

