using Oakley.Engine;
using Oakley.Host.Counters;
using Prometheus;

namespace Oakley.Host.Metrics;

/// <summary>
/// The daemon's Prometheus metrics (prometheus-net, one registry of its own: no process or runtime metrics are mixed
/// in). Counters that events drive (failures, the handshake histogram, the CHILD SAs' series bookkeeping) are fed on
/// the engine thread by <see cref="Handle"/>; everything that reads engine state is read once per scrape in one engine
/// turn (<see cref="EngineSnapshot"/>) and published by <see cref="MetricsPublisher"/>; the message, exchange, rekey
/// and retransmission counters are read lock-free from <see cref="EngineCounters"/>, the one source VICI's
/// get-counters reads too.
/// </summary>
internal sealed class DaemonMetrics
{
    private const int MaxPendingAlerts = 10_000;

    private readonly Dictionary<long, string> _lastAlert = [];
    private readonly Func<uint, Traffic?> _counters;

    public DaemonMetrics(EngineCounters counters, Func<uint, Traffic?> espCounters, int childSaLimit)
    {
        Counters = counters;
        _counters = espCounters;
        Esp = new EspSeries(childSaLimit);
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        Failures = f.CreateCounter("oakley_ike_failures_total", "IKE SAs that failed to come up or were refused, and CHILD SAs that were not created, by connection and reason",
            new CounterConfiguration { LabelNames = ["connection", "reason"] });
        Handshake = f.CreateHistogram("oakley_ike_handshake_seconds", "Time from the first IKE_SA_INIT (sent or received) until the IKE SA was established, by our role",
            new HistogramConfiguration { LabelNames = ["role"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 13) });
        Publisher = new MetricsPublisher(f, this);
    }

    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    public EngineCounters Counters { get; }

    public EspSeries Esp { get; }

    public Counter Failures { get; }

    public Histogram Handshake { get; }

    public MetricsPublisher Publisher { get; }

    /// <summary>One engine event (engine thread; before the data plane forgets a removed CHILD SA's counters).</summary>
    public void Handle(EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up:
                _lastAlert.Remove(up.IkeSaId);
                Handshake.WithLabels(up.IsInitiator ? "initiator" : "responder").Observe(Math.Max(0, up.Handshake.TotalSeconds));
                break;
            case Alert { RefusedConnection: { } refused } a:
                // A responder's refusal (see Alert): no IkeSaDown follows for it.
                _lastAlert.Remove(a.IkeSaId);
                Fail(refused, a.Message);
                break;
            case Alert a when a.IkeSaId != 0:
                if (_lastAlert.Count >= MaxPendingAlerts && !_lastAlert.ContainsKey(a.IkeSaId))
                {
                    // A responder SA that dies half-open sends no IkeSaDown: bound what such SAs leave behind.
                    _lastAlert.Clear();
                }

                _lastAlert[a.IkeSaId] = a.Message;
                break;
            case IkeSaDown { WasEstablished: false } d:
                Fail(d.Name, _lastAlert.Remove(d.IkeSaId, out var alert) ? alert : d.Reason);
                break;
            case IkeSaDown d:
                _lastAlert.Remove(d.IkeSaId);
                break;
            case ChildSaFailed c:
                Fail(c.IkeName, c.Reason);
                break;
            case ChildSaInstall c:
                Esp.Installed(c);
                break;
            case ChildSaRemove r:
                Esp.Removed(r.InboundSpi, _counters(r.InboundSpi));
                break;
        }
    }

    /// <summary>The scrape's engine turn (engine thread).</summary>
    public EngineSnapshot Read(Endpoint endpoint, DateTimeOffset now) => EngineSnapshot.Read(endpoint, now, Esp, _counters);

    private void Fail(string connection, string message) => Failures.WithLabels(connection, FailureReasons.Classify(message)).Inc();
}
