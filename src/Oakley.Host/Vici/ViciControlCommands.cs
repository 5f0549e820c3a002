using Oakley.Engine;

namespace Oakley.Host.Vici;

/// <summary>
/// The VICI commands that act on SAs (README: initiate, terminate, rekey, redirect, install, uninstall), answered as
/// charon's vici_control.c answers them (success, errmsg, matches, terminated). Initiate and terminate stream the log
/// lines of the SAs they act on as <c>control-log</c> events while they wait. Every engine access goes through
/// <see cref="IkeHost.Invoke{T}"/>, as <see cref="ControlCommands"/> does.
/// </summary>
internal sealed class ViciControlCommands(Daemon daemon, ViciLog log, ViciChildIds ids)
{
    /// <summary>timeout = 0 means "wait until done" in charon; Oakley still stops waiting after this long (never hang).</summary>
    private static readonly TimeSpan Forever = TimeSpan.FromMinutes(5);

    public void Register(ViciCommands commands)
    {
        commands.Add("initiate", InitiateAsync);
        commands.Add("terminate", TerminateAsync);
        commands.Add("rekey", RekeyAsync);
        commands.Add("redirect", (_, _) => Task.FromResult(ViciCommands.Failure("redirect is not supported: Oakley does not implement IKEv2 redirection (RFC 5685)")));
        commands.Add("install", InstallAsync);
        commands.Add("uninstall", UninstallAsync);
    }

    /// <summary>README timeout: milliseconds; 0 waits indefinitely (bounded here by <see cref="Forever"/>), -1 not at all.</summary>
    private static TimeSpan? Timeout(ViciSection request)
    {
        var ms = Int(request, "timeout") ?? 0;
        return ms < 0 ? null : ms == 0 ? Forever : TimeSpan.FromMilliseconds(ms);
    }

