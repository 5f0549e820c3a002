using System.Collections;
using System.Net;

namespace Oakley.Host.Systemd;

/// <summary>
/// The IKE SA a log line is about, as a logging scope: the engine thread opens one around the lines of each event
/// (its own line and those the event's handlers write: virtual IPs, traps, RADIUS accounting), so the journal's
/// IKE_SA_NAME, IKE_SA_UNIQUE_ID and PEER_ADDRESS come from data, for lines whose text does not name the peer too.
/// Message templates use the same property names (<see cref="NameKey"/>, <see cref="IdKey"/>, <see cref="PeerKey"/>).
/// </summary>
public sealed class IkeSaLogScope(string? name, long id, IPEndPoint? peer) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string NameKey = "IkeSaName";
    public const string IdKey = "IkeSaId";
    public const string PeerKey = "Peer";

    private readonly KeyValuePair<string, object?>[] _items =
    [
        .. name is null ? Array.Empty<KeyValuePair<string, object?>>() : [new(NameKey, name)],
        new(IdKey, id),
        .. peer is null ? Array.Empty<KeyValuePair<string, object?>>() : [new(PeerKey, peer)],
    ];

    public int Count => _items.Length;

    public KeyValuePair<string, object?> this[int index] => _items[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>As strongSwan prefixes its lines: <c>[name|id]</c>.</summary>
    public override string ToString() => $"[{name}|{id}]";
}
