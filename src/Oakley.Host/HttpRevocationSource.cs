using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Oakley.Engine.Certificates;

namespace Oakley.Host;

/// <summary>
/// Fetches CRLs and OCSP responses over HTTP for the engine, off the engine thread (RFC 5280 distribution points,
/// RFC 6960 §A.1 POST). Each call returns at once with what is cached or "in flight". Fetches are bounded: a
/// 5-second timeout, 4 MiB per document, one fetch per URL (or OCSP question) at a time, and a failed URL is not
/// asked again for 30 seconds. Documents are kept until asked to refresh (the engine decides staleness from the
/// CRL's nextUpdate); OCSP answers for 5 minutes, after which the next question fetches anew.
/// </summary>
internal sealed class HttpRevocationSource : IRevocationSource, IDisposable
{
    private const int MaxDocument = 4 << 20;
    private static readonly TimeSpan RetryFailedAfter = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OcspLifetime = TimeSpan.FromMinutes(5);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5), MaxResponseContentBufferSize = MaxDocument };
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ILogger _log;
    private readonly TimeProvider _time;

    public HttpRevocationSource(ILogger log, TimeProvider? time = null)
    {
        _log = log;
        _time = time ?? TimeProvider.System;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("oakley");
    }

    public FetchedDocument Crl(string url, bool refresh) => Get("crl|" + url, url, null, refresh, null);

    public FetchedDocument Ocsp(string url, byte[] request, string key)
    {
        // Each question carries its own nonce: old questions are dropped once their answers have expired.
        if (_entries.Count > 4096)
        {
            var now = _time.GetUtcNow();
            foreach (var (k, e) in _entries)
            {
                if (k.StartsWith("ocsp|", StringComparison.Ordinal) && !e.InFlight && now - e.FetchedAt > OcspLifetime)
                {
                    _entries.TryRemove(k, out _);
                }
            }
        }

        return Get("ocsp|" + key, url, request, false, OcspLifetime);
    }

    private FetchedDocument Get(string key, string url, byte[]? post, bool refresh, TimeSpan? lifetime)
    {
        var now = _time.GetUtcNow();
        var entry = _entries.GetOrAdd(key, _ => new Entry());
        lock (entry)
        {
            var expired = entry.Data is not null && lifetime is { } life && now - entry.FetchedAt > life;
            var retry = entry.Error is not null && now - entry.FetchedAt > RetryFailedAfter;
            if (!entry.InFlight && (entry.Data is null && entry.Error is null || refresh && now - entry.FetchedAt > RetryFailedAfter || expired || retry))
            {
                entry.InFlight = true;
                _ = FetchAsync(entry, url, post);
            }

            return entry.InFlight && (entry.Data is null || expired) ? new FetchedDocument(null, null, true) : new FetchedDocument(entry.Data, entry.Error, false);
        }
    }

    private async Task FetchAsync(Entry entry, string url, byte[]? post)
    {
        byte[]? data = null;
        string? error = null;
        try
        {
            using var content = post is null ? null : new ByteArrayContent(post);
            if (content is not null)
            {
                content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
            }

            using var response = post is null ? await _http.GetAsync(url).ConfigureAwait(false) : await _http.PostAsync(url, content).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                error = $"HTTP {(int)response.StatusCode}";
            }
            else
            {
                data = PemToDer(await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false));
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            error = e is TaskCanceledException ? "timed out after 5 s" : e.Message;
        }

        lock (entry)
        {
            entry.InFlight = false;
            entry.FetchedAt = _time.GetUtcNow();
            entry.Error = data is null ? error : null;
            entry.Data = data ?? entry.Data;
        }

        if (error is not null)
        {
            _log.LogInformation("fetching {Url} failed: {Error}", url, error);
        }
    }

    /// <summary>A CRL may be served as PEM; the engine wants DER.</summary>
    private static byte[] PemToDer(byte[] body)
    {
        var text = System.Text.Encoding.ASCII.GetString(body);
        return System.Security.Cryptography.PemEncoding.TryFind(text, out var fields) ? Convert.FromBase64String(text[fields.Base64Data]) : body;
    }

    public void Dispose() => _http.Dispose();

    private sealed class Entry
    {
        public byte[]? Data { get; set; }

        public string? Error { get; set; }

        public DateTimeOffset FetchedAt { get; set; }

        public bool InFlight { get; set; }
    }
}
