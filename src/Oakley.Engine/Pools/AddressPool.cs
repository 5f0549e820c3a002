using System.Net;
using System.Numerics;

namespace Oakley.Engine.Pools;

/// <summary>One lease: the address, and whether its holder is online (has an IKE SA using it).</summary>
public readonly record struct Lease(IPAddress Address, Identity Holder, bool Online);

/// <summary>
/// A virtual IP pool (swanctl <c>pools.&lt;name&gt;.addrs</c>, issue 16), with strongSwan's mem-pool semantics: a
/// client identity keeps its address across reconnects (its lease goes offline, not away); fresh addresses are
/// handed out in order; when none is left, the offline lease unused for longest is reassigned. Acquire and release
/// are O(1): addresses are offsets from the first one, and offline leases wait in a queue. A pool that shrinks on
/// reload keeps the leases outside its new range until they are released (<see cref="Resize"/>).
/// </summary>
public sealed class AddressPool
{
    private readonly Dictionary<Identity, Entry> _byHolder = [];
    private readonly Dictionary<BigInteger, Entry> _byOffset = [];
    private readonly LinkedList<Entry> _offline = new();
    private byte[] _base;
    private BigInteger _next;

    public AddressPool(string name, IPAddress first, IPAddress last)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(last);
        if (first.AddressFamily != last.AddressFamily || ToNumber(last) < ToNumber(first))
        {
            throw new ArgumentException($"pool '{name}': {first}-{last} is not a range", nameof(last));
        }

        Name = name;
        _base = first.GetAddressBytes();
        Size = ToNumber(last) - ToNumber(first) + 1;
    }

    public string Name { get; }

    /// <summary>The first address handed out (swanctl --list-pools' base).</summary>
    public IPAddress Base => new(_base);

    /// <summary>How many addresses the pool spans.</summary>
    public BigInteger Size { get; private set; }

    public int Online => _byHolder.Count - _offline.Count;

    public int Offline => _offline.Count;

    /// <summary>
    /// A pool from swanctl's <c>addrs</c>: a CIDR (<c>10.3.0.0/16</c>; the network and, for IPv4, the broadcast
    /// address are left out, as strongSwan does) or a range <c>10.3.0.1-10.3.0.99</c>.
    /// </summary>
    public static AddressPool Parse(string name, string addrs)
    {
        ArgumentNullException.ThrowIfNull(addrs);
        var text = addrs.Trim();
        if (text.Split('-') is [var from, var to])
        {
            return new AddressPool(name, IPAddress.Parse(from.Trim()), IPAddress.Parse(to.Trim()));
        }

        var network = IPNetwork.Parse(text);
        var bits = network.BaseAddress.GetAddressBytes().Length * 8;
        var first = ToNumber(network.BaseAddress);
        var last = first + (BigInteger.One << (bits - network.PrefixLength)) - 1;
        var (lo, hi) = network.PrefixLength >= bits - 1 ? (first, last) : (first + 1, bits == 32 ? last - 1 : last);
        return new AddressPool(name, FromNumber(lo, bits / 8), FromNumber(hi, bits / 8));
    }

    /// <summary>
    /// The address for <paramref name="holder"/>: its own lease again (online once more), else a fresh address,
    /// else the longest-offline lease of someone else; null when every address is online.
    /// </summary>
    public IPAddress? Acquire(Identity holder)
    {
        ArgumentNullException.ThrowIfNull(holder);
        if (_byHolder.TryGetValue(holder, out var mine))
        {
            if (mine.Node is { } node)
            {
                _offline.Remove(node);
                mine.Node = null;
            }

            mine.Users++; // a reauthentication's new IKE SA holds it beside the old one until that goes
            return mine.Address;
        }

        Entry? entry = null;
        while (_next < Size && _byOffset.ContainsKey(_next))
        {
            _next++; // skip offsets still leased from before a resize
        }

        if (_next < Size)
        {
            entry = new Entry(_next, Address(_next), holder);
            _next++;
        }
        else if (_offline.First is { } oldest)
        {
            entry = oldest.Value;
            _offline.RemoveFirst();
            _byHolder.Remove(entry.Holder);
            entry.Holder = holder;
            entry.Node = null;
        }

        if (entry is null)
        {
            return null;
        }

        entry.Users = 1;
        _byHolder[holder] = entry;
        _byOffset[entry.Offset] = entry;
        return entry.Address;
    }

    /// <summary>
    /// One IKE SA of the holder went: when it was the last, the lease goes offline (kept for its reconnect until
    /// reassigned).
    /// </summary>
    public void Release(Identity holder)
    {
        ArgumentNullException.ThrowIfNull(holder);
        if (_byHolder.TryGetValue(holder, out var entry) && entry.Node is null && --entry.Users <= 0)
        {
            if (entry.Offset >= Size || entry.Offset < 0)
            {
                // Outside the pool since a reload shrank it: the address goes for good.
                _byHolder.Remove(holder);
                _byOffset.Remove(entry.Offset);
                return;
            }

            entry.Node = _offline.AddLast(entry);
        }
    }

    /// <summary>Every lease, for <c>list-pools</c>.</summary>
    public IEnumerable<Lease> Leases => _byHolder.Values.Select(e => new Lease(e.Address, e.Holder, e.Node is null));

    /// <summary>A reload changed the pool's size (same first address): existing leases stay, even outside the new range.</summary>
    public void Resize(BigInteger size)
    {
        Size = size;
        _next = BigInteger.Min(_next, size);
        for (var node = _offline.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Offset >= size || node.Value.Offset < 0)
            {
                _offline.Remove(node);
                _byHolder.Remove(node.Value.Holder);
                _byOffset.Remove(node.Value.Offset);
            }

            node = next;
        }
    }

    /// <summary>
    /// A reload moved the pool's first address (<c>10.3.0.0/28</c> to <c>10.3.0.0/31</c> hands out .0 too): the
    /// leases keep their addresses, counted from the new first one; those now outside the range stay until released.
    /// </summary>
    public void Rebase(IPAddress first, BigInteger size)
    {
        ArgumentNullException.ThrowIfNull(first);
        var shift = ToNumber(new IPAddress(_base)) - ToNumber(first);
        if (shift != 0)
        {
            var entries = _byOffset.Values.ToList();
            _byOffset.Clear();
            foreach (var e in entries)
            {
                e.Offset += shift;
                _byOffset[e.Offset] = e;
            }

            _base = first.GetAddressBytes();
            _next = 0; // Acquire skips the offsets still leased
        }

        Resize(size);
    }

    private IPAddress Address(BigInteger offset) => FromNumber(ToNumber(new IPAddress(_base)) + offset, _base.Length);

    private static BigInteger ToNumber(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);

    private static IPAddress FromNumber(BigInteger n, int length)
    {
        var bytes = new byte[length];
        n.TryWriteBytes(bytes.AsSpan(length - n.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return new IPAddress(bytes);
    }

    private sealed class Entry(BigInteger offset, IPAddress address, Identity holder)
    {
        public BigInteger Offset { get; set; } = offset;

        public IPAddress Address { get; } = address;

        public Identity Holder { get; set; } = holder;

        public LinkedListNode<Entry>? Node { get; set; }

        /// <summary>How many IKE SAs hold the lease (more than one during a make-before-break reauthentication).</summary>
        public int Users { get; set; }
    }
}
