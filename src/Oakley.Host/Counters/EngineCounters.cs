using System.Collections.Concurrent;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Host.Counters;

/// <summary>
/// The daemon's <see cref="IIkeCounterSink"/>: strongSwan's counter set goes to <see cref="Ike"/> (the one source of
/// truth for VICI's get-counters and the metrics' message and rekey counters); what strongSwan does not count (each
/// exchange's outcome, retransmissions, error notifies, rekey collisions) is kept here, keyed by bounded labels (IANA
/// names, "OTHER" for unnamed values). Increments are lock-free (called on the engine thread, read by scrapes).
/// </summary>
public sealed class EngineCounters(IkeCounters ike) : IIkeCounterSink
{
    private readonly ConcurrentDictionary<(string Exchange, bool Initiator, string Result), Cell> _exchanges = new();
    private readonly ConcurrentDictionary<(string Exchange, bool ByPeer), Cell> _retransmits = new();
    private readonly ConcurrentDictionary<(string Notify, bool Sent), Cell> _notifies = new();
    private readonly Cell _ikeCollisions = new();
    private readonly Cell _childCollisions = new();

    public IkeCounters Ike { get; } = ike;

    public void Count(IkeCounter counter, string? connection) => Ike.Count(counter, connection);

    public void Exchange(string? connection, ExchangeType exchange, bool initiator, NotifyType? error) =>
        Add(_exchanges, (IanaNames.Exchange(exchange), initiator, error is { } e ? IanaNames.Notify(e) : "success"));

    public void ExchangeTimedOut(string? connection, ExchangeType exchange) => Add(_exchanges, (IanaNames.Exchange(exchange), true, "timeout"));

    public void Retransmitted(string? connection, ExchangeType exchange, bool byPeer) => Add(_retransmits, (IanaNames.Exchange(exchange), byPeer));

    public void ErrorNotify(string? connection, NotifyType notify, bool sent) => Add(_notifies, (IanaNames.Notify(notify), sent));

    public void RekeyCollision(string? connection, bool ikeSa) => Interlocked.Increment(ref (ikeSa ? _ikeCollisions : _childCollisions).Value);

    /// <summary>Exchanges by type, our role and result ("success", "timeout", or the response's error notify).</summary>
    public IEnumerable<((string Exchange, bool Initiator, string Result) Key, long Value)> Exchanges => Read(_exchanges);

    /// <summary>Retransmissions by exchange: ours (<c>ByPeer</c> false) and the peer's, answered from the cache.</summary>
    public IEnumerable<((string Exchange, bool ByPeer) Key, long Value)> Retransmissions => Read(_retransmits);

    /// <summary>Error notifies sent and received, by IANA name.</summary>
    public IEnumerable<((string Notify, bool Sent) Key, long Value)> ErrorNotifies => Read(_notifies);

    public long IkeRekeyCollisions => Interlocked.Read(ref _ikeCollisions.Value);

    public long ChildRekeyCollisions => Interlocked.Read(ref _childCollisions.Value);

    private static void Add<TKey>(ConcurrentDictionary<TKey, Cell> cells, TKey key)
        where TKey : notnull =>
        Interlocked.Increment(ref cells.GetOrAdd(key, static _ => new Cell()).Value);

    private static IEnumerable<(TKey, long)> Read<TKey>(ConcurrentDictionary<TKey, Cell> cells)
        where TKey : notnull =>
        cells.Select(kv => (kv.Key, Interlocked.Read(ref kv.Value.Value)));

    private sealed class Cell
    {
        public long Value;
    }
}
