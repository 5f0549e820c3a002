namespace Oakley.Engine;

/// <summary>One installed CHILD SA pair, as the IKE SA tracks it.</summary>
public sealed class ChildSa
{
    /// <summary>The configuration the CHILD SA runs on (replaced in place by a reload that changes only its lifetimes).</summary>
    public required ChildConfig Config
    {
        get => _config;
        init => _config = value;
    }

    private ChildConfig _config = null!;

    /// <summary>Takes over a reloaded configuration of the same child (only its lifetimes or proposals differ).</summary>
    internal void Reconfigure(ChildConfig config) => _config = config;

    public required uint InboundSpi { get; init; }

    public required uint OutboundSpi { get; init; }

    public required NegotiatedSuite Suite { get; init; }

    public required IReadOnlyList<TrafficSelectorRange> LocalTs { get; init; }

    public required IReadOnlyList<TrafficSelectorRange> RemoteTs { get; init; }

    public required bool TransportMode { get; init; }

    public required DateTimeOffset Installed { get; init; }

    /// <summary>When this side starts rekeying (rekey_time minus a random part of rand_time); MaxValue: never.</summary>
    public DateTimeOffset RekeyAt
    {
        get => _rekeyAt;
        internal set
        {
            _rekeyAt = value;
            Owner?.Touch();
        }
    }

    /// <summary>The hard lifetime (life_time): the SA is deleted then, rekeyed or not.</summary>
    public DateTimeOffset ExpireAt
    {
        get => _expireAt;
        internal set
        {
            _expireAt = value;
            Owner?.Touch();
        }
    }

    /// <summary>A successor exists (or is being negotiated): no further rekey of this one; it is on its way out.</summary>
    public bool Replaced
    {
        get => _replaced;
        internal set
        {
            _replaced = value;
            Owner?.Touch();
        }
    }

    /// <summary>The IKE SA that holds this CHILD SA: its deadline depends on the times above.</summary>
    internal IkeSa? Owner { get; set; }

    private DateTimeOffset _rekeyAt = DateTimeOffset.MaxValue;
    private DateTimeOffset _expireAt = DateTimeOffset.MaxValue;
    private bool _replaced;

    /// <summary>The nonces of a rekey of this SA that the peer started (to resolve a simultaneous rekey, RFC 7296 §2.8.1).</summary>
    internal (byte[] NonceI, byte[] NonceR, ChildSa NewSa)? PeerRekey { get; set; }

    /// <summary>
    /// We created this SA answering the peer's CREATE_CHILD_SA request with this message ID, and the peer has not
    /// yet shown that our answer arrived (its next request does: window size 1). Until then a CHILD_SA_NOT_FOUND
    /// for it means "not yet", not "gone".
    /// </summary>
    internal uint? UnconfirmedSinceRequest { get; set; }
}