    internal static long? Int(ViciSection request, string key) =>
        long.TryParse(request.Text(key), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;

    internal static bool Yes(ViciSection request, string key) => request.Text(key) is "yes" or "1" or "true";

    private async Task<ViciSection> InitiateAsync(ViciSection request, ViciCall call)
    {
        var child = request.Text("child");
        var ike = request.Text("ike");
        if (child is null && ike is null)
        {
            return ViciCommands.Failure("missing configuration name");
        }

        var config = daemon.Config.Connections.FirstOrDefault(c => (ike is null || c.Ike.Name == ike) && (child is null || c.Ike.Children.Any(ch => ch.Name == child)));
        if (config is null)
        {
            return ViciCommands.Failure(child is null ? $"IKE_SA config '{ike}' not found" : $"CHILD_SA config '{child}' not found");
        }

        var name = config.Ike.Name;
        var timeout = Timeout(request);
        var level = (int)(Int(request, "loglevel") ?? 1);
        var done = new TaskCompletionSource<EngineEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        long id = -1;
        void Watch(EngineEvent e)
        {
            var mine = Volatile.Read(ref id);
            if (e is ChildSaInstall c && c.IkeSaId == mine || e is ChildSaFailed f && f.IkeSaId == mine || e is IkeSaDown d && d.IkeSaId == mine
                || (child is null && e is IkeSaUp u && u.IkeSaId == mine))
            {
                done.TrySetResult(e);
            }
        }

        using var lines = log.ControlLog(call, () => Volatile.Read(ref id), level);
        daemon.Host.EventRaised += Watch;
        try
        {
            try
            {
                await daemon.Host.Invoke((e, now) =>
                {
                    // Set on the engine thread inside the initiation, before any of its events (ControlCommands does the same).
                    Volatile.Write(ref id, e.Initiate(now, name, child));
                    return id;
                }).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                return ViciCommands.Failure(e.Message);
            }

            if (timeout is not { } wait)
            {
                return ViciCommands.Success();
            }

            var finished = await Task.WhenAny(done.Task, Task.Delay(wait, call.Aborted)).ConfigureAwait(false);
            return finished != done.Task ? ViciCommands.Failure($"initiating '{child ?? name}' timed out")
                : done.Task.Result switch
                {
                    IkeSaDown down => ViciCommands.Failure($"establishing CHILD_SA '{child ?? name}' failed: {down.Reason}"),
                    ChildSaFailed failed => ViciCommands.Failure($"establishing CHILD_SA '{child}' failed: {failed.Reason}"),
                    _ => ViciCommands.Success(),
                };
        }
        finally
        {
            daemon.Host.EventRaised -= Watch;
        }
    }

    private async Task<ViciSection> TerminateAsync(ViciSection request, ViciCall call)
    {
        var child = request.Text("child");
        var ike = request.Text("ike");
        var childId = Int(request, "child-id");
        var ikeId = Int(request, "ike-id");
        if (child is null && ike is null && childId is null && ikeId is null)
        {
            return ViciCommands.Failure("missing terminate selector");
        }

        var timeout = Yes(request, "force") && request.Text("timeout") is null ? null : Timeout(request);
        var level = (int)(Int(request, "loglevel") ?? 1);
        var pending = new HashSet<(long Ike, uint Child)>();
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Watch(EngineEvent e)
        {
            lock (pending)
            {
                var removed = e switch
                {
                    IkeSaDown d => pending.RemoveWhere(p => p.Ike == d.IkeSaId),
                    ChildSaRemove r => pending.RemoveWhere(p => p.Ike == r.IkeSaId && p.Child == r.InboundSpi),
                    _ => 0,
                };
                if (removed > 0 && pending.Count == 0)
                {
                    gone.TrySetResult();
                }
            }
        }

        long watched = -1;
        using var lines = log.ControlLog(call, () => Volatile.Read(ref watched), level);
        daemon.Host.EventRaised += Watch;
        try
        {
            var matches = await daemon.Host.Invoke((e, now) =>
            {
                var n = 0;
                var counted = new HashSet<long>();
                foreach (var sa in e.IkeSas.Where(s => s.State != IkeSaState.Destroyed).ToList())
                {
                    if (child is not null || childId is not null)
                    {
                        foreach (var c in sa.Children.Where(c => (child is null || c.Config.Name == child) && (childId is null || ids.Is(c.InboundSpi, childId.Value))
                            && (ike is null || sa.Config.Name == ike) && (ikeId is null || sa.Id == ikeId)).ToList())
                        {
                            lock (pending)
                            {
                                pending.Add((sa.Id, c.InboundSpi));
                            }

                            Volatile.Write(ref watched, sa.Id);
                            n += sa.DeleteChild(now, c.InboundSpi) ? 1 : 0;
                        }
                    }
                    else if ((ike is null || sa.Config.Name == ike) && (ikeId is null || sa.Id == ikeId))
                    {
                        lock (pending)
                        {
                            pending.Add((sa.Id, 0));
                        }

                        Volatile.Write(ref watched, sa.Id);
                        sa.Terminate(now);
                        n += counted.Add(sa.Id) ? 1 : 0; // a rekeyed IKE SA and its successor share the ID: one match
                    }
                }

                return n;
            }).ConfigureAwait(false);
            if (matches == 0)
            {
                return ViciCommands.Failure("no matching SAs to terminate found").Add("matches", "0").Add("terminated", "0");
            }

            if (timeout is { } wait)
            {
                await Task.WhenAny(gone.Task, Task.Delay(wait, call.Aborted)).ConfigureAwait(false);
            }

            int left;
            lock (pending)
            {
                left = timeout is null ? 0 : pending.Count;
            }

            var reply = left == 0 ? ViciCommands.Success() : ViciCommands.Failure($"terminating {left} of {matches} SAs timed out");
            return reply.Add("matches", ViciSaViews.Num(matches)).Add("terminated", ViciSaViews.Num(matches - left));
        }
        finally
        {
            daemon.Host.EventRaised -= Watch;
        }
    }

    private async Task<ViciSection> RekeyAsync(ViciSection request, ViciCall call)
    {
        var child = request.Text("child");
        var ike = request.Text("ike");
        var childId = Int(request, "child-id");
        var ikeId = Int(request, "ike-id");
        var reauth = Yes(request, "reauth");
        var matches = await daemon.Host.Invoke((e, now) =>
        {
            if (ikeId is null && childId is null)
            {
                return e.Rekey(now, ike, child, reauth);
            }

            // By unique ID: the SAs themselves (Endpoint.Rekey selects by name).
            var n = 0;
            foreach (var sa in e.IkeSas.Where(s => s.State == IkeSaState.Established && (ikeId is null || s.Id == ikeId) && (ike is null || s.Config.Name == ike)).ToList())
            {
                if (childId is null && child is null)
                {
                    n += reauth ? e.Rekey(now, sa.Config.Name, null, true) : sa.Rekey(now) ? 1 : 0;
                    continue;
                }

                foreach (var c in sa.Children.Where(c => (childId is null || ids.Is(c.InboundSpi, childId.Value)) && (child is null || c.Config.Name == child)).ToList())
                {
                    n += sa.RekeyChild(now, c.InboundSpi) ? 1 : 0;
                }
            }

            return n;
        }).ConfigureAwait(false);
        return (matches > 0 ? ViciCommands.Success() : ViciCommands.Failure("no matching SAs to rekey found")).Add("matches", ViciSaViews.Num(matches));
    }

    private async Task<ViciSection> InstallAsync(ViciSection request, ViciCall call)
    {
        if (request.Text("child") is not { } child)
        {
            return ViciCommands.Failure("missing configuration name");
        }

        var error = await daemon.Host.Invoke((_, _) => daemon.Supervisor.InstallPolicy(request.Text("ike"), child)).ConfigureAwait(false);
        return error is null ? ViciCommands.Success() : ViciCommands.Failure(error);
    }

    private async Task<ViciSection> UninstallAsync(ViciSection request, ViciCall call)
    {
        if (request.Text("child") is not { } child)
        {
            return ViciCommands.Failure("missing configuration name");
        }

        var error = await daemon.Host.Invoke((_, _) => daemon.Supervisor.UninstallPolicy(request.Text("ike"), child)).ConfigureAwait(false);
        return error is null ? ViciCommands.Success() : ViciCommands.Failure(error);
    }
}
