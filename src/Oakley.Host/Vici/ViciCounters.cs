using Oakley.Engine;
using Oakley.Host.Counters;

namespace Oakley.Host.Vici;

/// <summary>
/// Where get-counters and reset-counters read strongSwan's counters plugin values (README "get-counters"): the
/// daemon's <see cref="IkeCountersSource"/>, or a test's own.
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
