using System.Text.Json.Nodes;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The last failure of each connection: an IKE SA that went down without ever being established, with the most
/// precise reason the engine gave for it (its last alert, e.g. "certificate 'CN=sun' expired on …", else the reason it
/// was deleted with), or a request of the peer we refused as responder (its IKE proposal, its authentication, a CHILD SA). <c>list-sas --json</c> and <c>list-conns --json</c> report it, so an operator sees why a tunnel
/// does not come up without reading the log.
/// </summary>
internal sealed class ConnectionFailures
{
    private readonly Dictionary<long, string> _lastAlert = [];
    private readonly Dictionary<string, (DateTimeOffset Time, string Reason)> _failures = new(StringComparer.Ordinal);

    public void Handle(EngineEvent e)
    {
        lock (_failures)
        {
            switch (e)
            {
                case Alert { RefusedConnection: { } refused } a:
                    // A responder's refusal (see Alert): no IkeSaDown follows for it.
                    _failures[refused] = (a.Time, a.Message);
                    _lastAlert.Remove(a.IkeSaId);
                    break;
                case Alert a:
                    _lastAlert[a.IkeSaId] = a.Message;
                    break;
                case IkeSaUp up:
                    _lastAlert.Remove(up.IkeSaId);
                    break;
                case IkeSaDown { WasEstablished: false } d:
                    _failures[d.Name] = (d.Time, _lastAlert.Remove(d.IkeSaId, out var alert) ? alert : d.Reason);
                    break;
                case IkeSaDown d:
                    _lastAlert.Remove(d.IkeSaId);
                    break;
            }
        }
    }

    /// <summary>The last failure of <paramref name="connection"/>, as JSON (null if it never failed).</summary>
    public JsonObject? Of(string connection)
    {
        lock (_failures)
        {
            return _failures.TryGetValue(connection, out var f) ? Json(connection, f) : null;
        }
    }

    /// <summary>Every connection's last failure.</summary>
    public JsonArray All()
    {
        lock (_failures)
        {
            return new JsonArray(_failures.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (JsonNode)Json(kv.Key, kv.Value)).ToArray());
        }
    }

    private static JsonObject Json(string connection, (DateTimeOffset Time, string Reason) f) => new()
    {
        ["connection"] = connection,
        ["time"] = f.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        ["reason"] = f.Reason,
    };
}
