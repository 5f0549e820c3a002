using Oakley.Engine.Pools;

namespace Oakley.Engine;

// TEMPORARY (helper branch racfg): the integrator's Endpoint.SetPools / Endpoint.Pools replace this file; delete it then.
public sealed partial class Endpoint
{
    private readonly List<(PoolConfig Config, AddressPool Pool)> _stubPools = [];

    /// <summary>The address pools (for list-pools); pools of attributes only (no <c>addrs</c>) are not among them.</summary>
    public IReadOnlyList<AddressPool> Pools => [.. _stubPools.Select(p => p.Pool)];

    /// <summary>
    /// The swanctl pools, at start and on every reload: a pool whose name and <c>addrs</c> stay keeps its leases;
    /// the others are made anew.
    /// </summary>
    public void SetPools(IReadOnlyList<PoolConfig> pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        var next = new List<(PoolConfig, AddressPool)>();
        foreach (var config in pools.Where(p => p.Addresses is not null))
        {
            var kept = _stubPools.FirstOrDefault(p => p.Config.Name == config.Name && p.Config.Addresses == config.Addresses).Pool;
            next.Add((config, kept ?? AddressPool.Parse(config.Name, config.Addresses!)));
        }

        _stubPools.Clear();
        _stubPools.AddRange(next);
    }
}
