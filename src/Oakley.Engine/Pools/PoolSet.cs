using System.Net;
using System.Net.Sockets;

namespace Oakley.Engine.Pools;

/// <summary>One lease an IKE SA holds: the pool, the holder identity and the address.</summary>
public readonly record struct HeldLease(string Pool, Identity Holder, IPAddress Address);

/// <summary>
/// The endpoint's virtual IP pools (swanctl <c>pools</c>) and their leases. A reload (<see cref="Set"/>) keeps the
/// leases of every pool that stays (by name and address family; resized and rebased: a shrink or a moved range keeps
/// the leases outside the new range until they are released); a pool that goes keeps serving the releases of the SAs
/// that still hold its addresses but assigns nothing more. strongSwan's special pool name <c>radius</c> takes the address from RADIUS
/// (Framed-IP-Address).
/// </summary>
public sealed class PoolSet
{
    /// <summary>The pool name that means "the address RADIUS assigned" (strongSwan's eap-radius convention).</summary>
    public const string Radius = "radius";

    private readonly Dictionary<string, (PoolConfig Config, AddressPool? Pool)> _pools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AddressPool> _retired = new(StringComparer.Ordinal);

    /// <summary>The pools with addresses, for listings.</summary>
    public IReadOnlyList<AddressPool> Pools => _pools.Values.Where(p => p.Pool is not null).Select(p => p.Pool!).ToList();

    public PoolConfig? Config(string name) => _pools.TryGetValue(name, out var p) ? p.Config : null;

    /// <summary>Replaces the definitions; the leases of pools that stay are kept.</summary>
    public void Set(IReadOnlyList<PoolConfig> pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        var old = new Dictionary<string, (PoolConfig Config, AddressPool? Pool)>(_pools, StringComparer.Ordinal);
        _pools.Clear();
        foreach (var config in pools)
        {
            AddressPool? pool = null;
            if (config.Addresses is { } addrs)
            {
                var fresh = AddressPool.Parse(config.Name, addrs);
                pool = old.Remove(config.Name, out var kept) && kept.Pool is { } existing && existing.Base.AddressFamily == fresh.Base.AddressFamily
                    ? Resized(existing, fresh)
                    : fresh;
                _retired.Remove(config.Name);
            }

            _pools[config.Name] = (config, pool);
        }

        foreach (var (name, gone) in old)
        {
            if (gone.Pool is { Online: > 0 } pool)
            {
                _retired[name] = pool;
            }
        }
    }

    private static AddressPool Resized(AddressPool existing, AddressPool fresh)
    {
        existing.Rebase(fresh.Base, fresh.Size);
        return existing;
    }

    /// <summary>
    /// An address of <paramref name="family"/> for <paramref name="holder"/> from the first of <paramref name="names"/>
    /// that has one (the holder's own lease first), or null. <paramref name="aaa"/>: addresses RADIUS assigned, used
    /// for the pool name <c>radius</c>.
    /// </summary>
    public HeldLease? Acquire(IReadOnlyList<string> names, Identity holder, AddressFamily family, IReadOnlyList<IPAddress> aaa)
    {
        ArgumentNullException.ThrowIfNull(names);
        foreach (var name in names)
        {
            if (name == Radius)
            {
                if (aaa.FirstOrDefault(a => a.AddressFamily == family) is { } framed)
                {
                    return new HeldLease(Radius, holder, framed);
                }

                continue;
            }

            if (_pools.TryGetValue(name, out var p) && p.Pool is { } pool && pool.Base.AddressFamily == family && pool.Acquire(holder) is { } address)
            {
                return new HeldLease(name, holder, address);
            }
        }

        return null;
    }

    /// <summary>A rekey's successor holds the same leases too (the old SA releases its own when it goes).</summary>
    public void Retain(IEnumerable<HeldLease> leases)
    {
        foreach (var lease in leases)
        {
            Find(lease.Pool)?.Acquire(lease.Holder);
        }
    }

    /// <summary>An IKE SA went: its leases go offline once no other SA holds them.</summary>
    public void Release(IEnumerable<HeldLease> leases)
    {
        ArgumentNullException.ThrowIfNull(leases);
        foreach (var lease in leases)
        {
            if (Find(lease.Pool) is { } pool)
            {
                pool.Release(lease.Holder);
                if (pool.Online == 0 && _retired.TryGetValue(lease.Pool, out var r) && r == pool)
                {
                    _retired.Remove(lease.Pool);
                }
            }
        }
    }

    private AddressPool? Find(string name) =>
        _pools.TryGetValue(name, out var p) && p.Pool is { } pool ? pool : _retired.GetValueOrDefault(name);
}
