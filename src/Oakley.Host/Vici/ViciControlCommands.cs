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
        using var watch = new InitiationWatch(daemon.Host, child);
        using var lines = log.ControlLog(call, () => watch.IkeSaId, level);
        try
        {
            await watch.InitiateAsync(name).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return ViciCommands.Failure(e.Message);
        }

        if (timeout is not { } wait)
        {
            return ViciCommands.Success();
        }

        var finished = await Task.WhenAny(watch.Done, Task.Delay(wait, call.Aborted)).ConfigureAwait(false);
        return finished != watch.Done ? ViciCommands.Failure($"initiating '{child ?? name}' timed out")
            : watch.Done.Result switch
            {
                IkeSaDown down => ViciCommands.Failure($"establishing CHILD_SA '{child ?? name}' failed: {down.Reason}"),
                ChildSaFailed failed => ViciCommands.Failure($"establishing CHILD_SA '{child}' failed: {failed.Reason}"),
                _ => ViciCommands.Success(),
            };
    }

    private async Task<ViciSection> TerminateAsync(ViciSection request, ViciCall call)
    {
        var target = new Termination(request.Text("child"), request.Text("ike"), Int(request, "child-id"), Int(request, "ike-id"), ids);
        if (target is { Child: null, Ike: null, ChildId: null, IkeId: null })
        {
            return ViciCommands.Failure("missing terminate selector");
        }

        var timeout = Yes(request, "force") && request.Text("timeout") is null ? null : Timeout(request);
        using var lines = log.ControlLog(call, () => target.Watched, (int)(Int(request, "loglevel") ?? 1));
        daemon.Host.EventRaised += target.Watch;
        try
        {
            var matches = await daemon.Host.Invoke(target.Start).ConfigureAwait(false);
            if (matches == 0)
            {
                return ViciCommands.Failure("no matching SAs to terminate found").Add("matches", "0").Add("terminated", "0");
            }

            if (timeout is { } wait)
            {
                await Task.WhenAny(target.Gone, Task.Delay(wait, call.Aborted)).ConfigureAwait(false);
            }

            var left = timeout is null ? 0 : target.Left;
            var reply = left == 0 ? ViciCommands.Success() : ViciCommands.Failure($"terminating {left} of {matches} SAs timed out");
            return reply.Add("matches", ViciSaViews.Num(matches)).Add("terminated", ViciSaViews.Num(matches - left));
        }
        finally
        {
            daemon.Host.EventRaised -= target.Watch;
        }
    }

    /// <summary>
    /// One terminate: starts the deletes on the engine thread (<see cref="Start"/>) and learns from the engine's events
    /// (<see cref="Watch"/>) when every IKE SA or CHILD SA it started deleting is gone.
    /// </summary>
    private sealed class Termination(string? child, string? ike, long? childId, long? ikeId, ViciChildIds ids)
    {
        private readonly HashSet<(long Ike, uint Child)> _pending = [];
        private readonly TaskCompletionSource _gone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _watched = -1;

        public string? Child => child;

        public string? Ike => ike;

        public long? ChildId => childId;

        public long? IkeId => ikeId;

        /// <summary>The IKE SA whose log lines go to the client as control-log.</summary>
        public long Watched => Volatile.Read(ref _watched);

        public Task Gone => _gone.Task;

        public int Left
        {
            get
            {
                lock (_pending)
                {
                    return _pending.Count;
                }
            }
        }

        /// <summary>Engine thread: starts the deletes; returns the number of SAs matched (an IKE SA and its rekeyed predecessor are one).</summary>
        public int Start(Endpoint e, DateTimeOffset now)
        {
            var n = 0;
            var counted = new HashSet<long>();
            foreach (var sa in e.IkeSas.Where(s => s.State != IkeSaState.Destroyed && (ike is null || s.Config.Name == ike) && (ikeId is null || s.Id == ikeId)).ToList())
            {
                if (child is null && childId is null)
                {
                    Expect(sa.Id, 0);
                    sa.Terminate(now);
                    n += counted.Add(sa.Id) ? 1 : 0;
                    continue;
                }

                foreach (var c in sa.Children.Where(c => (child is null || c.Config.Name == child) && (childId is null || ids.Is(c.InboundSpi, childId.Value))).ToList())
                {
                    Expect(sa.Id, c.InboundSpi);
                    n += sa.DeleteChild(now, c.InboundSpi) ? 1 : 0;
                }
            }

            return n;
        }

        private void Expect(long ikeSa, uint inboundSpi)
        {
            lock (_pending)
            {
                _pending.Add((ikeSa, inboundSpi));
            }

            Volatile.Write(ref _watched, ikeSa);
        }

        /// <summary>Engine thread (IkeHost.EventRaised): an SA this terminate waits for is gone.</summary>
        public void Watch(EngineEvent e)
        {
            lock (_pending)
            {
                var removed = e switch
                {
                    IkeSaDown d => _pending.RemoveWhere(p => p.Ike == d.IkeSaId),
                    ChildSaRemove r => _pending.RemoveWhere(p => p.Ike == r.IkeSaId && p.Child == r.InboundSpi),
                    _ => 0,
                };
                if (removed > 0 && _pending.Count == 0)
                {
                    _gone.TrySetResult();
                }
            }
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
