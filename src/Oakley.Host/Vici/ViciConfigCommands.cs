using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Host.Vici;

/// <summary>
/// VICI's connection commands (strongSwan's vici README; charon's vici_config.c): <c>load-conn</c> adds or replaces a
/// connection, <c>unload-conn</c> removes one, <c>get-conns</c> names them all. swanctl --load-conns (and --load-all)
/// asks get-conns first, loads each connection of its file and unloads the names it did not load, so the daemon ends
/// up with the file's connections. A connection is checked by the same loader as the file's (<see cref="ViciSettings"/>),
/// and a refused one leaves the configuration as it was.
/// </summary>
internal static class ViciConfigCommands
{
    public static void Register(ViciCommands commands, IConfigStore store, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(commands);
        commands.Add("load-conn", (request, _) => LoadAsync(store, request, log));
        commands.Add("unload-conn", (request, _) => UnloadAsync(store, request, log));
        commands.Add("get-conns", (_, _) => Task.FromResult(new ViciSection().AddList("conns", store.Store.ConnectionNames)));
    }

    private static async Task<ViciSection> LoadAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        List<SettingsSection> conns;
        try
        {
            conns = ViciSettings.Sections(request, "connections");
        }
        catch (ConfigException e)
        {
            return ViciCommands.Failure(ViciSettings.Describe(e));
        }

        foreach (var conn in conns)
        {
            try
            {
                var warnings = await store.ChangeAsync(s => s.SetConnection(conn), conn.Name).ConfigureAwait(false);
                foreach (var w in warnings)
                {
                    log.LogWarning("{Warning}", w.ToString());
                }

                log.LogInformation("vici: loaded connection '{Name}'", conn.Name);
            }
            catch (ConfigException e)
            {
                // charon stops at the first connection it refuses, keeping those before it (swanctl sends one per request).
                log.LogWarning("vici: connection '{Name}' refused: {Error}", conn.Name, ViciSettings.Describe(e));
                return ViciCommands.Failure(ViciSettings.Describe(e));
            }
        }

        return ViciCommands.Success();
    }

    private static async Task<ViciSection> UnloadAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        if (request.Text("name") is not { } name)
        {
            return ViciCommands.Failure("unload: missing connection name");
        }

        if (!store.Store.ConnectionNames.Contains(name, StringComparer.Ordinal) || !await store.ChangeAsync(s => s.RemoveConnection(name)).ConfigureAwait(false))
        {
            return ViciCommands.Failure($"unload: connection '{name}' not found");
        }

        log.LogInformation("vici: unloaded connection '{Name}'", name);
        return ViciCommands.Success();
    }
}
