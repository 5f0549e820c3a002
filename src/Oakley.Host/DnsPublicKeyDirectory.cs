using System.Collections.Concurrent;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Microsoft.Extensions.Logging;
using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Host;

/// <summary>
/// Public keys from IPSECKEY records (RFC 4025), looked up off the engine thread with DnsClient: the query asks for
/// DNSSEC records (DO bit), and an answer counts only when the resolver set AD (RFC 4035 §3.2.3: it validated the
/// chain of signatures). An unsigned or unvalidated answer is refused with a reason naming the resolver. Answers
/// are cached for their TTL (at least 60 s, at most an hour), failures for 30 s.
/// </summary>
internal sealed class DnsPublicKeyDirectory : IPublicKeyDirectory
{
    private const ushort IpsecKeyType = 45;
    private readonly LookupClient _client;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly string _resolvers;

    public DnsPublicKeyDirectory(IReadOnlyList<IPEndPoint> resolvers, ILogger log, TimeProvider? time = null)
    {
        _client = new LookupClient(new LookupClientOptions([.. resolvers])
        {
            UseCache = false, RequestDnsSecRecords = true, Timeout = TimeSpan.FromSeconds(3), Retries = 1, UseTcpFallback = true,
        });
        _log = log;
        _time = time ?? TimeProvider.System;
        _resolvers = string.Join(", ", resolvers);
    }

    public KeyLookup Lookup(string fqdn)
    {
        var now = _time.GetUtcNow();
        var entry = _entries.GetOrAdd(fqdn, _ => new Entry());
        lock (entry)
        {
            if (!entry.InFlight && (entry.Result is null || now >= entry.Expires))
            {
                entry.InFlight = true;
                _ = QueryAsync(entry, fqdn);
            }

            return entry.Result is { } known && now < entry.Expires ? known : new KeyLookup([], null, true);
        }
    }

    private async Task QueryAsync(Entry entry, string fqdn)
    {
        KeyLookup result;
        var ttl = TimeSpan.FromSeconds(30);
        try
        {
            var response = await _client.QueryAsync(fqdn, (QueryType)IpsecKeyType).ConfigureAwait(false);
            (result, ttl) = Read(fqdn, response);
        }
        catch (DnsResponseException e)
        {
            result = new KeyLookup([], $"DNS lookup of the IPSECKEY of {fqdn} failed: {e.Message}", false);
        }

        lock (entry)
        {
            entry.Result = result;
            entry.Expires = _time.GetUtcNow() + ttl;
            entry.InFlight = false;
        }

        if (result.Error is not null)
        {
            _log.LogInformation("{Error}", result.Error);
        }
    }

    private (KeyLookup, TimeSpan) Read(string fqdn, IDnsQueryResponse response)
    {
        var failed = TimeSpan.FromSeconds(30);
        if (response.HasError)
        {
            return (new KeyLookup([], $"DNS lookup of the IPSECKEY of {fqdn}: {response.ErrorMessage}", false), failed);
        }

        var records = response.Answers.OfType<UnknownRecord>().Where(r => (ushort)r.RecordType == IpsecKeyType).ToList();
        if (records.Count == 0)
        {
            return (new KeyLookup([], $"no IPSECKEY record for {fqdn}", false), failed);
        }

        if (!response.Header.IsAuthenticData)
        {
            return (new KeyLookup([], $"the IPSECKEY records of {fqdn} are not DNSSEC-validated (resolver {_resolvers} did not set AD)", false), failed);
        }

        var keys = new List<SignaturePublicKey>();
        var errors = new List<string>();
        foreach (var record in records)
        {
            if (IpsecKey.Parse(record.Data.ToArray(), out var error) is { } key)
            {
                keys.Add(key);
            }
            else
            {
                errors.Add(error);
            }
        }

        var ttl = TimeSpan.FromSeconds(Math.Clamp(records.Min(r => r.InitialTimeToLive), 60, 3600));
        return keys.Count > 0 ? (new KeyLookup(keys, null, false), ttl) : (new KeyLookup([], $"IPSECKEY of {fqdn}: {string.Join("; ", errors)}", false), failed);
    }

    private sealed class Entry
    {
        public KeyLookup? Result { get; set; }

        public DateTimeOffset Expires { get; set; }

        public bool InFlight { get; set; }
    }
}
