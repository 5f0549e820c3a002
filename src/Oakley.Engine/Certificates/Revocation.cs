using Oakley.Crypto;

namespace Oakley.Engine.Certificates;

/// <summary>swanctl <c>revocation</c>: <c>relaxed</c> fails only a certificate known to be revoked; <c>ifuri</c> also one whose status is unknown although it names a CRL or OCSP URI; <c>strict</c> every one whose status is unknown.</summary>
public enum RevocationPolicy
{
    Relaxed,
    IfUri,
    Strict,
}

public enum RevocationState
{
    Good,
    Revoked,
    Unknown,

    /// <summary>The answer is being fetched (off the engine thread): ask again when the peer retransmits.</summary>
    Pending,
}

/// <summary>A revocation verdict and its source or reason, in the words of Oakley's errors.</summary>
public readonly record struct RevocationStatus(RevocationState State, string Detail);

/// <summary>A document fetched for revocation checking (a CRL, an OCSP response), or why not, or still in flight.</summary>
public sealed record FetchedDocument(byte[]? Data, string? Error, bool InFlight);

/// <summary>
/// Fetches revocation documents off the engine thread (the host's HTTP client). Every call returns at once: what is
/// cached, or <see cref="FetchedDocument.InFlight"/> after starting a fetch. The engine never waits on it.
/// </summary>
public interface IRevocationSource
{
    /// <summary>The CRL at <paramref name="url"/>; <paramref name="refresh"/>: the cached one is stale, fetch again.</summary>
    FetchedDocument Crl(string url, bool refresh);

    /// <summary>The OCSP response of <paramref name="url"/> to <paramref name="request"/>; <paramref name="key"/> identifies the question.</summary>
    FetchedDocument Ocsp(string url, byte[] request, string key);
}

/// <summary>
/// The revocation status of one certificate: OCSP first when the certificate (or its CA's <c>ocsp_uris</c>) names a
/// responder, then the CRLs: those of x509crl/ and those of its distribution points (or the CA's <c>crl_uris</c>),
/// verified against the issuer. A CRL past its nextUpdate is fetched again; a stale one alone is "unknown". Pure
/// computation over what the <see cref="IRevocationSource"/> has: fetching is the host's, off the engine thread.
/// OCSP requests are kept per certificate with their nonce, so a response is checked against the request it answers.
/// </summary>
public sealed class RevocationChecker(IReadOnlyList<Crl> localCrls, IRevocationSource? source, IEntropySource? entropy)
{
    private readonly Dictionary<string, (byte[] Request, byte[] Nonce)> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (byte[] Data, Crl? Crl, string? Error)> _fetchedCrls = new(StringComparer.Ordinal);

    /// <summary>Extra CRL and OCSP URIs per CA (swanctl <c>authorities.*.crl_uris</c> / <c>ocsp_uris</c>), by the CA certificate's fingerprint.</summary>
    public IReadOnlyDictionary<string, (IReadOnlyList<string> Crl, IReadOnlyList<string> Ocsp)> AuthorityUris { get; init; } =
        new Dictionary<string, (IReadOnlyList<string>, IReadOnlyList<string>)>();

    public IReadOnlyList<Crl> LocalCrls => localCrls;

    /// <summary>The same CRLs and URIs with a fetcher (the daemon's HTTP client) and entropy for OCSP nonces.</summary>
    public RevocationChecker WithSource(IRevocationSource fetcher, IEntropySource nonces) => new(localCrls, fetcher, nonces) { AuthorityUris = AuthorityUris };

    public RevocationStatus Check(Certificate cert, Certificate issuer, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(cert);
        ArgumentNullException.ThrowIfNull(issuer);
        var (crlUris, ocspUris) = AuthorityUris.TryGetValue(issuer.Fingerprint, out var extra) ? extra : ([], []);
        var pending = false;
        var notes = new List<string>();
        foreach (var url in cert.Extensions.OcspResponders.Concat(ocspUris).Distinct(StringComparer.Ordinal))
        {
            var status = AskOcsp(url, cert, issuer, now);
            if (status.State is RevocationState.Good or RevocationState.Revoked)
            {
                return status;
            }

            pending |= status.State == RevocationState.Pending;
            notes.Add(status.Detail);
        }

        var crl = FromCrls(cert, issuer, now, cert.Extensions.CrlDistributionPoints.Concat(crlUris).Distinct(StringComparer.Ordinal), notes, ref pending);
        if (crl is { } verdict)
        {
            return verdict;
        }

        return pending ? new RevocationStatus(RevocationState.Pending, "fetching: " + string.Join("; ", notes))
            : new RevocationStatus(RevocationState.Unknown, notes.Count > 0 ? string.Join("; ", notes) : $"no CRL or OCSP responder for '{cert.SubjectText}'");
    }

