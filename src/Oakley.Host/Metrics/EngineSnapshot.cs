using Oakley.Engine;

namespace Oakley.Host.Metrics;

/// <summary>
/// What one scrape needs of the engine's state, read in one engine turn (<see cref="IkeHost.Invoke{T}"/>): one pass
/// over the IKE SAs and their CHILD SAs (counted by connection and state, the oldest CHILD SA per connection/child
/// against its rekey_time), the half-open count, the pools, the endpoint's cookie and drop counters, and the ESP
/// counters of every installed CHILD SA (<see cref="EspSeries"/>). Nothing is read per SA outside that one turn, and
/// the turn allocates only the small group tables, not per SA.
/// </summary>
internal sealed record EngineSnapshot(
    Dictionary<(string Connection, IkeSaState State), int> IkeSas,
    Dictionary<(string Connection, string Child), ChildGroup> ChildSas,
    int HalfOpen,
    List<(string Pool, double Size, int Online, int Offline)> Pools,
    long CookiesSent,
    List<(string Reason, long Count)> Drops,
    EspReading Esp)
{
    /// <summary>Reads the snapshot; engine thread only.</summary>
    public static EngineSnapshot Read(Endpoint e, DateTimeOffset now, EspSeries esp, Func<uint, Traffic?> counters)
    {
        // Grouped by the config objects (reference hashing: a string hash per SA doubled the turn at 100,000 SAs),
        // then merged by name (after a reload, old SAs keep an older config object of the same name).
        var byConfig = new Dictionary<IkeConfig, int[]>(ReferenceEqualityComparer.Instance);
        var byChild = new Dictionary<ChildConfig, ChildAcc>(ReferenceEqualityComparer.Instance);
        var states = Enum.GetValues<IkeSaState>().Length;
        foreach (var sa in e.IkeSas)
        {
            if (!byConfig.TryGetValue(sa.Config, out var counts))
            {
                byConfig[sa.Config] = counts = new int[states];
            }

            counts[(int)sa.State]++;
            foreach (var c in sa.Children)
            {
                if (!byChild.TryGetValue(c.Config, out var acc))
                {
                    byChild[c.Config] = acc = new ChildAcc(sa.Config.Name);
                }

                acc.Count++;
                acc.Oldest = c.Installed < acc.Oldest ? c.Installed : acc.Oldest;
            }
        }

        var ike = new Dictionary<(string, IkeSaState), int>();
        foreach (var (config, counts) in byConfig)
        {
            for (var i = 0; i < counts.Length; i++)
            {
                if (counts[i] > 0)
                {
                    var key = (config.Name, (IkeSaState)i);
                    ike[key] = ike.GetValueOrDefault(key) + counts[i];
                }
            }
        }

        var children = new Dictionary<(string, string), ChildGroup>();
        foreach (var (config, acc) in byChild)
        {
            var key = (acc.Connection, config.Name);
            var g = children.GetValueOrDefault(key);
            children[key] = new ChildGroup(g.Count + acc.Count, Math.Max(g.OldestAgeSeconds, (now - acc.Oldest).TotalSeconds), config.RekeyTime.TotalSeconds);
        }

        var pools = e.Pools.Pools.Select(p => (p.Name, (double)p.Size, p.Online, p.Offline)).ToList();
        var stats = e.Stats;
        var drops = stats.Dropped.Select(kv => (kv.Key, kv.Value)).ToList();
        return new EngineSnapshot(ike, children, e.HalfOpenCount, pools, stats.CookiesSent, drops, esp.Read(counters));
    }
}

internal sealed class ChildAcc(string connection)
{
    public string Connection { get; } = connection;

    public int Count { get; set; }

    public DateTimeOffset Oldest { get; set; } = DateTimeOffset.MaxValue;
}

/// <summary>The CHILD SAs of one connection/child: how many, the oldest one's age, and the configured rekey_time.</summary>
internal readonly record struct ChildGroup(int Count, double OldestAgeSeconds, double RekeyTimeSeconds);
