using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The connection supervisor: what the configuration asks the daemon to do by itself. swanctl start_action
/// (initiate on start, or trap), dpd_action and close_action (restart, trap), and keyingtries for automatic
/// (re)connections. Everything but <see cref="StartAsync"/> runs on the engine thread.
/// </summary>
internal sealed class ConnectionSupervisor(IkeHost host, DataPlaneInstaller installer, Func<SwanctlConfig> config, ILogger log, CancellationToken stop)
{
    /// <summary>Automatic (re)connections in progress: attempts made so far and the child to bring up.</summary>
    private readonly Dictionary<string, (int Attempts, string Child)> _keyingAttempts = [];

    /// <summary>The routes into the TUN device, once it is open (traps need it for their routes).</summary>
    public TunRoutes? Routes { get; set; }

    /// <summary>start_action = start initiates, start_action = trap installs the trap (at daemon start).</summary>
    public async Task StartAsync()
    {
        foreach (var conn in config().Connections)
        {
            foreach (var (child, policy) in conn.ChildPolicies)
            {
                if (policy.StartAction == ChildAction.Start)
                {
                    await host.Invoke((e, now) =>
                    {
                        _keyingAttempts[conn.Ike.Name] = (1, child);
                        return e.Initiate(now, conn.Ike.Name, child);
                    }).ConfigureAwait(false);
                }
                else if (policy.StartAction == ChildAction.Trap)
                {
                    await host.Invoke((_, _) => InstallTrap(conn.Ike, child)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// After a reload: the children with start_action = start of a connection that is new, or whose negotiation
    /// changed (its IKE SAs were just deleted), are initiated, as charon does when swanctl loads such a connection.
    /// Returns how many initiations were started.
    /// </summary>
    public async Task<int> StartChangedAsync(SwanctlConfig previous, SwanctlConfig next)
    {
        // A connection the loader took over from the last build is the same object: no fingerprints to compare (a VICI
        // load-conn builds only its own connection, and this runs after each).
        var before = previous.Connections.ToDictionary(c => c.Ike.Name, c => c.Ike);
        var started = 0;
        foreach (var conn in next.Connections.Where(c => !before.TryGetValue(c.Ike.Name, out var b)
            || (!ReferenceEquals(b, c.Ike) && b.NegotiationFingerprint() != c.Ike.NegotiationFingerprint())))
        {
            foreach (var (child, policy) in conn.ChildPolicies.Where(p => p.Value.StartAction == ChildAction.Start))
            {
                await host.Invoke((e, now) =>
                {
                    _keyingAttempts[conn.Ike.Name] = (1, child);
                    return e.Initiate(now, conn.Ike.Name, child);
                }).ConfigureAwait(false);
                started++;
            }
        }

        return started;
    }

    /// <summary>Engine thread: acts on the events that concern automatic connections.</summary>
    public void Handle(EngineEvent e)
    {
        switch (e)
        {
            case IkeSaDown down when down.PeerDead || down.ClosedByPeer:
                ActOnDown(down);
                break;
            case IkeSaDown failed when !failed.WasEstablished:
                RetryKeying(failed);
                break;
            case IkeSaUp up:
                _keyingAttempts.Remove(up.Name);
                break;
        }
    }

    /// <summary>
    /// start_action = trap: a policy without an SA, and routes for its remote selectors; the first matching
    /// packet makes the data plane queue it and ask the engine to initiate (an acquire).
    /// </summary>
    private bool InstallTrap(IkeConfig ike, string childName)
    {
        var child = ike.Children.First(c => c.Name == childName);
        if (Routes is null)
        {
            log.LogWarning("connection {IkeSaName}: start_action = trap needs the ESP data plane (no TUN device); child {Child} is not trapped", ike.Name, childName);
            return false;
        }

        var local = ike.LocalAddresses.FirstOrDefault();
        var remote = ike.RemoteAddresses.FirstOrDefault();
        if ((child.LocalTsDynamic && local is null) || (child.RemoteTsDynamic && remote is null) || remote is null)
        {
            log.LogWarning("connection {IkeSaName}: start_action = trap needs concrete local_addrs/remote_addrs for child {Child}; it is not trapped", ike.Name, childName);
            return false;
        }

        var localTs = local is null ? child.LocalTs : child.EffectiveLocalTs(local);
        var remoteTs = child.EffectiveRemoteTs(remote);
        installer.AddTrap(ike.Name, childName, localTs, remoteTs);
        Routes.Add(TunRoutes.TrapKey, localTs, remoteTs);
        log.LogInformation("connection {IkeSaName}: child {Child} trapped: {Local} === {Remote}", ike.Name, childName, string.Join(" ", localTs), string.Join(" ", remoteTs));
        return true;
    }

    /// <summary>
    /// VICI install (swanctl --install): the trap policy of a child (found under <paramref name="ike"/>, or under the
    /// first connection that has it). Engine thread. Returns null on success, else charon-style error text.
    /// </summary>
    public string? InstallPolicy(string? ike, string childName)
    {
        var conn = config().Connections.FirstOrDefault(c => (ike is null || c.Ike.Name == ike) && c.Ike.Children.Any(ch => ch.Name == childName));
        if (conn is null)
        {
            return $"configuration name not found";
        }

        if (installer.Traps.Any(t => t.Connection == conn.Ike.Name && t.Name == childName))
        {
            return $"CHILD_SA '{childName}' already installed";
        }

        return InstallTrap(conn.Ike, childName) ? null : $"installing policy '{childName}' failed (see the daemon's log)";
    }

    /// <summary>VICI uninstall (swanctl --uninstall): removes a child's trap policy. Engine thread; null on success.</summary>
    public string? UninstallPolicy(string? ike, string childName)
    {
        var trap = installer.Traps.FirstOrDefault(t => (ike is null || t.Connection == ike) && t.Name == childName);
        if (trap is null)
        {
            return $"policy '{childName}' not found";
        }

        installer.RemoveTraps(trap.Connection!, childName);
        if (Routes is { } routes)
        {
            // Routes are kept per owner; the trap owner's routes are rebuilt from the traps that stay.
            routes.Remove(TunRoutes.TrapKey);
            foreach (var conn in config().Connections)
            {
                foreach (var child in conn.Ike.Children.Where(ch => installer.Traps.Any(t => t.Connection == conn.Ike.Name && t.Name == ch.Name)))
                {
                    var local = conn.Ike.LocalAddresses.FirstOrDefault();
                    var remote = conn.Ike.RemoteAddresses.FirstOrDefault();
                    if (remote is not null)
                    {
                        routes.Add(TunRoutes.TrapKey, local is null ? child.LocalTs : child.EffectiveLocalTs(local), child.EffectiveRemoteTs(remote));
                    }
                }
            }
        }

        log.LogInformation("connection {Name}: child {Child} untrapped (uninstall)", trap.Connection, childName);
        return null;
    }

    /// <summary>Engine thread, on load-all: the traps (and their routes) of the new configuration replace the old ones.</summary>
    public int ReinstallTraps(SwanctlConfig newConfig)
    {
        installer.ClearTraps();
        Routes?.Remove(TunRoutes.TrapKey);
        var count = 0;
        foreach (var conn in newConfig.Connections)
        {
            foreach (var (child, policy) in conn.ChildPolicies)
            {
                if (policy.StartAction == ChildAction.Trap && InstallTrap(conn.Ike, child))
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>
    /// swanctl dpd_action (the peer stopped answering) and close_action (the peer deleted the IKE SA): "restart" /
    /// "start" negotiate the children again at once; "trap" relies on the child's trap policy, which stays installed
    /// (a child without start_action = trap gets one now); "clear"/"none" leave it down. Engine thread.
    /// </summary>
    private void ActOnDown(IkeSaDown down)
    {
        var conn = config().Connections.FirstOrDefault(c => c.Ike.Name == down.Name);
        if (conn is null)
        {
            return;
        }

        foreach (var (child, policy) in conn.ChildPolicies)
        {
            var action = down.PeerDead ? policy.DpdAction : policy.CloseAction;
            if (action is ChildAction.Restart or ChildAction.Start)
            {
                log.LogInformation("connection {IkeSaName}: {Why}, restarting child {Child}", conn.Ike.Name, down.PeerDead ? "peer is dead" : "peer closed the SA", child);
                _keyingAttempts[conn.Ike.Name] = (1, child);
                host.Post((e, now) => e.Initiate(now, conn.Ike.Name, child));
            }
            else if (action == ChildAction.Trap && policy.StartAction != ChildAction.Trap && !installer.Traps.Any(t => t.Connection == conn.Ike.Name && t.Name == child))
            {
                InstallTrap(conn.Ike, child);
            }
        }
    }

    /// <summary>
    /// swanctl keyingtries for automatic connections (start_action = start, dpd_action = restart, close_action =
    /// start): a failed attempt is repeated after a second until keyingtries attempts were made (0: forever).
    /// Engine thread.
    /// </summary>
    private void RetryKeying(IkeSaDown failed)
    {
        if (!_keyingAttempts.TryGetValue(failed.Name, out var state)
            || config().Connections.FirstOrDefault(c => c.Ike.Name == failed.Name) is not { } conn)
        {
            return;
        }

        if (conn.KeyingTries != 0 && state.Attempts >= conn.KeyingTries)
        {
            _keyingAttempts.Remove(failed.Name);
            log.LogWarning("connection {IkeSaName}: giving up after {Attempts} keying attempt(s) (keyingtries)", failed.Name, state.Attempts);
            return;
        }

        _keyingAttempts[failed.Name] = (state.Attempts + 1, state.Child);
        if (state.Attempts <= 3 || state.Attempts % 60 == 0)
        {
            // Rate-limited: with keyingtries = 0 a peer that stays away would otherwise log every second.
            log.LogInformation("connection {IkeSaName}: keying attempt {Attempt} failed ({Reason}); trying again", failed.Name, state.Attempts, failed.Reason);
        }
        _ = Task.Delay(TimeSpan.FromSeconds(1), stop).ContinueWith(
            _ => host.Post((e, now) => e.Initiate(now, failed.Name, state.Child)), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }
}
