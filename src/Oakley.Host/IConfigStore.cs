using Oakley.Config;

namespace Oakley.Host;

/// <summary>
/// What VICI's configuration commands change: the daemon's <see cref="SwanctlStore"/>, one change at a time, each built
/// and handed to the engine before the next (<see cref="ConfigReload"/>; tests give their own).
/// </summary>
internal interface IConfigStore
{
    /// <summary>The current store (read only: changes go through <see cref="ChangeAsync{T}"/>).</summary>
    SwanctlStore Store { get; }

    /// <summary>The effective configuration built from <see cref="Store"/>.</summary>
    SwanctlConfig Current { get; }

    /// <summary>
    /// Applies <paramref name="change"/> to a copy of the store, builds it and, if it builds, makes it current and applies
    /// it to the engine. With <paramref name="connection"/>, that connection must build. Throws
    /// <see cref="ConfigException"/> (nothing changed) for a change that does not load.
    /// </summary>
    Task<T> ChangeAsync<T>(Func<SwanctlStore, T> change, string? connection = null);

    /// <summary>The engine's address pools with their lease counts (and leases).</summary>
    Task<List<PoolViews.PoolSnapshot>> PoolsAsync(bool leases);
}