    /// <summary>Whether the certificate or its CA names any CRL or OCSP URI (swanctl's <c>ifuri</c>).</summary>
    public bool HasUri(Certificate cert, Certificate issuer) =>
        cert.Extensions.OcspResponders.Count > 0 || cert.Extensions.CrlDistributionPoints.Count > 0
        || (AuthorityUris.TryGetValue(issuer.Fingerprint, out var extra) && (extra.Crl.Count > 0 || extra.Ocsp.Count > 0));

    private RevocationStatus AskOcsp(string url, Certificate cert, Certificate issuer, DateTimeOffset now)
    {
        if (source is null || entropy is null)
        {
            return new RevocationStatus(RevocationState.Unknown, $"OCSP responder {url} not asked (no fetcher)");
        }

        var key = cert.Fingerprint + "|" + url;
        if (!_requests.TryGetValue(key, out var request))
        {
            var nonce = new byte[16];
            entropy.Fill(nonce);
            request = (Ocsp.Request(cert, issuer, nonce), nonce);
            _requests[key] = request;
        }

        // The source caches by question: the nonce is part of it, so an answer to an earlier request (another checker,
        // before a reload) is never handed to this one.
        var answer = source.Ocsp(url, request.Request, key + "|" + Convert.ToHexStringLower(request.Nonce));
        if (answer.InFlight)
        {
            return new RevocationStatus(RevocationState.Pending, $"OCSP from {url}");
        }

        if (answer.Data is null)
        {
            _requests.Remove(key);
            return new RevocationStatus(RevocationState.Unknown, $"OCSP responder {url} failed: {answer.Error}");
        }

        var status = Ocsp.Check(answer.Data, cert, issuer, request.Nonce, now, url);
        if (status.State == RevocationState.Unknown)
        {
            _requests.Remove(key); // the next attempt asks again with a fresh nonce
        }

        return status;
    }

    private RevocationStatus? FromCrls(Certificate cert, Certificate issuer, DateTimeOffset now, IEnumerable<string> urls, List<string> notes, ref bool pending)
    {
        var crls = localCrls.Where(c => c.IsIssuedBy(issuer)).ToList();
        foreach (var url in urls.Where(u => u.StartsWith("http", StringComparison.OrdinalIgnoreCase)))
        {
            var fetched = Fetch(url, refresh: false, issuer, notes, ref pending);
            if (fetched is { NextUpdate: { } next } && next < now)
            {
                fetched = Fetch(url, refresh: true, issuer, notes, ref pending) ?? fetched;
            }

            if (fetched is not null)
            {
                crls.Add(fetched);
            }
        }

        foreach (var crl in crls.OrderByDescending(c => c.ThisUpdate))
        {
            if (crl.Find(cert) is { } entry && entry.Date <= now)
            {
                var reason = entry.Reason is null ? "" : $", {entry.Reason}";
                return new RevocationStatus(RevocationState.Revoked, $"certificate '{cert.SubjectText}' revoked on {entry.Date:yyyy-MM-dd}{reason} (CRL from {crl.Source})");
            }
        }

        var current = crls.FirstOrDefault(c => c.NextUpdate is null || c.NextUpdate >= now);
        if (current is not null)
        {
            return new RevocationStatus(RevocationState.Good, $"CRL from {current.Source}");
        }

        notes.AddRange(crls.Select(c => $"the CRL from {c.Source} is stale (nextUpdate {c.NextUpdate:yyyy-MM-dd HH:mm}Z)"));
        return null;
    }

    private Crl? Fetch(string url, bool refresh, Certificate issuer, List<string> notes, ref bool pending)
    {
        if (source is null)
        {
            notes.Add($"CRL {url} not fetched (no fetcher)");
            return null;
        }

        var doc = source.Crl(url, refresh);
        if (doc.InFlight)
        {
            pending = true;
            notes.Add($"CRL from {url}");
            return null;
        }

        if (doc.Data is null)
        {
            notes.Add($"CRL from {url} failed: {doc.Error}");
            return null;
        }

        // Parsed once per fetched document (the source hands out the same array until it fetches again).
        if (!_fetchedCrls.TryGetValue(url, out var parsed) || !ReferenceEquals(parsed.Data, doc.Data))
        {
            var fresh = Crl.Parse(doc.Data, out var error, url);
            parsed = (doc.Data, fresh, fresh is null ? error : null);
            _fetchedCrls[url] = parsed;
        }

        if (parsed.Crl is not { } crl || !crl.IsIssuedBy(issuer))
        {
            notes.Add(parsed.Crl is null ? $"CRL from {url}: {parsed.Error}" : $"CRL from {url} is not signed by '{issuer.SubjectText}'");
            return null;
        }

        return crl;
    }
}
