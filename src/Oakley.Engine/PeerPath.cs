using System.Net;

namespace Oakley.Engine;

/// <summary>
/// Where an SA talks to its peer and what lies between: the addresses and ports, NAT detection's findings, MOBIKE and
/// its additional addresses, and the fragmentation IKE_SA_INIT negotiated. Version-neutral (an IKEv1 SA has the same
/// path state). A rekey's successor takes it whole (<see cref="Clone"/>), instead of copying each field; the old SA
/// keeps its own copy for the delete it still sends.
/// </summary>
internal sealed class PeerPath
{
    public PeerPath(IPEndPoint local, IPEndPoint remote)
    {
        Local = local;
        Remote = remote;
    }

    public IPEndPoint Local { get; set; }

    public IPEndPoint Remote { get; set; }

    /// <summary>NAT detection (RFC 7296 §2.23) found a NAT (or <c>encap = yes</c> faked one).</summary>
    public bool NatDetected { get; set; }

    /// <summary>Our NAT_DETECTION_DESTINATION_IP hash did not match: a NAT in front of us; we send keepalives.</summary>
    public bool LocalBehindNat { get; set; }

    /// <summary>A NAT in front of the peer (or the peer fakes one).</summary>
    public bool RemoteBehindNat { get; set; }

    /// <summary>Both sides sent MOBIKE_SUPPORTED (RFC 4555): addresses change only with UPDATE_SA_ADDRESSES.</summary>
    public bool MobikeNegotiated { get; set; }

    /// <summary>The peer's ADDITIONAL_IP4/6_ADDRESS list (empty after NO_ADDITIONAL_ADDRESSES).</summary>
    public IReadOnlyList<IPAddress> PeerAdditionalAddresses { get; set; } = [];

    /// <summary>The local address the host last reported as the source towards the peer (MOBIKE path tracking).</summary>
    public IPAddress? PathSource { get; set; }

    /// <summary>The hash of our address and port as the responder last saw it (NAT_DETECTION_DESTINATION_IP of its answers).</summary>
    public byte[]? ObservedMapping { get; set; }

    /// <summary>Both sides announced IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (RFC 7383; rekeys inherit it).</summary>
    public bool Fragmentation { get; set; }

    /// <summary>The address we send from: the local one, or for a wildcard local address the source the host reported.</summary>
    public IPAddress? SourceAddress => IsWildcard(Local.Address) ? PathSource : Local.Address;

    public static bool IsWildcard(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    public PeerPath Clone() => (PeerPath)MemberwiseClone();
}
