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
        var ike = new Dictionary<(string, IkeSaState), int>();
        var children = new Dictionary<(string, string), ChildGroup>();
        foreach (var sa in e.IkeSas)
        {
            var key = (sa.Config.Name, sa.State);
            ike[key] = ike.GetValueOrDefault(key) + 1;
            foreach (var c in sa.Children)
            {
                var ck = (sa.Config.Name, c.Config.Name);
                var g = children.GetValueOrDefault(ck);
                var age = (now - c.Installed).TotalSeconds;
                children[ck] = new ChildGroup(g.Count + 1, Math.Max(g.OldestAgeSeconds, age), c.Config.RekeyTime.TotalSeconds);
            }
        }

        var pools = e.Pools.Pools.Select(p => (p.Name, (double)p.Size, p.Online, p.Offline)).ToList();
        var stats = e.Stats;
        var drops = stats.Dropped.Select(kv => (kv.Key, kv.Value)).ToList();
        return new EngineSnapshot(ike, children, e.HalfOpenCount, pools, stats.CookiesSent, drops, esp.Read(counters));
    }
}

/// <summary>The CHILD SAs of one connection/child: how many, the oldest one's age, and the configured rekey_time.</summary>
internal readonly record struct ChildGroup(int Count, double OldestAgeSeconds, double RekeyTimeSeconds);
