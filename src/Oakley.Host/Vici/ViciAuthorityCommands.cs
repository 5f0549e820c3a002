using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Host.Vici;

/// <summary>
/// load-authority, unload-authority and get-authorities (charon's vici_authority.c). swanctl sends an
/// <c>authorities.NAME</c> section with <c>cacert</c> as the certificate file's contents and <c>crl_uris</c> /
/// <c>ocsp_uris</c> as lists; the section is checked and loaded by the file's loader (an absolute <c>file</c> is read
/// by the daemon, as charon reads it).
/// </summary>
internal static class ViciAuthorityCommands
{
    public static void Register(ViciCommands commands, IConfigStore store, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(commands);
        commands.Add("load-authority", (request, _) => LoadAsync(store, request, log));
        commands.Add("unload-authority", async (request, _) =>
        {
            if (request.Text("name") is not { } name)
            {
                return ViciCommands.Failure("unload: missing authority name");
            }

            if (!store.Store.AuthorityNames.Contains(name, StringComparer.Ordinal))
            {
                return ViciCommands.Failure($"unload: authority '{name}' not found");
            }

            await store.ChangeAsync(s => s.RemoveAuthority(name)).ConfigureAwait(false);
            log.LogInformation("vici: unloaded authority '{Name}'", name);
            return ViciCommands.Success();
        });
        commands.Add("get-authorities", (_, _) => Task.FromResult(new ViciSection().AddList("authorities", store.Store.AuthorityNames)));
    }

    private static async Task<ViciSection> LoadAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        try
        {
            foreach (var authority in ViciSettings.Sections(request, "authorities"))
            {
                await store.ChangeAsync(s => s.SetAuthority(authority)).ConfigureAwait(false);
                log.LogInformation("vici: loaded authority '{Name}'", authority.Name);
            }

            return ViciCommands.Success();
        }
        catch (ConfigException e)
        {
            return ViciCommands.Failure(ViciSettings.Describe(e));
        }
    }
}
