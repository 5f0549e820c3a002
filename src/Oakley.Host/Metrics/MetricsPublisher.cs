using System.Text.RegularExpressions;
using Oakley.Host.Counters;
using Prometheus;

namespace Oakley.Host.Metrics;

/// <summary>
/// Turns one scrape's <see cref="EngineSnapshot"/> and the lock-free <see cref="EngineCounters"/> into the registry's
/// series. Label sets that were published before and are gone now (an IKE SA state no SA is in, a removed CHILD SA's
/// own series) are removed, so a scrape shows the present, not every value ever seen.
/// </summary>
internal sealed partial class MetricsPublisher
{
    /// <summary>At most this many drop reasons get a label value of their own; the rest are "other".</summary>
    private const int MaxDropReasons = 64;

    private readonly DaemonMetrics _owner;
    private readonly Gauge _ikeSas, _childSas, _childOldest, _childRekey, _halfOpen, _poolSize, _poolLeases;
    private readonly Counter _messages, _exchanges, _retransmits, _notifies, _invalid, _rekeys, _collisions, _cookies, _drops;
    private readonly Counter _espBytes, _espPackets, _childBytes, _childPackets, _notBrokenOut;
    private readonly Dictionary<Collector, HashSet<string[]>> _published = [];
    private readonly HashSet<string> _dropReasons = new(StringComparer.Ordinal);

    public MetricsPublisher(MetricFactory f, DaemonMetrics owner)
    {
        _owner = owner;
        Gauge G(string name, string help, params string[] labels) => f.CreateGauge(name, help, new GaugeConfiguration { LabelNames = labels });
        Counter C(string name, string help, params string[] labels) => f.CreateCounter(name, help, new CounterConfiguration { LabelNames = labels });
        _ikeSas = G("oakley_ike_sas", "IKE SAs by connection and state (CREATED, CONNECTING, ESTABLISHED, DELETING)", "connection", "state");
        _childSas = G("oakley_child_sas", "Installed CHILD SAs by connection and child", "connection", "child");
        _childOldest = G("oakley_child_sa_oldest_age_seconds", "Age of the oldest installed CHILD SA of each connection/child", "connection", "child");
        _childRekey = G("oakley_child_sa_rekey_time_seconds", "The configured rekey_time of each connection/child with CHILD SAs (0: no rekeying)", "connection", "child");
        _halfOpen = G("oakley_ike_sas_half_open", "Responder IKE SAs that answered IKE_SA_INIT and wait for IKE_AUTH");
        _poolSize = G("oakley_pool_size", "Addresses in each virtual IP pool", "pool");
        _poolLeases = G("oakley_pool_leases", "Leases of each virtual IP pool: online (held by an IKE SA) and offline (kept for its holder)", "pool", "status");
        _messages = C("oakley_ike_messages_total", "IKE messages by exchange, direction (in, out) and message (request, response), once each, not retransmissions (the set of strongSwan's counters plugin)", "exchange", "direction", "message");
        _exchanges = C("oakley_ike_exchanges_total", "Completed exchanges by type, our role and result (success, timeout, or the response's error notify)", "exchange", "role", "result");
        _retransmits = C("oakley_ike_retransmissions_total", "Retransmitted requests by exchange: ours (sent) and the peer's answered from the cache (received)", "exchange", "direction");
        _notifies = C("oakley_ike_error_notifies_total", "Error notifies (RFC 7296 §3.10.1) sent and received, by IANA name", "notify", "direction");
        _invalid = C("oakley_ike_invalid_messages_total", "Messages that did not decode or broke the payload rules (invalid), or named an unknown IKE SPI (invalid-spi)", "kind");
        _rekeys = C("oakley_rekeys_total", "Completed rekeys: IKE SAs by who initiated (initiator, responder), CHILD SAs (either)", "sa", "role");
        _collisions = C("oakley_rekey_collisions_total", "Rekeys both sides started at once (RFC 7296 §2.8.1, §2.8.2)", "sa");
        _cookies = C("oakley_ike_cookies_sent_total", "COOKIE notifies sent (RFC 7296 §2.6)");
        _drops = C("oakley_ike_dropped_total", "Dropped or rejected datagrams by reason", "reason");
        _espBytes = C("oakley_esp_bytes_total", "ESP payload bytes of all CHILD SAs, removed ones included", "direction");
        _espPackets = C("oakley_esp_packets_total", "ESP packets of all CHILD SAs, removed ones included", "direction");
        _childBytes = C("oakley_child_sa_bytes_total", "ESP bytes per CHILD SA (the first --metrics-child-sas CHILD SAs; the rest summed in spi=\"overflow\")", "connection", "child", "spi", "direction");
        _childPackets = C("oakley_child_sa_packets_total", "ESP packets per CHILD SA (as oakley_child_sa_bytes_total)", "connection", "child", "spi", "direction");
        _notBrokenOut = C("oakley_child_sa_overflow_total", "CHILD SAs that got no series of their own (the cardinality limit) and were summed into spi=\"overflow\"");
    }

