using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Host;

/// <summary>
/// The configuration the daemon runs with: the store of its pieces (<see cref="SwanctlStore"/>) and the effective
/// configuration built from it. Two paths change it, one at a time: the file (load-all over the control socket,
/// SIGHUP) is read again and replaces the store whole; a VICI load-*/unload-* command changes one piece
/// (<see cref="ChangeAsync{T}"/>). Either way the engine gets the new pools, connections and secrets, the traps are
/// replaced and new local addresses bound, by the same steps (<see cref="ApplyAsync"/>). A file or a piece that does
/// not load keeps the old configuration.
/// </summary>
internal sealed class ConfigReload(string path, SwanctlStore initialStore, SwanctlConfig initial, IkeHost host, ConnectionSupervisor supervisor, LocalBindings bindings, ILogger log,
    Action<SwanctlConfig> prepare) : IConfigStore, IDisposable
{
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private SwanctlConfig _current = initial;
    private SwanctlStore _store = initialStore;

    public SwanctlConfig Current => Volatile.Read(ref _current);

    public SwanctlStore Store => Volatile.Read(ref _store);

    /// <summary>The systemd unit's manager, told RELOADING=1 and then READY=1 around each reload (null: not under systemd).</summary>
    public Systemd.ServiceNotifier? Notifier { get; set; }

    /// <summary>
    /// load-all: the configuration is read again and replaces the store; SAs whose connection went or whose
    /// negotiation changed are deleted, the others take the new configuration over in place (Endpoint.Reconfigure);
    /// traps are replaced, and children with start_action = start of a new or replaced connection are initiated. Throws <see cref="ConfigException"/> (file:line) and keeps the old configuration if
    /// the new one does not load.
    /// </summary>
    public async Task<JsonObject> ReloadAsync()
    {
        await _reloading.WaitAsync().ConfigureAwait(false); // load-all, SIGHUP and VICI changes one at a time
        var notifier = Notifier;
        notifier?.Reloading($"reloading {path}");
        var status = $"reload of {path} failed, the previous configuration kept";
        try
        {
            SwanctlStore store;
            SwanctlConfig config;
            try
            {
                store = SwanctlFile.LoadStore(path);
                config = SwanctlLoader.Build(store);
                prepare(config);
            }
            catch (ConfigException e)
            {
                log.LogError("reload failed, keeping the old configuration: {Error}", e.Message);
                throw;
            }

            foreach (var w in config.Warnings)
            {
                log.LogWarning("{Warning}", w.ToString());
            }

            var (report, started) = await PublishAsync(store, config).ConfigureAwait(false);
            status = $"reloaded {path}: {config.Connections.Count} connection(s); IKE SAs: {report.Unchanged} unchanged, {report.Updated} updated in place, {report.Deleted} deleted";
            return new JsonObject
            {
                ["ok"] = true,
                ["connections"] = config.Connections.Count,
                ["pools"] = config.Pools.Count,
                ["deleted-sas"] = report.Deleted,
                ["updated-sas"] = report.Updated,
                ["unchanged-sas"] = report.Unchanged,
                ["started"] = started,
                ["warnings"] = new JsonArray(config.Warnings.Select(w => (JsonNode)w.ToString()).ToArray()),
            };
        }
        finally
        {
            notifier?.Ready(status); // also after a failed reload: the daemon runs on with the old configuration
            _reloading.Release();
        }
    }

    /// <inheritdoc/>
    public async Task<T> ChangeAsync<T>(Func<SwanctlStore, T> change, string? connection = null)
    {
        await _reloading.WaitAsync().ConfigureAwait(false);
        try
        {
            var (store, config, inactive, result) = Store.Change(change, connection);
            prepare(config);
            foreach (var i in inactive)
            {
                log.LogWarning("connection '{Name}' is not active: {Error}", i.Name, i.Error.Message);
            }

            await PublishAsync(store, config).ConfigureAwait(false);
            return result;
        }
        finally
        {
            _reloading.Release();
        }
    }

    /// <inheritdoc/>
    public Task<List<PoolViews.PoolSnapshot>> PoolsAsync(bool leases) => host.Invoke((e, _) => PoolViews.Snapshot(e.Pools.Pools, leases));

    /// <summary>Makes the configuration current and hands it to the engine; returns what happened to the IKE SAs and how many initiations started.</summary>
    private async Task<(Engine.ReloadReport Report, int Started)> PublishAsync(SwanctlStore store, SwanctlConfig config)
    {
        var previous = Current;
        Volatile.Write(ref _store, store);
        Volatile.Write(ref _current, config);
        var report = await ApplyAsync(config).ConfigureAwait(false);
        return (report, await supervisor.StartChangedAsync(previous, config).ConfigureAwait(false));
    }

    /// <summary>
    /// The engine's part of a change, in one engine turn (no datagram is handled between its steps): pools, connections
    /// and secrets, traps, local addresses.
    /// </summary>
    private Task<Engine.ReloadReport> ApplyAsync(SwanctlConfig config) => host.Invoke((e, now) =>
    {
        // Pools first: the new connections may name new pools; a pool that stays keeps its leases.
        e.SetPools(config.Pools);
        var report = e.Reconfigure(now, config.Connections.Select(c => c.Ike), config.Secrets);
        supervisor.ReinstallTraps(config);
        bindings.Ensure(LocalBindings.AddressesOf(config));
        return report;
    });

    /// <summary>SIGHUP: reloads like load-all; a configuration that does not load is logged and the old one kept.</summary>
    public async Task ReloadOnSignalAsync()
    {
        log.LogInformation("SIGHUP received: reloading {Config}", path);
        try
        {
            var result = await ReloadAsync().ConfigureAwait(false);
            log.LogInformation("reloaded {Config}: {Connections} connection(s); IKE SAs: {Unchanged} unchanged, {Updated} updated in place, {Deleted} deleted", path,
                result["connections"]?.ToJsonString(), result["unchanged-sas"]?.ToJsonString(), result["updated-sas"]?.ToJsonString(), result["deleted-sas"]?.ToJsonString());
        }
        catch (ConfigException)
        {
            // ReloadAsync logged it.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogError("reload failed, keeping the old configuration: {Error}", e.Message);
        }
    }

    public void Dispose() => _reloading.Dispose();
}
