using System.Security.Cryptography.X509Certificates;

namespace Oakley.Engine.Certificates;

/// <summary>A chain from an end entity up to a trust anchor (inclusive), or why there is none.</summary>
public readonly record struct PathResult(IReadOnlyList<Certificate>? Chain, string? Error)
{
    public bool Trusted => Chain is not null;
}

/// <summary>
/// Builds and checks a certification path (RFC 5280 §6, with strongSwan's choices): from the end-entity certificate
/// through intermediates (those the peer sent and those we hold) to a trusted authority. Every certificate must be
/// within its validity period; every issuer must be a CA (basicConstraints cA, RFC 4945 §5.1.3.9), may sign
/// certificates (keyUsage keyCertSign when present), must respect its pathLenConstraint and name constraints, and
/// must verify the signature below it. Candidates are tried depth first, trusted ones first; when none leads to an
/// anchor, the error is the deepest reason found, which names the certificate and what failed. Trusted sub-chains
/// are cached in the <see cref="CertificateStore"/>.
/// </summary>
public static class PathValidator
{
    private const int MaxDepth = 8;

    /// <summary>
    /// Validates <paramref name="endEntity"/>. <paramref name="toRoot"/>: do not stop at the first trusted CA but go on
    /// to a self-issued root (our own chain, whose intermediates we send and whose CAs a CERTREQ may name).
    /// </summary>
    public static PathResult Validate(Certificate endEntity, IReadOnlyList<Certificate> supplied, CertificateStore store, DateTimeOffset now, bool toRoot = false)
    {
        ArgumentNullException.ThrowIfNull(endEntity);
        ArgumentNullException.ThrowIfNull(supplied);
        ArgumentNullException.ThrowIfNull(store);
        if (endEntity.CheckValidity(now) is { } invalid)
        {
            return new PathResult(null, invalid);
        }

        var search = new Search(store, supplied, now, toRoot);
        var chain = search.Build([endEntity]);
        return chain is not null ? new PathResult(chain, null) : new PathResult(null, search.Failure ?? NoPath(endEntity, endEntity));
    }

    private static string NoPath(Certificate endEntity, Certificate top) =>
        $"no trusted path from '{endEntity.SubjectText}' to any CA in x509ca/ (closest: issuer '{top.IssuerText}' not found)";

    private sealed class Search(CertificateStore store, IReadOnlyList<Certificate> supplied, DateTimeOffset now, bool toRoot)
    {
        private int _failureDepth = -1;

        public string? Failure { get; private set; }

        /// <summary>Extends <paramref name="path"/> (end entity first) to an anchor; null if no candidate leads there.</summary>
        public List<Certificate>? Build(List<Certificate> path)
        {
            var top = path[^1];
            if (store.IsAnchor(top))
            {
                // A trusted CA ends the path; our own chain goes on to its root if it can, for CERTREQ matching.
                return !toRoot || top.IsSelfIssued ? path : Extend(path, top) ?? path;
            }

            if (!toRoot && store.TryGetCached(CacheKey(top, path.Count - 1), now, out var cached) && cached.Chain is { } rest)
            {
                return [.. path, .. rest.Skip(1)];
            }

            if (path.Count > MaxDepth)
            {
                Note(path.Count, $"no trusted path from '{path[0].SubjectText}': the chain is longer than {MaxDepth} certificates");
                return null;
            }

            return Extend(path, top);
        }

        /// <summary>Tries each possible issuer of <paramref name="top"/> in turn.</summary>
        private List<Certificate>? Extend(List<Certificate> path, Certificate top)
        {
            var candidates = Above(top).Where(c => !path.Any(p => p.Fingerprint == c.Fingerprint)).ToList();
            if (candidates.Count == 0)
            {
                Note(path.Count, NoPath(path[0], top));
                return null;
            }

            foreach (var issuer in candidates)
            {
                if (CheckIssuer(path, issuer) is { } why)
                {
                    Note(path.Count, why);
                    continue;
                }

                var chain = Build([.. path, issuer]);
                if (chain is not null)
                {
                    if (!toRoot)
                    {
                        Remember(chain, path.Count - 1);
                    }

                    return chain;
                }
            }

            return null;
        }

        /// <summary>Who may have issued <paramref name="cert"/>: trusted CAs first, then those the peer sent, then the untrusted ones we hold.</summary>
        private IEnumerable<Certificate> Above(Certificate cert) => CertificateStore.IssuersIn(store.Authorities, cert)
            .Concat(CertificateStore.IssuersIn(supplied, cert))
            .Concat(CertificateStore.IssuersIn(store.Intermediates, cert))
            .DistinctBy(c => c.Fingerprint);

        /// <summary>Whether <paramref name="issuer"/> may have issued the top of <paramref name="path"/>, or why not.</summary>
        private string? CheckIssuer(List<Certificate> path, Certificate issuer)
        {
            var top = path[^1];
            if (issuer.CheckValidity(now) is { } invalid)
            {
                return invalid;
            }

            if (!issuer.Extensions.HasBasicConstraints || !issuer.IsCa)
            {
                return $"issuer '{issuer.SubjectText}' of '{top.SubjectText}' is not a CA (basicConstraints {(issuer.Extensions.HasBasicConstraints ? "CA:FALSE" : "missing")})";
            }

            if (issuer.Extensions.KeyUsage is { } usage && !usage.HasFlag(X509KeyUsageFlags.KeyCertSign))
            {
                return $"issuer '{issuer.SubjectText}' of '{top.SubjectText}' may not sign certificates (keyUsage without keyCertSign)";
            }

            // pathLenConstraint counts the non-self-issued intermediates below the CA, the end entity not included (RFC 5280 §4.2.1.9).
            var below = path.Skip(1).Count(c => !c.IsSelfIssued);
            if (issuer.Extensions.PathLength is { } limit && below > limit)
            {
                return $"CA '{issuer.SubjectText}' allows {limit} intermediate CA(s) below it (pathlen), this chain has {below}";
            }

            if (top.SignatureAlgorithm is null)
            {
                return $"certificate '{top.SubjectText}' is signed with an algorithm Oakley does not verify ({top.SignatureAlgorithmError})";
            }

            if (!top.IsSignedBy(issuer))
            {
                return $"signature of certificate '{top.SubjectText}' does not verify with the key of '{issuer.SubjectText}'";
            }

            return NameConstraints.Check(issuer, path);
        }

        /// <summary>The deepest failure is the most telling (the chain got furthest there).</summary>
        private void Note(int depth, string why)
        {
            if (depth > _failureDepth)
            {
                _failureDepth = depth;
                Failure = why;
            }
        }

        /// <summary>
        /// Caches every intermediate's trusted sub-chain, valid while all of its certificates are. The verdict depends
        /// on how many certificates are below (pathlen), so that count is part of the key; a sub-chain with name
        /// constraints is not cached, because they apply to each end entity's own names.
        /// </summary>
        private void Remember(List<Certificate> chain, int from)
        {
            for (var i = Math.Max(from, 1); i < chain.Count - 1; i++)
            {
                var sub = chain.Skip(i).ToList();
                if (sub.Any(c => c.Extensions.PermittedSubtrees is not null || c.Extensions.ExcludedSubtrees.Count > 0))
                {
                    return;
                }

                store.Cache(CacheKey(chain[i], i), new PathResult(sub, null), sub.Max(c => c.NotBefore), sub.Min(c => c.NotAfter));
            }
        }

        private static string CacheKey(Certificate cert, int below) => cert.Fingerprint + "|" + below.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
