using BenchmarkDotNet.Attributes;
using Oakley.Engine;
using Oakley.Engine.Pools;

namespace Oakley.Benchmarks;

/// <summary>
/// A virtual IP lease at 60,000 leases online (issue 16's pools): one <see cref="AddressPool.Acquire"/> and the
/// <see cref="AddressPool.Release"/> of the same holder, as one client's IKE SA coming and going. The pool is a /16
/// (65,534 addresses, in memory: nothing is sent to them), so 5,534 are left beside the 60,000 online.
/// </summary>
[Config(typeof(BenchConfig))]
public class AddressPoolBenchmarks
{
    public const int Online = 60_000;

    public const string Addresses = "198.18.0.0/16";

    private AddressPool _pool = null!;
    private Identity _returning = null!;
    private Identity[] _strangers = null!;
    private int _next;

    /// <summary>The 60,000 clients online, <c>user1</c>..<c>user60000</c>, as FQDN identities (what EAP-Identity gives).</summary>
    public static AddressPool PoolWithLeases(out Identity[] holders)
    {
        var pool = AddressPool.Parse("bench", Addresses);
        holders = new Identity[Online];
        for (var k = 0; k < Online; k++)
        {
            holders[k] = Identity.Parse($"user{k + 1}");
            if (pool.Acquire(holders[k]) is null)
            {
                throw new InvalidOperationException($"the pool ran out at {k}");
            }
        }

        return pool;
    }

    [GlobalSetup]
    public void Setup()
    {
        _pool = PoolWithLeases(out _);
        _returning = Identity.Parse("returning.user");
        _pool.Acquire(_returning);
        _pool.Release(_returning); // offline: its address waits for it
        // More strangers than the pool has room for offline, so one comes back only after its lease went to another.
        _strangers = Enumerable.Range(0, 131_072).Select(k => Identity.Parse($"stranger{k}")).ToArray();
        _next = 0;
    }

    /// <summary>
    /// A client the pool has never seen (or whose lease was given away). Once the free addresses are used up (after
    /// the first 5,534 calls, long before BenchmarkDotNet measures), this is the oldest offline lease handed over:
    /// a full pool's steady state. <see cref="AddressPoolFreshAddressBenchmarks"/> measures the free-address path.
    /// </summary>
    [Benchmark]
    public void FreshIdentity()
    {
        var holder = _strangers[_next];
        _next = (_next + 1) & (131_072 - 1);
        _pool.Acquire(holder);
        _pool.Release(holder);
    }

    /// <summary>A client that comes back to its own offline lease.</summary>
    [Benchmark]
    public void ReturningIdentity()
    {
        _pool.Acquire(_returning);
        _pool.Release(_returning);
    }
}

/// <summary>
/// A never-seen client taking a free address (not a reassigned one): each iteration rebuilds the pool with 60,000
/// leases online and then lets 5,000 new clients acquire and release, so every call takes a fresh address.
/// </summary>
[Config(typeof(BenchConfig))]
[InvocationCount(1)]
[IterationCount(30)]
public class AddressPoolFreshAddressBenchmarks
{
    private const int PerIteration = 5_000;

    private AddressPool _pool = null!;
    private Identity[] _newcomers = null!;

    [GlobalSetup]
    public void Setup() => _newcomers = Enumerable.Range(0, PerIteration).Select(k => Identity.Parse($"newcomer{k}")).ToArray();

    [IterationSetup]
    public void Rebuild()
    {
        _pool = AddressPoolBenchmarks.PoolWithLeases(out _);
        GC.Collect();
    }

    [Benchmark(OperationsPerInvoke = PerIteration)]
    public void FreshIdentityFreeAddress()
    {
        foreach (var holder in _newcomers)
        {
            if (_pool.Acquire(holder) is null)
            {
                throw new InvalidOperationException("no free address");
            }

            _pool.Release(holder);
        }
    }
}
