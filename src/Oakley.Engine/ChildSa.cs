namespace Oakley.Engine;

/// <summary>One installed CHILD SA pair, as the IKE SA tracks it.</summary>
public sealed class ChildSa
{
    public required ChildConfig Config { get; init; }

    public required uint InboundSpi { get; init; }

    public required uint OutboundSpi { get; init; }

    public required NegotiatedSuite Suite { get; init; }

    public required IReadOnlyList<TrafficSelectorRange> LocalTs { get; init; }

    public required IReadOnlyList<TrafficSelectorRange> RemoteTs { get; init; }

    public required bool TransportMode { get; init; }

    public required DateTimeOffset Installed { get; init; }

    /// <summary>When this side starts rekeying (rekey_time minus a random part of rand_time); MaxValue: never.</summary>
    public DateTimeOffset RekeyAt { get; internal set; } = DateTimeOffset.MaxValue;

    /// <summary>The hard lifetime (life_time): the SA is deleted then, rekeyed or not.</summary>
    public DateTimeOffset ExpireAt { get; internal set; } = DateTimeOffset.MaxValue;

    /// <summary>A successor exists (or is being negotiated): no further rekey of this one; it is on its way out.</summary>
    public bool Replaced { get; internal set; }

    /// <summary>The nonces of a rekey of this SA that the peer started (to resolve a simultaneous rekey, RFC 7296 §2.8.1).</summary>
    internal (byte[] NonceI, byte[] NonceR, ChildSa NewSa)? PeerRekey { get; set; }

    /// <summary>
    /// We created this SA answering the peer's CREATE_CHILD_SA request with this message ID, and the peer has not
    /// yet shown that our answer arrived (its next request does: window size 1). Until then a CHILD_SA_NOT_FOUND
    /// for it means "not yet", not "gone".
    /// </summary>
    internal uint? UnconfirmedSinceRequest { get; set; }
}
