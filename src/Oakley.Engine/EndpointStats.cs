namespace Oakley.Engine;

/// <summary>Counters an operator reads with <c>oakley stats</c>.</summary>
public sealed class EndpointStats
{
    public long DatagramsReceived { get; internal set; }

    public long DatagramsSent { get; internal set; }

    public long IkeSasEstablished { get; internal set; }

    public long CookiesSent { get; internal set; }

    /// <summary>IKE SAs destroyed because their timer work failed with an unexpected exception (a bug; each is logged).</summary>
    public long TimerFailures { get; internal set; }

    /// <summary>IKE_SA_INIT requests that returned a valid COOKIE while cookies were required.</summary>
    public long CookiesAccepted { get; internal set; }

    /// <summary>IKE_SA_INIT requests whose COOKIE was wrong or stale (answered with a fresh one).</summary>
    public long CookiesRejected { get; internal set; }

    /// <summary>How often the cookie secret was replaced (by age or by use).</summary>
    public long CookieSecretRotations { get; internal set; }

    /// <summary>IKE_SA_INIT requests dropped because their source IP had block_threshold half-open SAs.</summary>
    public long InitBlockedPerIp { get; internal set; }

    /// <summary>IKE_SA_INIT requests dropped because init_limit_half_open half-open SAs existed.</summary>
    public long InitDroppedHalfOpenLimit { get; internal set; }

    /// <summary>The highest number of responder half-open IKE SAs seen at once.</summary>
    public int HalfOpenPeak { get; internal set; }

    public long InvalidKeSent { get; internal set; }

    public long NoProposalChosenSent { get; internal set; }

    /// <summary>IKE fragments (RFC 7383 SKF) sent, retransmissions included.</summary>
    public long FragmentsSent { get; internal set; }

    /// <summary>IKE fragments received that passed their integrity check.</summary>
    public long FragmentsReceived { get; internal set; }

    /// <summary>Messages reassembled from fragments.</summary>
    public long MessagesReassembled { get; internal set; }

    /// <summary>NAT keepalives sent (RFC 3948 §2.3; only while this side is behind a NAT).</summary>
    public long KeepalivesSent { get; internal set; }

    /// <summary>Received messages whose payloads broke the payload rules (missing, repeated or not allowed; see Rules/PayloadRules.cs).</summary>
    public long PayloadRuleViolations { get; internal set; }

    /// <summary>Dropped or rejected datagrams by reason (the first words of the protocol error).</summary>
    public Dictionary<string, long> Dropped { get; } = [];

    internal void Drop(string reason)
    {
        Dropped.TryGetValue(reason, out var n);
        Dropped[reason] = n + 1;
    }
}
