using Microsoft.Extensions.Logging;

namespace Oakley.Host.Vici;

/// <summary>
/// Every configuration-loading command of VICI (what swanctl --load-all, --load-conns, --load-creds, --load-pools and
/// --load-authorities send), over the daemon's configuration store: connections, credentials, authorities, pools.
/// </summary>
internal static class ViciLoadCommands
{
    /// <summary>Registers them all; the daemon passes <c>Daemon.Configuration</c>.</summary>
    public static void Register(ViciCommands commands, IConfigStore store, ILogger log)
    {
        ViciConfigCommands.Register(commands, store, log);
        ViciCredentialCommands.Register(commands, store, log);
        ViciAuthorityCommands.Register(commands, store, log);
        ViciPoolCommands.Register(commands, store, log);
    }
}
