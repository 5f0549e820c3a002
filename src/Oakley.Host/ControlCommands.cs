using System.Text.Json.Nodes;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The control socket's commands (docs/cli.md): initiate, terminate, rekey, list-sas, list-conns, stats and
/// load-all, each answered with one JSON object.
/// </summary>
internal sealed class ControlCommands(Daemon daemon)
{
    public async Task<JsonObject> HandleAsync(JsonObject request)
    {
        var host = daemon.Host;
        var cmd = (string?)request["cmd"] ?? throw new ArgumentException("missing 'cmd'");
        switch (cmd)
        {
            case "initiate":
                return await InitiateAsync(request).ConfigureAwait(false);
            case "terminate":
            {
                var ike = (string?)request["ike"];
                var n = await host.Invoke((e, now) => e.Terminate(now, ike)).ConfigureAwait(false);
                return new JsonObject { ["ok"] = n > 0, ["terminated"] = n };
            }

            case "rekey":
            {
                var ike = (string?)request["ike"];
                var child = (string?)request["child"];
                var reauth = (bool?)request["reauth"] ?? false;
                var n = await host.Invoke((e, now) => e.Rekey(now, ike, child, reauth)).ConfigureAwait(false);
                return new JsonObject { ["ok"] = n > 0, ["started"] = n };
            }

            case "list-sas":
                return await host.Invoke((e, now) => StatusViews.ListSas(e, now, daemon.Children, daemon.Installer)).ConfigureAwait(false);
            case "list-conns":
                return StatusViews.ListConns(daemon.Config);
            case "stats":
                return await host.Invoke((e, _) => StatusViews.Stats(e, daemon.Plane, daemon.DataPath, daemon.Installer, host.LogLinesSuppressed)).ConfigureAwait(false);
            case "load-all":
                return await daemon.ReloadAsync().ConfigureAwait(false);
            default:
                throw new ArgumentException($"unknown command '{cmd}'");
        }
    }

    /// <summary>Initiates and waits (bounded by the request's timeout) until the CHILD SA (or the IKE SA) is up or failed.</summary>
    private async Task<JsonObject> InitiateAsync(JsonObject request)
    {
        var host = daemon.Host;
        var child = (string?)request["child"];
        var ike = (string?)request["ike"] ?? daemon.Config.Connections.FirstOrDefault(c => c.Ike.Children.Any(ch => ch.Name == child))?.Ike.Name
            ?? throw new ArgumentException($"no connection has a child '{child}'");
        var timeout = TimeSpan.FromSeconds((double?)request["timeout"] ?? 30);
        var up = new TaskCompletionSource<EngineEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        long id = -1;
        void Watch(EngineEvent e)
        {
            // The CHILD SA's install or refusal (ChildSaFailed: the IKE SA stays up), the IKE SA's failure, or (with
            // only --ike) the IKE SA coming up ends the wait.
            if (e is ChildSaInstall c && c.IkeSaId == id || e is ChildSaFailed f && f.IkeSaId == id || e is IkeSaDown d && d.IkeSaId == id
                || (child is null && e is IkeSaUp u && u.IkeSaId == id))
            {
                up.TrySetResult(e);
            }
        }

        host.EventRaised += Watch;
        try
        {
            id = await host.Invoke((e, now) => e.Initiate(now, ike, child)).ConfigureAwait(false);
            var done = await Task.WhenAny(up.Task, Task.Delay(timeout)).ConfigureAwait(false);
            if (done != up.Task || up.Task.Result is IkeSaDown or ChildSaFailed)
            {
                var error = done != up.Task ? "timed out" : up.Task.Result is IkeSaDown down ? down.Reason : ((ChildSaFailed)up.Task.Result).Reason;
                return new JsonObject { ["ok"] = false, ["error"] = error };
            }

            // What was established, in list-sas's shape (null if the SA went down again meanwhile).
            var sas = await host.Invoke((e, now) => StatusViews.ListSas(e, now, daemon.Children, daemon.Installer)).ConfigureAwait(false);
            var view = sas["ike-sas"]!.AsArray().LastOrDefault(s => (long?)s!["uniqueid"] == id);
            return new JsonObject { ["ok"] = true, ["ike-sa-id"] = id, ["ike-sa"] = view?.DeepClone() };
        }
        finally
        {
            host.EventRaised -= Watch;
        }
    }
}
