using System.Collections.Concurrent;

namespace Oakley.Esp;

/// <summary>
/// The SPD's lookup structure. Policies with the same pair of selectors share a <see cref="Slot"/>, whose head is
/// the one that carries traffic: an installed SA before a trap, then the newest install (during a rekey the old
/// and the new CHILD SA have the same selectors). Slots whose remote selector is one address (a remote-access
/// client's virtual IP, a host-to-host tunnel) are found by that address in a hash table; the others (subnets)
/// are in one list. Each list is sorted by breadth, most specific first, and replaced whole when a slot comes or
/// goes, so readers never lock. A new CHILD SA with selectors already installed (the common case: a rekey, many
/// clients behind one NAT address) changes only its slot's head.
/// </summary>
internal sealed class PolicyIndex
{
    private readonly Dictionary<(Selector Local, Selector Remote), Slot> _slots = [];
    private readonly Dictionary<Policy, (Slot Slot, long Sequence)> _slotOf = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<(bool Ipv6, UInt128 Address), Slot[]> _byRemoteHost = new();
    private Slot[] _general = [];
    private long _sequence;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Add(Policy policy)
    {
        if (_slotOf.ContainsKey(policy))
        {
            return;
        }

        var key = (policy.Local, policy.Remote);
        var sequence = ++_sequence;
        if (!_slots.TryGetValue(key, out var slot))
        {
            slot = new Slot(policy.Local, policy.Remote);
            slot.Insert(policy, sequence); // the head is set before any reader can find the slot
            _slots[key] = slot;
            Publish(slot, add: true);
        }
        else
        {
            slot.Insert(policy, sequence);
        }

        _slotOf[policy] = (slot, sequence);
        Interlocked.Increment(ref _count);
    }

    public bool Remove(Policy policy)
    {
        if (!_slotOf.Remove(policy, out var entry))
        {
            return false;
        }

        var slot = entry.Slot;
        if (slot.Delete(policy, entry.Sequence))
        {
            _slots.Remove((slot.Local, slot.Remote));
            Publish(slot, add: false);
        }

        Interlocked.Decrement(ref _count);
        return true;
    }

    public Policy? Lookup(in FlowKey flow)
    {
        Policy? best = null;
        var bestBreadth = double.MaxValue;
        if (_byRemoteHost.TryGetValue((flow.Ipv6, flow.Destination), out var hosts))
        {
            Scan(hosts, flow, ref best, ref bestBreadth);
        }

        Scan(Volatile.Read(ref _general), flow, ref best, ref bestBreadth);
        return best;
    }

    private static void Scan(Slot[] slots, in FlowKey flow, ref Policy? best, ref double bestBreadth)
    {
        foreach (var slot in slots)
        {
            if (slot.Breadth > bestBreadth)
            {
                return; // sorted: nothing further is more specific
            }

            var head = slot.Head;
            if (head is null
                || !slot.Local.Matches(flow.Ipv6, flow.Source, flow.Protocol, flow.SourcePort)
                || !slot.Remote.Matches(flow.Ipv6, flow.Destination, flow.Protocol, flow.DestinationPort))
            {
                continue;
            }

            if (best is null || slot.Breadth < bestBreadth || Slot.Ranks(head) > Slot.Ranks(best))
            {
                best = head;
                bestBreadth = slot.Breadth;
            }
        }
    }

    /// <summary>Puts a new slot into its list, or takes an emptied one out, by publishing a new array.</summary>
    private void Publish(Slot slot, bool add)
    {
        if (slot.Remote.Start == slot.Remote.End)
        {
            var key = (slot.Remote.Ipv6, slot.Remote.Start);
            var current = _byRemoteHost.TryGetValue(key, out var list) ? list : [];
            var next = add ? Inserted(current, slot) : Removed(current, slot);
            if (next.Length == 0)
            {
                _byRemoteHost.TryRemove(key, out _);
            }
            else
            {
                _byRemoteHost[key] = next;
            }
        }
        else
        {
            Volatile.Write(ref _general, add ? Inserted(_general, slot) : Removed(_general, slot));
        }
    }

    private static Slot[] Inserted(Slot[] slots, Slot slot)
    {
        var at = 0;
        while (at < slots.Length && slots[at].Breadth <= slot.Breadth)
        {
            at++;
        }

        var next = new Slot[slots.Length + 1];
        slots.AsSpan(0, at).CopyTo(next);
        next[at] = slot;
        slots.AsSpan(at).CopyTo(next.AsSpan(at + 1));
        return next;
    }

    private static Slot[] Removed(Slot[] slots, Slot slot)
    {
        var at = Array.IndexOf(slots, slot);
        if (at < 0)
        {
            return slots;
        }

        var next = new Slot[slots.Length - 1];
        slots.AsSpan(0, at).CopyTo(next);
        slots.AsSpan(at + 1).CopyTo(next.AsSpan(at));
        return next;
    }

    /// <summary>The policies of one selector pair; only the writer touches the set, readers read <see cref="Head"/>.</summary>
    private sealed class Slot(Selector local, Selector remote)
    {
        private readonly SortedSet<(long Rank, long Sequence, Policy Policy)> _members = new(MemberOrder.Instance);
        private Policy? _head;

        public Selector Local { get; } = local;

        public Selector Remote { get; } = remote;

        public double Breadth { get; } = local.Breadth * remote.Breadth;

        public Policy? Head => Volatile.Read(ref _head);

        /// <summary>Higher carries the traffic: an installed SA over a trap, then the newer install.</summary>
        public static long Ranks(Policy p) => p.Outbound is null ? long.MinValue + p.Generation : p.Generation;

        public void Insert(Policy policy, long sequence)
        {
            _members.Add((Ranks(policy), sequence, policy));
            Volatile.Write(ref _head, _members.Max.Policy);
        }

        /// <summary>Removes a member; true when the slot is now empty.</summary>
        public bool Delete(Policy policy, long sequence)
        {
            _members.Remove((Ranks(policy), sequence, policy));
            Volatile.Write(ref _head, _members.Count == 0 ? null : _members.Max.Policy);
            return _members.Count == 0;
        }
    }

    private sealed class MemberOrder : IComparer<(long Rank, long Sequence, Policy Policy)>
    {
        public static readonly MemberOrder Instance = new();

        public int Compare((long Rank, long Sequence, Policy Policy) x, (long Rank, long Sequence, Policy Policy) y)
        {
            var c = x.Rank.CompareTo(y.Rank);
            return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
