using System.Globalization;
using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Host.Vici;

/// <summary>
/// load-pool, unload-pool and get-pools (charon's vici_attribute.c). swanctl sends a <c>pools.NAME</c> section with
/// <c>addrs</c> as a value and every attribute (dns, nbns, subnet, split_include, …) as a list; it is checked and loaded
/// by the file's loader. A pool that is replaced keeps its leases (the engine's SetPools); one with online leases is
/// not unloaded, as charon refuses it.
/// </summary>
internal static class ViciPoolCommands
{
    public static void Register(ViciCommands commands, IConfigStore store, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(commands);
        commands.Add("load-pool", (request, _) => LoadAsync(store, request, log));
        commands.Add("unload-pool", (request, _) => UnloadAsync(store, request, log));
        commands.Add("get-pools", (request, _) => GetAsync(store, request));
    }

    private static async Task<ViciSection> LoadAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        try
        {
            foreach (var pool in ViciSettings.Sections(request, "pools"))
            {
                var warnings = await store.ChangeAsync(s => s.SetPool(pool)).ConfigureAwait(false);
                foreach (var w in warnings)
                {
                    log.LogWarning("{Warning}", w.ToString());
                }

                log.LogInformation("vici: loaded pool '{Name}'", pool.Name);
            }

            return ViciCommands.Success();
        }
        catch (ConfigException e)
        {
            return ViciCommands.Failure(ViciSettings.Describe(e));
        }
    }

    private static async Task<ViciSection> UnloadAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        if (request.Text("name") is not { } name)
        {
            return ViciCommands.Failure("missing pool name to unload");
        }

        if (!store.Store.PoolNames.Contains(name, StringComparer.Ordinal))
        {
            return ViciCommands.Failure($"{name} not found");
        }

        var online = (await store.PoolsAsync(leases: false).ConfigureAwait(false)).FirstOrDefault(p => p.Name == name)?.Online ?? 0;
        if (online > 0)
        {
            return ViciCommands.Failure($"{name} has online leases, unable to unload");
        }

        await store.ChangeAsync(s => s.RemovePool(name)).ConfigureAwait(false);
        log.LogInformation("vici: unloaded pool '{Name}'", name);
        return ViciCommands.Success();
    }

    /// <summary>Each pool as a section named after it: base, size, online, offline and, with leases = yes, its leases by index.</summary>
    private static async Task<ViciSection> GetAsync(IConfigStore store, ViciSection request)
    {
        var withLeases = ViciSettings.IsYes(request.Text("leases"));
        var filter = request.Text("name");
        var reply = new ViciSection();
        foreach (var pool in await store.PoolsAsync(withLeases).ConfigureAwait(false))
        {
            if (filter is not null && pool.Name != filter)
            {
                continue;
            }

            var section = reply.AddSection(pool.Name)
                .Add("base", pool.Base.ToString())
                .Add("size", pool.Size.ToString(CultureInfo.InvariantCulture))
                .Add("online", pool.Online.ToString(CultureInfo.InvariantCulture))
                .Add("offline", pool.Offline.ToString(CultureInfo.InvariantCulture));
            if (pool.Leases is { } leases)
            {
                var list = section.AddSection("leases");
                var i = 0;
                foreach (var lease in leases.OrderBy(l => l.Address.GetAddressBytes(), Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))))
                {
                    list.AddSection((i++).ToString(CultureInfo.InvariantCulture))
                        .Add("address", lease.Address.ToString())
                        .Add("identity", lease.Holder.ToString())
                        .Add("status", lease.Online ? "online" : "offline");
                }
            }
        }

        return reply;
    }
}
