using System.Collections.Concurrent;
using Oakley.Engine;

namespace Oakley.Host.Counters;

/// <summary>
/// The counters of strongSwan's <c>counters</c> plugin (the set VICI's <c>get-counters</c> and <c>reset-counters</c>
/// work on): IKE and CHILD rekeys, invalid messages, and the requests and responses of each exchange in both
/// directions, once in all and once per connection. The engine counts them on its thread (<see cref="Count"/>); the
/// control socket and the metrics scrape read them from theirs, so an increment is one interlocked add and nothing
/// takes a lock. strongSwan's semantics: the global values and each connection's are separate; resetting the global
/// ones leaves the connections' alone, and resetting a connection forgets it (it is listed again once counted).
/// </summary>
public sealed class IkeCounters
{
    /// <summary>strongSwan's names (vici_query.c), in the order of <see cref="IkeCounter"/>.</summary>
    private static readonly string[] Names =
    [
        "ike-rekey-init", "ike-rekey-resp", "child-rekey", "invalid", "invalid-spi",
        "ike-init-in-req", "ike-init-in-resp", "ike-init-out-req", "ike-init-out-resp",
        "ike-auth-in-req", "ike-auth-in-resp", "ike-auth-out-req", "ike-auth-out-resp",
        "create-child-in-req", "create-child-in-resp", "create-child-out-req", "create-child-out-resp",
        "info-in-req", "info-in-resp", "info-out-req", "info-out-resp",
    ];

    private readonly long[] _global = new long[Names.Length];
    private readonly ConcurrentDictionary<string, long[]> _byConnection = new(StringComparer.Ordinal);

    /// <summary>The counter names in strongSwan's order.</summary>
    public static IReadOnlyList<string> CounterNames => Names;

    /// <summary>strongSwan's name of <paramref name="counter"/>.</summary>
    public static string NameOf(IkeCounter counter) => Names[(int)counter];

    /// <summary>Counts one event, globally and for <paramref name="connection"/> (if known).</summary>
    public void Count(IkeCounter counter, string? connection)
    {
        var i = (int)counter;
        if ((uint)i >= (uint)Names.Length)
        {
            return;
        }

        Interlocked.Increment(ref _global[i]);
        if (connection is not null)
        {
            Interlocked.Increment(ref _byConnection.GetOrAdd(connection, static _ => new long[Names.Length])[i]);
        }
    }

    /// <summary>One value: the global one (<paramref name="connection"/> null) or a connection's (0 if never counted).</summary>
    public long Get(IkeCounter counter, string? connection = null)
    {
        var values = connection is null ? _global : _byConnection.TryGetValue(connection, out var v) ? v : null;
        return values is null ? 0 : Interlocked.Read(ref values[(int)counter]);
    }

    /// <summary>
    /// Every counter as (name, value) in strongSwan's order: the global ones for a null <paramref name="connection"/>,
    /// else that connection's; null for a connection nothing was counted for (VICI: "no counters found for this connection").
    /// </summary>
    public IReadOnlyList<(string Name, long Value)>? Snapshot(string? connection)
    {
        long[]? values = connection is null ? _global : _byConnection.TryGetValue(connection, out var v) ? v : null;
        if (values is null)
        {
            return null;
        }

        var result = new (string, long)[Names.Length];
        for (var i = 0; i < Names.Length; i++)
        {
            result[i] = (Names[i], Interlocked.Read(ref values[i]));
        }

        return result;
    }

    /// <summary>The connections with counters, sorted (strongSwan's get_names; VICI <c>get-counters all</c>).</summary>
    public IReadOnlyList<string> Connections => [.. _byConnection.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// Resets the global counters (<paramref name="connection"/> null; the connections' stay) or forgets one
    /// connection's (strongSwan's reset).
    /// </summary>
    public void Reset(string? connection)
    {
        if (connection is not null)
        {
            _byConnection.TryRemove(connection, out _);
            return;
        }

        for (var i = 0; i < _global.Length; i++)
        {
            Interlocked.Exchange(ref _global[i], 0);
        }
    }

    /// <summary>Forgets every connection's counters; the global ones stay (strongSwan's reset_all, VICI <c>reset-counters all</c>).</summary>
    public void ResetAll() => _byConnection.Clear();
}