    /// <summary>Publishes one scrape (the scrape's thread, after the engine turn).</summary>
    public void Publish(EngineSnapshot s)
    {
        Replace(_ikeSas, s.IkeSas.Select(kv => (new[] { kv.Key.Connection, kv.Key.State.ToString().ToUpperInvariant() }, (double)kv.Value)));
        Replace(_childSas, s.ChildSas.Select(kv => (new[] { kv.Key.Connection, kv.Key.Child }, (double)kv.Value.Count)));
        Replace(_childOldest, s.ChildSas.Select(kv => (new[] { kv.Key.Connection, kv.Key.Child }, kv.Value.OldestAgeSeconds)));
        Replace(_childRekey, s.ChildSas.Select(kv => (new[] { kv.Key.Connection, kv.Key.Child }, kv.Value.RekeyTimeSeconds)));
        _halfOpen.Set(s.HalfOpen);
        Replace(_poolSize, s.Pools.Select(p => (new[] { p.Pool }, p.Size)));
        Replace(_poolLeases, s.Pools.SelectMany(p => new[] { (new[] { p.Pool, "online" }, (double)p.Online), (new[] { p.Pool, "offline" }, (double)p.Offline) }));
        _cookies.IncTo(s.CookiesSent);
        foreach (var (reason, count) in s.Drops.GroupBy(d => DropLabel(d.Reason)).Select(g => (g.Key, g.Sum(d => d.Count))))
        {
            _drops.WithLabels(reason).IncTo(count);
        }

        PublishEsp(s.Esp);
        PublishCounters(_owner.Counters);
    }

    private void PublishEsp(EspReading esp)
    {
        IncTo(_espBytes, esp.All.BytesIn, "in");
        IncTo(_espBytes, esp.All.BytesOut, "out");
        IncTo(_espPackets, esp.All.PacketsIn, "in");
        IncTo(_espPackets, esp.All.PacketsOut, "out");
        var bytes = new List<(string[], double)>(2 * (esp.Own.Count + 1));
        var packets = new List<(string[], double)>(bytes.Capacity);
        foreach (var (sa, t) in esp.Own.Append((new EspSeries.Entry(string.Empty, string.Empty, "overflow", false), esp.Overflow)))
        {
            bytes.Add(([sa.Connection, sa.Child, sa.Spi, "in"], t.BytesIn));
            bytes.Add(([sa.Connection, sa.Child, sa.Spi, "out"], t.BytesOut));
            packets.Add(([sa.Connection, sa.Child, sa.Spi, "in"], t.PacketsIn));
            packets.Add(([sa.Connection, sa.Child, sa.Spi, "out"], t.PacketsOut));
        }

        Replace(_childBytes, bytes);
        Replace(_childPackets, packets);
        _notBrokenOut.IncTo(esp.NotBrokenOut);
    }

