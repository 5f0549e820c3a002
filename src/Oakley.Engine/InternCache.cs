namespace Oakley.Engine;

/// <summary>
/// A small cache of immutable values shared by value: SAs that negotiated the same thing hold one instance of it
/// instead of a copy each. Lock-free: lookups read an array that additions replace whole. Bounded: past
/// <c>capacity</c> distinct values a new one is returned but not kept, so peers that each negotiate something
/// different cost a short scan, not memory.
/// </summary>
internal sealed class InternCache<TValue, TProbe>(int capacity, Func<TValue, TProbe, bool> matches)
    where TValue : class
{
    private TValue[] _values = [];

    public int Capacity => capacity;

    /// <summary>The cached value that matches <paramref name="probe"/>, else <paramref name="create"/>(probe), kept if there is room.</summary>
    public TValue Intern(TProbe probe, Func<TProbe, TValue> create)
    {
        var values = Volatile.Read(ref _values);
        if (Find(values, probe) is { } hit)
        {
            return hit;
        }

        var made = create(probe);
        while (values.Length < capacity)
        {
            var seen = Interlocked.CompareExchange(ref _values, [.. values, made], values);
            if (seen == values)
            {
                break;
            }

            values = seen;
            if (Find(values, probe) is { } raced)
            {
                return raced;
            }
        }

        return made;
    }

    private TValue? Find(TValue[] values, TProbe probe)
    {
        foreach (var v in values)
        {
            if (matches(v, probe))
            {
                return v;
            }
        }

        return null;
    }
}
