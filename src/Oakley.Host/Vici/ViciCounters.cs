using Oakley.Engine;
using Oakley.Host.Counters;

namespace Oakley.Host.Vici;

/// <summary>
/// Where get-counters and reset-counters read strongSwan's counters plugin values (README "get-counters"). The
/// daemon passes one to <see cref="ViciRegistry.Create"/>: the <c>IkeCounters</c> type of issue 17's metrics work is
/// meant to implement it (the wiring point is <see cref="ViciRegistry.Create"/>'s <c>counters</c> argument); until
/// then <see cref="EndpointStatsCounters"/> answers from the engine's <see cref="EndpointStats"/>.
/// </summary>
internal interface IViciCounterSource
{
    /// <summary>The counters of a connection (null: the global ones) by strongSwan's names, or null if it has none.</summary>
    Task<IReadOnlyDictionary<string, ulong>?> GetAsync(string? connection);

    /// <summary>The connections that have counters.</summary>
    Task<IReadOnlyList<string>> NamesAsync();

    /// <summary>Resets the counters of a connection (null: the global ones), or all of them.</summary>
    Task ResetAsync(string? connection, bool all);
}

/// <summary>
/// The counters the engine already keeps, under strongSwan's names: global only (EndpointStats has no per-connection
/// counts); names Oakley does not count are 0. Reset is a baseline subtracted from later reads, since the engine's
/// statistics are also what <c>oakley stats</c> prints and must not go backwards.
/// </summary>
internal sealed class EndpointStatsCounters(IkeHost host) : IViciCounterSource
{
    private Dictionary<string, ulong> _baseline = [];

    public async Task<IReadOnlyDictionary<string, ulong>?> GetAsync(string? connection)
    {
        if (connection is not null)
        {
            return null;
        }

        var now = await host.Invoke((e, _) => Read(e.Stats)).ConfigureAwait(false);
        var baseline = Volatile.Read(ref _baseline);
        return now.ToDictionary(kv => kv.Key, kv => kv.Value - Math.Min(kv.Value, baseline.GetValueOrDefault(kv.Key)));
    }

    public Task<IReadOnlyList<string>> NamesAsync() => Task.FromResult<IReadOnlyList<string>>([]);

    public async Task ResetAsync(string? connection, bool all)
    {
        if (connection is null || all)
        {
            Volatile.Write(ref _baseline, await host.Invoke((e, _) => Read(e.Stats)).ConfigureAwait(false));
        }
    }

    private static Dictionary<string, ulong> Read(EndpointStats s)
    {
        var counters = ViciCounterCommands.Names.ToDictionary(n => n, _ => 0UL);
        counters["invalid"] = (ulong)Math.Max(0, s.PayloadRuleViolations);
        counters["invalid-spi"] = (ulong)Math.Max(0, s.Dropped.GetValueOrDefault("unknown-spi"));
        return counters;
    }
}

/// <summary>get-counters / reset-counters, answered as charon's vici_query.c does.</summary>
internal static class ViciCounterCommands
{
    /// <summary>strongSwan's counter names (vici_counter_type_names), in its order: the ones <see cref="IkeCounters"/> keeps.</summary>
    public static IReadOnlyList<string> Names => IkeCounters.CounterNames;

    public static void Register(ViciCommands commands, IViciCounterSource source)
    {
        commands.Add("get-counters", (request, _) => GetAsync(request, source));
        commands.Add("reset-counters", async (request, _) =>
        {
            await source.ResetAsync(request.Text("name"), ViciControlCommands.Yes(request, "all")).ConfigureAwait(false);
            return ViciCommands.Success();
        });
    }

    private static async Task<ViciSection> GetAsync(ViciSection request, IViciCounterSource source)
    {
        var reply = new ViciSection();
        var section = reply.AddSection("counters");
        string? error = null;
        if (ViciControlCommands.Yes(request, "all"))
        {
            foreach (var name in await source.NamesAsync().ConfigureAwait(false))
            {
                if (await source.GetAsync(name).ConfigureAwait(false) is { } values)
                {
                    Add(section, name, values);
                }
            }
        }
        else if (await source.GetAsync(request.Text("name")).ConfigureAwait(false) is { } values)
        {
            Add(section, request.Text("name") ?? string.Empty, values);
        }
        else
        {
            error = "no counters found for this connection";
        }

        reply.Add("success", error is null ? "yes" : "no");
        return error is null ? reply : reply.Add("errmsg", error);
    }

    private static void Add(ViciSection counters, string name, IReadOnlyDictionary<string, ulong> values)
    {
        var s = counters.AddSection(name);
        foreach (var n in Names)
        {
            s.Add(n, values.GetValueOrDefault(n).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

/// <summary>
/// get-counters/reset-counters over the daemon's <see cref="Counters.IkeCounters"/>: strongSwan's counters plugin set,
/// global and per connection, the same numbers the Prometheus message and rekey counters are read from.
/// </summary>
internal sealed class IkeCountersSource(Counters.IkeCounters counters) : IViciCounterSource
{
    public Task<IReadOnlyDictionary<string, ulong>?> GetAsync(string? connection) =>
        Task.FromResult<IReadOnlyDictionary<string, ulong>?>(counters.Snapshot(connection) is { } values
            ? values.ToDictionary(v => v.Name, v => (ulong)Math.Max(0, v.Value))
            : null);

    public Task<IReadOnlyList<string>> NamesAsync() => Task.FromResult(counters.Connections);

    public Task ResetAsync(string? connection, bool all)
    {
        if (all)
        {
            counters.ResetAll();
            counters.Reset(null);
        }
        else
        {
            counters.Reset(connection);
        }

        return Task.CompletedTask;
    }
}