    private void PublishCounters(EngineCounters counters)
    {
        var ike = counters.Ike;
        foreach (Engine.IkeCounter c in Enum.GetValues<Engine.IkeCounter>())
        {
            var value = ike.Get(c);
            switch (c)
            {
                case Engine.IkeCounter.IkeRekeyInit: IncTo(_rekeys, value, "ike", "initiator"); break;
                case Engine.IkeCounter.IkeRekeyResp: IncTo(_rekeys, value, "ike", "responder"); break;
                case Engine.IkeCounter.ChildRekey: IncTo(_rekeys, value, "child", "any"); break;
                case Engine.IkeCounter.Invalid: IncTo(_invalid, value, "invalid"); break;
                case Engine.IkeCounter.InvalidSpi: IncTo(_invalid, value, "invalid-spi"); break;
                default:
                    // ike-init-in-req: exchange ike-init, direction in, message req (strongSwan's names, split).
                    var parts = IkeCounters.NameOf(c).Split('-');
                    IncTo(_messages, value, ExchangeOf(string.Join('-', parts[..^2])), parts[^2], parts[^1] == "req" ? "request" : "response");
                    break;
            }
        }

        foreach (var ((exchange, initiator, result), value) in counters.Exchanges)
        {
            IncTo(_exchanges, value, exchange, initiator ? "initiator" : "responder", result);
        }

        foreach (var ((exchange, byPeer), value) in counters.Retransmissions)
        {
            IncTo(_retransmits, value, exchange, byPeer ? "received" : "sent");
        }

        foreach (var ((notify, sent), value) in counters.ErrorNotifies)
        {
            IncTo(_notifies, value, notify, sent ? "sent" : "received");
        }

        IncTo(_collisions, counters.IkeRekeyCollisions, "ike");
        IncTo(_collisions, counters.ChildRekeyCollisions, "child");
    }

    /// <summary>strongSwan's short exchange names in the counter names, spelled as the other metrics' exchange labels.</summary>
    private static string ExchangeOf(string counterPrefix) => counterPrefix switch
    {
        "ike-init" => "IKE_SA_INIT",
        "ike-auth" => "IKE_AUTH",
        "create-child" => "CREATE_CHILD_SA",
        _ => "INFORMATIONAL",
    };

    /// <summary>
    /// A counter reset by VICI's reset-counters goes down; Prometheus reads a decrease as a counter reset (rate() and
    /// increase() handle it), so the series follows the value instead of sticking at its old maximum.
    /// </summary>
    private static void IncTo(Counter counter, long value, params string[] labels)
    {
        var child = counter.WithLabels(labels);
        if (value < child.Value)
        {
            counter.RemoveLabelled(labels);
            child = counter.WithLabels(labels);
        }

        child.IncTo(value);
    }

    /// <summary>Sets every given series and removes those published last time that are not among them.</summary>
    private void Replace(Collector collector, IEnumerable<(string[] Labels, double Value)> series)
    {
        var now = new HashSet<string[]>(LabelComparer.Instance);
        foreach (var (labels, value) in series)
        {
            now.Add(labels);
            switch (collector)
            {
                case Gauge g:
                    g.WithLabels(labels).Set(value);
                    break;
                case Counter c:
                    IncTo(c, (long)value, labels);
                    break;
            }
        }

        if (_published.TryGetValue(collector, out var before))
        {
            foreach (var gone in before.Where(l => !now.Contains(l)))
            {
                (collector as Gauge)?.RemoveLabelled(gone);
                (collector as Counter)?.RemoveLabelled(gone);
            }
        }

        _published[collector] = now;
    }

    /// <summary>The label of a drop reason: numbers folded (reasons quote message IDs and sizes), and at most <see cref="MaxDropReasons"/> distinct ones.</summary>
    private string DropLabel(string reason)
    {
        var label = Digits().Replace(reason, "N");
        if (_dropReasons.Contains(label))
        {
            return label;
        }

        if (_dropReasons.Count >= MaxDropReasons)
        {
            return "other";
        }

        _dropReasons.Add(label);
        return label;
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();

    private sealed class LabelComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] obj)
        {
            var h = new HashCode();
            foreach (var s in obj)
            {
                h.Add(s, StringComparer.Ordinal);
            }

            return h.ToHashCode();
        }
    }
}
