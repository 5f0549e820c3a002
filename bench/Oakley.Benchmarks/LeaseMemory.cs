using Oakley.Engine;

namespace Oakley.Benchmarks;

/// <summary>
/// <c>--lease-memory</c>: what 60,000 online leases cost the heap. The holders' identities are made first and not
/// counted (a gateway's IKE SAs hold them anyway); the pool is then filled, and both the bytes allocated on this
/// thread and the live heap after a full collection are compared with before. Printed per lease.
/// </summary>
public static class LeaseMemory
{
    public static void Run(TextWriter output)
    {
        for (var round = 1; round <= 3; round++)
        {
            var identitiesBefore = Heap();
            var holders = Enumerable.Range(1, AddressPoolBenchmarks.Online).Select(k => Identity.Parse($"user{k}")).ToArray();
            var identitiesAfter = Heap();
            var pool = Engine.Pools.AddressPool.Parse("bench", AddressPoolBenchmarks.Addresses);
            var heapBefore = Heap();
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            foreach (var holder in holders)
            {
                _ = pool.Acquire(holder) ?? throw new InvalidOperationException("the pool ran out");
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            var retained = Heap() - heapBefore;
            var n = (double)AddressPoolBenchmarks.Online;
            output.WriteLine($"round {round}: {pool.Online:N0} leases online in {AddressPoolBenchmarks.Addresses}: allocated {allocated / n:F1} B per lease, " +
                $"live heap +{retained / n:F1} B per lease; the holders' identities {(identitiesAfter - identitiesBefore) / n:F1} B each (not counted)");
            GC.KeepAlive(pool);
            GC.KeepAlive(holders);
        }
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
