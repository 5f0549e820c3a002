using Oakley.Engine.Tasks;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine;

/// <summary>
/// The message-ID windows of one IKEv2 SA (window size 1, RFC 7296 §2.3): each side numbers its own requests from 0.
/// It holds the pending request with the tasks that built it (its response goes to those tasks, nothing is guessed),
/// the cached last response (a retransmitted request is answered from it), the retransmission schedule, and the
/// partly reassembled fragments of either direction (RFC 7383).
/// </summary>
internal sealed class MessageWindow
{
    /// <summary>The ID our next request carries.</summary>
    public uint NextRequestId { get; set; }

    /// <summary>The ID of the next request of the peer's we accept.</summary>
    public uint ExpectedPeerRequestId { get; set; }

    public PendingRequest? Pending { get; set; }

    /// <summary>Our last response and its message ID (all its fragments).</summary>
    public (uint MessageId, List<byte[]> Datagrams)? LastResponse { get; set; }

    public FragmentReassembly? RequestFragments { get; set; }

    public FragmentReassembly? ResponseFragments { get; set; }

    public bool IsFree => Pending is null;

    /// <summary>Records a request as sent with the next message ID and moves the ID on.</summary>
    public PendingRequest Sent(DateTimeOffset now, ExchangeType exchange, IReadOnlyList<IInitiatorTask> tasks, List<byte[]> datagrams, TimeSpan timeout)
    {
        Pending = new PendingRequest { MessageId = NextRequestId, Datagrams = datagrams, Exchange = exchange, Tasks = tasks, Deadline = now + timeout };
        NextRequestId++;
        return Pending;
    }

    /// <summary>Whether <paramref name="m"/> is a retransmission of the request our cached response answers.</summary>
    public bool IsRetransmittedRequest(IkeMessage m) => LastResponse is { } last && m.MessageId == last.MessageId;

    /// <summary>Throws a drop unless <paramref name="m"/> is the response to the pending request.</summary>
    public PendingRequest CheckResponse(IkeMessage m)
    {
        if (Pending is not { } p || m.MessageId != p.MessageId || m.ExchangeType != p.Exchange)
        {
            throw IkeProtocolException.Drop($"unexpected {m.ExchangeType} response with message ID {m.MessageId}");
        }

        return p;
    }

    /// <summary>Throws a drop unless <paramref name="m"/> is the next request we expect.</summary>
    public void CheckRequest(IkeMessage m)
    {
        if (m.MessageId != ExpectedPeerRequestId)
        {
            throw IkeProtocolException.Drop($"request with message ID {m.MessageId}, expected {ExpectedPeerRequestId}");
        }
    }

    /// <summary>Caches the response to request <paramref name="messageId"/> and moves the expected ID past it.</summary>
    public void Answered(uint messageId, List<byte[]> datagrams)
    {
        LastResponse = (messageId, datagrams);
        ExpectedPeerRequestId = messageId + 1;
    }

    /// <summary>The earliest of the retransmission and reassembly deadlines.</summary>
    public DateTimeOffset Deadline
    {
        get
        {
            var d = Pending?.Deadline ?? DateTimeOffset.MaxValue;
            d = RequestFragments is { Deadline: var rq } && rq < d ? rq : d;
            return ResponseFragments is { Deadline: var rs } && rs < d ? rs : d;
        }
    }

    /// <summary>Drops reassemblies that timed out; true if any did.</summary>
    public bool ExpireFragments(DateTimeOffset now) => (RequestFragments?.Expire(now) == true) | (ResponseFragments?.Expire(now) == true);

    /// <summary>The SA is gone: nothing is pending or half reassembled any more.</summary>
    public void Clear()
    {
        Pending = null;
        RequestFragments?.Clear();
        ResponseFragments?.Clear();
    }
}

/// <summary>A request in flight: what was sent, the tasks that built it, and its retransmission state.</summary>
internal sealed class PendingRequest
{
    public required uint MessageId { get; init; }

    /// <summary>The request as sent: one datagram, or all its fragments (a retransmission resends them all).</summary>
    public required List<byte[]> Datagrams { get; set; }

    public required ExchangeType Exchange { get; init; }

    /// <summary>The tasks that built this request; its response is processed by them, in this order.</summary>
    public required IReadOnlyList<IInitiatorTask> Tasks { get; init; }

    public int Retransmits { get; set; }

    public DateTimeOffset Deadline { get; set; }

    /// <summary>A task of this request decides the SA's addresses itself: its response must not move the SA.</summary>
    public bool DecidesPath
    {
        get
        {
            foreach (var task in Tasks)
            {
                if (task.DecidesPath)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>This request deletes the IKE SA: its response (or the peer's INVALID_IKE_SPI) ends the SA.</summary>
    public bool DeletesIkeSa => Tasks.Count == 1 && Tasks[0] is IkeDeleteTask;
}
