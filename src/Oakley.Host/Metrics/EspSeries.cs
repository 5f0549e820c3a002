using Oakley.Engine;

namespace Oakley.Host.Metrics;

/// <summary>
/// The ESP byte and packet counters per CHILD SA, with a cardinality limit: the first <c>limit</c> CHILD SAs (in
/// the order they are installed, a freed place going to the next one) get series of their own; every other one is
/// summed into one overflow series, and <see cref="NotBrokenOut"/> counts how many were. A gateway with 100,000 road
/// warriors would otherwise expose 400,000 series per scrape. The totals over all CHILD SAs, gone ones included, stay
/// monotonic: a removed SA's last counters (read before the data plane forgets them) are kept in <c>retired</c> sums.
/// Engine thread only (the events and <see cref="Read"/>, which runs in the scrape's one engine turn).
/// </summary>
internal sealed class EspSeries(int limit)
{
    private readonly Dictionary<uint, Entry> _live = [];
    private int _ownSeries;
    private Traffic _retiredOverflow;
    private Traffic _retiredAll;

    public int Limit { get; } = Math.Max(0, limit);

    /// <summary>CHILD SAs installed without a series of their own (summed into the overflow series).</summary>
    public long NotBrokenOut { get; private set; }

    public void Installed(ChildSaInstall c)
    {
        var own = _ownSeries < Limit;
        if (own)
        {
            _ownSeries++;
        }
        else
        {
            NotBrokenOut++;
        }

        _live[c.InboundSpi] = new Entry(c.IkeName, c.ChildName, c.InboundSpi.ToString("x8", System.Globalization.CultureInfo.InvariantCulture), own);
    }

    /// <summary>A CHILD SA goes: its last counters (<paramref name="last"/>, null if the data plane had none) are retired.</summary>
    public void Removed(uint inboundSpi, Traffic? last)
    {
        if (!_live.Remove(inboundSpi, out var e))
        {
            return;
        }

        var t = last ?? default;
        _retiredAll += t;
        if (e.Own)
        {
            _ownSeries--;
        }
        else
        {
            _retiredOverflow += t;
        }
    }

    /// <summary>Every live CHILD SA's counters, O(CHILD SAs) dictionary reads: the own series, the overflow sum and the totals.</summary>
    public EspReading Read(Func<uint, Traffic?> counters)
    {
        var own = new List<(Entry Sa, Traffic Traffic)>(Math.Min(_ownSeries, _live.Count));
        var overflow = _retiredOverflow;
        var all = _retiredAll;
        foreach (var (spi, e) in _live)
        {
            var t = counters(spi) ?? default;
            all += t;
            if (e.Own)
            {
                own.Add((e, t));
            }
            else
            {
                overflow += t;
            }
        }

        return new EspReading(own, overflow, all, NotBrokenOut);
    }

    internal sealed record Entry(string Connection, string Child, string Spi, bool Own);
}

/// <summary>Bytes and packets of one CHILD SA (or a sum), each direction.</summary>
internal readonly record struct Traffic(long BytesIn, long PacketsIn, long BytesOut, long PacketsOut)
{
    public static Traffic operator +(Traffic a, Traffic b) =>
        new(a.BytesIn + b.BytesIn, a.PacketsIn + b.PacketsIn, a.BytesOut + b.BytesOut, a.PacketsOut + b.PacketsOut);
}

/// <summary>What <see cref="EspSeries.Read"/> found.</summary>
internal sealed record EspReading(List<(EspSeries.Entry Sa, Traffic Traffic)> Own, Traffic Overflow, Traffic All, long NotBrokenOut);
