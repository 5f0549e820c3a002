using System.Collections.Concurrent;

namespace Oakley.Engine.Certificates;

/// <summary>
/// The certificates a daemon holds (an immutable snapshot, replaced whole on <c>load-all</c>): the trusted
/// authorities (swanctl's <c>x509ca/</c> and <c>authorities</c>; any CA certificate there is a trust anchor, as in
/// strongSwan), the certificates of <c>x509/</c> (end entities, and CA certificates that only help build paths), and the verdicts of path checks already made, so that a
/// thousand peers under one CA cost one chain check each, not one per handshake.
/// </summary>
public sealed class CertificateStore
{
    private readonly Dictionary<string, Certificate> _anchorsByFingerprint;
    private readonly ConcurrentDictionary<string, CachedPath> _paths = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Certificate> _parsed = new(StringComparer.Ordinal);

    public CertificateStore(IEnumerable<Certificate> authorities, IEnumerable<Certificate> endEntities)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        ArgumentNullException.ThrowIfNull(endEntities);
        Authorities = [.. authorities.DistinctBy(c => c.Fingerprint)];
        EndEntities = [.. endEntities.DistinctBy(c => c.Fingerprint)];
        Intermediates = [.. EndEntities.Where(c => c.IsCa)];
        _anchorsByFingerprint = Authorities.ToDictionary(c => c.Fingerprint, StringComparer.Ordinal);
        CertificateRequestData = [.. Authorities.SelectMany(c => c.SpkiSha1)];
    }

    public static CertificateStore Empty { get; } = new([], []);

    /// <summary>
    /// Revocation checking: the CRLs of x509crl/ and, once the host gives it one, a fetcher for distribution points
    /// and OCSP. Set by the loader and the host before the store is handed to the engine.
    /// </summary>
    public RevocationChecker Revocation { get; set; } = new([], null, null);

    /// <summary>Public keys from DNSSEC-validated IPSECKEY records (charon.plugins.ipseckey.enable); null: not looked up.</summary>
    public IPublicKeyDirectory? KeyDirectory { get; set; }

    public IReadOnlyList<Certificate> Authorities { get; }

    public IReadOnlyList<Certificate> EndEntities { get; }

    /// <summary>CA certificates outside the trust anchors (in x509/, or a PKCS#12 chain): used to build paths, never trusted by themselves.</summary>
    public IReadOnlyList<Certificate> Intermediates { get; }

    /// <summary>The Certification Authority field of our CERTREQ: the SHA-1 of each trusted CA's SubjectPublicKeyInfo (RFC 7296 §3.7).</summary>
    public byte[] CertificateRequestData { get; }

    public bool IsAnchor(Certificate cert) => _anchorsByFingerprint.ContainsKey(cert.Fingerprint);

    /// <summary>The trusted CA whose public key hash a CERTREQ names, if we have it.</summary>
    public Certificate? FindAuthority(ReadOnlySpan<byte> spkiSha1)
    {
        foreach (var ca in Authorities)
        {
            if (ca.SpkiSha1.AsSpan().SequenceEqual(spkiSha1))
            {
                return ca;
            }
        }

        return null;
    }

    /// <summary>Certificates among <paramref name="pool"/> that could have issued <paramref name="cert"/>: its issuer's name, and its key id where both say one.</summary>
    internal static IEnumerable<Certificate> IssuersIn(IEnumerable<Certificate> pool, Certificate cert) => pool.Where(c =>
        c.Subject.RawData.AsSpan().SequenceEqual(cert.Issuer.RawData)
        && (cert.Extensions.AuthorityKeyId is not { } aki || c.Extensions.SubjectKeyId is not { } ski || aki.AsSpan().SequenceEqual(ski)));

    /// <summary>
    /// A certificate from a CERT payload, parsed once per distinct DER (a peer that reconnects sends the same bytes);
    /// bounded, so a flood of distinct certificates cannot grow it without limit. Null with <paramref name="error"/>.
    /// </summary>
    public Certificate? Parse(ReadOnlySpan<byte> der, out string error)
    {
        var key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(der));
        if (_parsed.TryGetValue(key, out var known))
        {
            error = "";
            return known;
        }

        var cert = Certificate.Parse(der, out error);
        if (cert is not null)
        {
            if (_parsed.Count >= 10_000)
            {
                _parsed.Clear();
            }

            _parsed[key] = cert;
        }

        return cert;
    }

    internal bool TryGetCached(string key, DateTimeOffset now, out PathResult result)
    {
        if (_paths.TryGetValue(key, out var cached) && now >= cached.ValidFrom && now <= cached.ValidUntil)
        {
            result = cached.Result;
            return true;
        }

        result = default;
        return false;
    }

    /// <summary>Caches a verdict that holds while every certificate of the chain is within its validity period.</summary>
    internal void Cache(string key, PathResult result, DateTimeOffset validFrom, DateTimeOffset validUntil)
    {
        // Bounded: a flood of distinct chains from peers cannot grow it without limit.
        if (_paths.Count >= 10_000)
        {
            _paths.Clear();
        }

        _paths[key] = new CachedPath(result, validFrom, validUntil);
    }

    private sealed record CachedPath(PathResult Result, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil);
}
