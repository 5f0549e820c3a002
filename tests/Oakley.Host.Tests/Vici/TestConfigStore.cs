using Oakley.Config;
using Oakley.Engine.Pools;

namespace Oakley.Host.Tests.Vici;

/// <summary>
/// The daemon's configuration store without an engine: each change is made and built as <see cref="ConfigReload"/>
/// makes it (<see cref="SwanctlStore.Change{T}"/>), and counted; pools report no leases unless a test sets some.
/// </summary>
internal sealed class TestConfigStore(SwanctlStore initial) : IConfigStore
{
    private readonly Lock _lock = new();

    public SwanctlStore Store { get; private set; } = initial;

    public SwanctlConfig Current { get; private set; } = SwanctlLoader.Build(initial);

    public int Changes { get; private set; }

    /// <summary>Online leases by pool name (for unload-pool's refusal).</summary>
    public Dictionary<string, int> Online { get; } = [];

    /// <summary>A store as a daemon started with an empty --config has it.</summary>
    public static TestConfigStore Empty() => new(SwanctlStore.FromFile(new SettingsSection("", new SourceLocation("empty.conf", 0, 0)), null));

    public Task<T> ChangeAsync<T>(Func<SwanctlStore, T> change, string? connection = null)
    {
        lock (_lock)
        {
            var (store, config, _, result) = Store.Change(change, connection);
            (Store, Current) = (store, config);
            Changes++;
            return Task.FromResult(result);
        }
    }

    public Task<List<PoolViews.PoolSnapshot>> PoolsAsync(bool leases) => Task.FromResult(Current.Pools
        .Where(p => p.Addresses is not null)
        .Select(p => AddressPool.Parse(p.Name, p.Addresses!))
        .Select(p => PoolViews.Snapshot([p], leases)[0] with { Online = Online.GetValueOrDefault(p.Name) })
        .ToList());
}
