namespace Oakley.Engine;

/// <summary>
/// The IKE SAs' deadlines in a priority queue, so that <see cref="Endpoint.PollTimeout"/> and
/// <see cref="Endpoint.HandleTimeout"/> cost O(log n) per due SA instead of a scan of every SA per wake-up.
/// <para>
/// An SA's deadline is a function of its state (<see cref="IkeSa.NextDeadline"/>). Every entry point that can change
/// that state marks the SA with <see cref="Touch"/>; the deadlines of marked SAs are recomputed lazily, before the
/// queue is next read. An SA has at most one live entry (<see cref="IkeSa.TimerAt"/>); entries left behind by an
/// earlier deadline or a removed SA are recognised and discarded when they surface. A deadline that moved later
/// keeps its earlier entry, which is checked against the real deadline when it surfaces, so the answer of
/// <see cref="Next"/> is always exact.
/// </para>
/// </summary>
internal sealed class TimerQueue
{
    private readonly PriorityQueue<IkeSa, DateTimeOffset> _queue = new();
    private readonly List<IkeSa> _dirty = [];
    private readonly List<IkeSa> _due = [];

    /// <summary>Entries in the queue, live and stale (benchmarks and tests look at it).</summary>
    public int Count => _queue.Count;

    public void Add(IkeSa sa)
    {
        sa.TimerLive = true;
        Touch(sa);
    }

    public void Remove(IkeSa sa)
    {
        sa.TimerLive = false;
        sa.TimerAt = DateTimeOffset.MaxValue;
    }

    /// <summary>The SA's state changed: its deadline is recomputed before the queue is next read.</summary>
    public void Touch(IkeSa sa)
    {
        if (!sa.TimerDirty)
        {
            sa.TimerDirty = true;
            _dirty.Add(sa);
        }
    }

    /// <summary>
    /// The earliest deadline of any SA, or null for none. With <paramref name="verifyAgainst"/> (tests), the answer
    /// is checked against a scan of those SAs, and a difference throws: a state change forgot <see cref="Touch"/>.
    /// </summary>
    public DateTimeOffset? Next(IReadOnlyCollection<IkeSa>? verifyAgainst = null)
    {
        var next = Earliest();
        if (verifyAgainst is not null && next != Scan(verifyAgainst))
        {
            throw new InvalidOperationException($"timer queue says {next}, the SAs say {Scan(verifyAgainst)}: an SA's state changed without Touch");
        }

        return next;
    }

    private static DateTimeOffset? Scan(IReadOnlyCollection<IkeSa> sas)
    {
        var min = DateTimeOffset.MaxValue;
        foreach (var sa in sas)
        {
            var d = sa.NextDeadline;
            min = d < min ? d : min;
        }

        return min == DateTimeOffset.MaxValue ? null : min;
    }

    private DateTimeOffset? Earliest()
    {
        Flush();
        while (_queue.TryPeek(out var sa, out var at))
        {
            if (!sa.TimerLive || at != sa.TimerAt)
            {
                _queue.Dequeue(); // stale
                continue;
            }

            var actual = sa.NextDeadline;
            if (actual == at)
            {
                return at;
            }

            // The deadline moved later since this entry was made: move the entry.
            _queue.Dequeue();
            sa.TimerAt = DateTimeOffset.MaxValue;
            Schedule(sa, actual);
        }

        return null;
    }

    /// <summary>
    /// The SAs whose deadline is at or before <paramref name="now"/>, in creation order (the list is reused: read it
    /// before the next call). Their entries are consumed; callers <see cref="Touch"/> them after handling.
    /// </summary>
    public List<IkeSa> TakeDue(DateTimeOffset now)
    {
        Flush();
        _due.Clear();
        while (_queue.TryPeek(out var sa, out var at) && at <= now)
        {
            _queue.Dequeue();
            if (!sa.TimerLive || at != sa.TimerAt)
            {
                continue;
            }

            sa.TimerAt = DateTimeOffset.MaxValue;
            if (sa.NextDeadline <= now)
            {
                _due.Add(sa);
            }
            else
            {
                Touch(sa);
            }
        }

        if (_due.Count > 1)
        {
            _due.Sort(static (x, y) => x.Id.CompareTo(y.Id));
        }

        return _due;
    }

    private void Flush()
    {
        foreach (var sa in _dirty)
        {
            sa.TimerDirty = false;
            if (sa.TimerLive)
            {
                Schedule(sa, sa.NextDeadline);
            }
        }

        _dirty.Clear();
    }

    private void Schedule(IkeSa sa, DateTimeOffset at)
    {
        if (at < sa.TimerAt)
        {
            sa.TimerAt = at;
            _queue.Enqueue(sa, at);
        }
    }
}
