using System.Text.Json.Nodes;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The control socket's commands (docs/cli.md): initiate, terminate, rekey, list-sas, list-conns, list-certs,
/// list-authorities, list-pools, stats and load-all, each answered with one JSON object (list-sas streamed page by page).
/// </summary>
internal sealed class ControlCommands(Daemon daemon)
{
    /// <summary>
    /// IKE SAs per page of a streamed list-sas: each page is one short turn of the engine thread, and its text (about
    /// 800 characters per SA) stays under the GC's large-object threshold (85,000 bytes): pages of 256 were large
    /// objects, and listing 100,000 SAs took 5 to 9 full collections (docs/benchmarks.md).
    /// </summary>
    public const int ListPage = 32;

    public async Task<JsonObject?> HandleAsync(JsonObject request, TextWriter writer)
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
                await ListSasAsync(writer).ConfigureAwait(false);
                return null;
            case "list-conns":
                return WithFailures(StatusViews.ListConns(daemon.Config));
            case "list-certs":
                return await host.Invoke((_, now) => CertificateViews.ListCerts(daemon.Config, now)).ConfigureAwait(false);
            case "list-authorities":
                return CertificateViews.ListAuthorities(daemon.Config);
            case "list-pools":
            {
                var leases = (bool?)request["leases"] ?? false;
                var pools = await host.Invoke((e, _) => PoolViews.Snapshot(e.Pools.Pools, leases)).ConfigureAwait(false);
                return PoolViews.Json(pools);
            }

            case "stats":
                return await host.Invoke((e, _) => StatusViews.Stats(e, daemon.Plane, daemon.DataPath, daemon.Installer, host.LogLinesSuppressed)).ConfigureAwait(false);
            case "load-all":
                return await daemon.ReloadAsync().ConfigureAwait(false);
            default:
                throw new ArgumentException($"unknown command '{cmd}'");
        }
    }

    /// <summary>
    /// list-sas as one JSON line written in pieces: the engine thread takes a snapshot of its IKE SAs (references
    /// only) and then builds <see cref="ListPage"/> entries per turn, so 100,000 SAs never hold it for long and the
    /// response is never built whole in memory. An SA deleted meanwhile is listed as it was when the listing began.
    /// </summary>
    private async Task ListSasAsync(TextWriter writer)
    {
        var host = daemon.Host;
        var sas = await host.Invoke((e, _) => e.IkeSas.ToArray()).ConfigureAwait(false);
        await WriteListingAsync(writer, sas.Length, ListPage, (start, count) =>
            host.Invoke((_, now) => StatusViews.ListSasPage(sas, start, count, now, daemon.Children, daemon.Installer)), daemon.Failures.All().ToJsonString()).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes <c>{"ok":true,"ike-sas":[...],"last-failures":[...]}</c> and a newline, the array's entries fetched
    /// <paramref name="pageSize"/> at a time by <paramref name="page"/> (JSON objects joined by commas; a page may come
    /// back empty); <paramref name="failures"/> is the JSON array of each connection's last failure.
    /// </summary>
    internal static async Task WriteListingAsync(TextWriter writer, int total, int pageSize, Func<int, int, Task<string>> page, string failures = "[]")
    {
        await writer.WriteAsync("{\"ok\":true,\"ike-sas\":[").ConfigureAwait(false);
        var first = true;
        for (var start = 0; start < total; start += pageSize)
        {
            var entries = await page(start, pageSize).ConfigureAwait(false);
            if (entries.Length > 0)
            {
                await writer.WriteAsync(first ? entries : "," + entries).ConfigureAwait(false);
                first = false;
            }
        }

        await writer.WriteLineAsync("],\"last-failures\":" + failures + "}").ConfigureAwait(false);
    }

    /// <summary>Each connection of list-conns with its last failure (null when it has none).</summary>
    private JsonObject WithFailures(JsonObject conns)
    {
        foreach (var c in conns["connections"]!.AsArray())
        {
            c!["last-failure"] = daemon.Failures.Of((string)c["name"]!);
        }

        return conns;
    }

    /// <summary>Initiates and waits (bounded by the request's timeout) until the CHILD SA (or the IKE SA) is up or failed.</summary>
    private async Task<JsonObject> InitiateAsync(JsonObject request)
    {
        var host = daemon.Host;
        var child = (string?)request["child"];
        var ike = (string?)request["ike"] ?? daemon.Config.Connections.FirstOrDefault(c => c.Ike.Children.Any(ch => ch.Name == child))?.Ike.Name
            ?? throw new ArgumentException($"no connection has a child '{child}'");
        var timeout = TimeSpan.FromSeconds((double?)request["timeout"] ?? 30);
        using var watch = new InitiationWatch(host, child);
        var id = await watch.InitiateAsync(ike).ConfigureAwait(false);
        var done = await Task.WhenAny(watch.Done, Task.Delay(timeout)).ConfigureAwait(false);
        if (done != watch.Done || watch.Done.Result is IkeSaDown or ChildSaFailed)
        {
            var error = done != watch.Done ? "timed out" : watch.Done.Result is IkeSaDown down ? down.Reason : ((ChildSaFailed)watch.Done.Result).Reason;
            return new JsonObject { ["ok"] = false, ["error"] = error };
        }

        // What was established, in list-sas's shape (null if the SA went down again meanwhile).
        var view = await host.Invoke((e, now) => e.IkeSas.LastOrDefault(s => s.Id == id) is { } sa
            ? StatusViews.SaJson(sa, now, daemon.Children, daemon.Installer) : null).ConfigureAwait(false);
        return new JsonObject { ["ok"] = true, ["ike-sa-id"] = id, ["ike-sa"] = view };
    }
}
