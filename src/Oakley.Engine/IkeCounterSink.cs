using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine;

/// <summary>
/// The message and rekey counters of strongSwan's <c>counters</c> plugin, in its order (which is the order VICI's
/// <c>get-counters</c> lists them in): IKE and CHILD rekeys, invalid messages, and each exchange's requests and
/// responses in both directions.
/// </summary>
public enum IkeCounter
{
    /// <summary>IKE SA rekeys we initiated (counted when the rekey completes).</summary>
    IkeRekeyInit,

    /// <summary>IKE SA rekeys the peer initiated.</summary>
    IkeRekeyResp,

    /// <summary>Completed CHILD SA rekeys (either side).</summary>
    ChildRekey,

    /// <summary>Messages that did not decode (header, payloads) or broke the payload rules.</summary>
    Invalid,

    /// <summary>Messages for an IKE SPI we do not know.</summary>
    InvalidSpi,

    IkeInitInReq,
    IkeInitInResp,
    IkeInitOutReq,
    IkeInitOutResp,
    IkeAuthInReq,
    IkeAuthInResp,
    IkeAuthOutReq,
    IkeAuthOutResp,
    CreateChildInReq,
    CreateChildInResp,
    CreateChildOutReq,
    CreateChildOutResp,
    InfoInReq,
    InfoInResp,
    InfoOutReq,
    InfoOutResp,
}

/// <summary>
/// Where the engine counts what an operator's metrics need and its events do not carry: every IKE message once (not
/// its retransmissions), each exchange's outcome, retransmissions, error notifies, rekeys and rekey collisions. The
/// host implements it with lock-free counters (the engine calls it on its thread; scrapes read from others).
/// <paramref name="connection"/> arguments are the connection's name, null where no connection is known yet (a
/// stateless answer, a message for an unknown SPI).
/// </summary>
public interface IIkeCounterSink
{
    void Count(IkeCounter counter, string? connection);

    /// <summary>
    /// An exchange ended: as <paramref name="initiator"/>, its response was processed; as responder, our response was
    /// sent. <paramref name="error"/>: the first error notify (RFC 7296 §3.10.1, types below 16384) of the response.
    /// </summary>
    void Exchange(string? connection, ExchangeType exchange, bool initiator, NotifyType? error);

    /// <summary>Our request of <paramref name="exchange"/> went unanswered after every retransmission.</summary>
    void ExchangeTimedOut(string? connection, ExchangeType exchange);

    /// <summary>A retransmission: ours of a pending request, or (<paramref name="byPeer"/>) the peer's of its last request, answered from the cache.</summary>
    void Retransmitted(string? connection, ExchangeType exchange, bool byPeer);

    /// <summary>An error notify we sent (<paramref name="sent"/>) or received in a response or an INFORMATIONAL.</summary>
    void ErrorNotify(string? connection, NotifyType notify, bool sent);

    /// <summary>Both sides rekeyed the same SA at once (RFC 7296 §2.8.1, §2.8.2): <paramref name="ikeSa"/> for the IKE SA.</summary>
    void RekeyCollision(string? connection, bool ikeSa);
}

/// <summary>The counters of an engine nobody reads (tests, the CLI's tools): every call is a no-op.</summary>
public sealed class NoIkeCounters : IIkeCounterSink
{
    public static readonly NoIkeCounters Instance = new();

    private NoIkeCounters()
    {
    }

    public void Count(IkeCounter counter, string? connection)
    {
    }

    public void Exchange(string? connection, ExchangeType exchange, bool initiator, NotifyType? error)
    {
    }

    public void ExchangeTimedOut(string? connection, ExchangeType exchange)
    {
    }

    public void Retransmitted(string? connection, ExchangeType exchange, bool byPeer)
    {
    }

    public void ErrorNotify(string? connection, NotifyType notify, bool sent)
    {
    }

    public void RekeyCollision(string? connection, bool ikeSa)
    {
    }
}

/// <summary>How the engine's message paths turn one message into the counters (shared by the SA and the endpoint).</summary>
internal static class IkeCounting
{
    /// <summary>The <see cref="IkeCounter"/> of one message; null for an exchange strongSwan does not count (IKE_INTERMEDIATE, ...).</summary>
    public static IkeCounter? Of(ExchangeType exchange, bool inbound, bool request) => exchange switch
    {
        ExchangeType.IkeSaInit => Pick(IkeCounter.IkeInitInReq, inbound, request),
        ExchangeType.IkeAuth => Pick(IkeCounter.IkeAuthInReq, inbound, request),
        ExchangeType.CreateChildSa => Pick(IkeCounter.CreateChildInReq, inbound, request),
        ExchangeType.Informational => Pick(IkeCounter.InfoInReq, inbound, request),
        _ => null,
    };

    // Each exchange's four counters are in-req, in-resp, out-req, out-resp.
    private static IkeCounter Pick(IkeCounter first, bool inbound, bool request) => first + (inbound ? 0 : 2) + (request ? 0 : 1);

    public static void Message(this IIkeCounterSink sink, string? connection, ExchangeType exchange, bool inbound, bool request)
    {
        if (Of(exchange, inbound, request) is { } c)
        {
            sink.Count(c, connection);
        }
    }

    /// <summary>The first error notify of a message's payloads (RFC 7296 §3.10.1: types 1..16383 are errors).</summary>
    public static NotifyType? FirstError(IEnumerable<Protocol.Ikev2.Payloads.IkePayload> payloads)
    {
        foreach (var p in payloads)
        {
            if (p is Protocol.Ikev2.Payloads.NotifyPayload n && (ushort)n.NotifyType is > 0 and < 16384)
            {
                return n.NotifyType;
            }
        }

        return null;
    }

    /// <summary>Counts a response's outcome and, if it carries one, its error notify.</summary>
    public static void Outcome(this IIkeCounterSink sink, string? connection, ExchangeType exchange, bool initiator, IEnumerable<Protocol.Ikev2.Payloads.IkePayload> response)
    {
        var error = FirstError(response);
        sink.Exchange(connection, exchange, initiator, error);
        if (error is { } e)
        {
            sink.ErrorNotify(connection, e, sent: !initiator);
        }
    }
}
