using System.Net;
using Oakley.Engine.Pools;
using Oakley.Engine.Tasks;

namespace Oakley.Engine;

/// <summary>What remote access adds to an IKE SA: the EAP identity, the virtual IPs both ways, the pool leases, and a request held for an EAP server.</summary>
public sealed partial class IkeSa
{
    /// <summary>The identity the peer (or we) authenticated as with EAP, null without EAP; pools lease by it.</summary>
    public Identity? EapIdentity { get; internal set; }

    /// <summary>The virtual IPs the gateway assigned us (CFG_REPLY); empty when we asked for none or got none.</summary>
    public IReadOnlyList<IPAddress> LocalVirtualIps { get; internal set; } = [];

    /// <summary>
    /// The virtual IPs we assigned the peer; null when the connection has no pools. Empty: none could be assigned, so
    /// the CHILD SA of IKE_AUTH is not created (INTERNAL_ADDRESS_FAILURE or FAILED_CP_REQUIRED went instead).
    /// </summary>
    public IReadOnlyList<IPAddress>? PeerVirtualIps { get; internal set; }

    /// <summary>The pool leases behind <see cref="PeerVirtualIps"/>; released when the SA goes.</summary>
    internal IReadOnlyList<HeldLease> Leases { get; set; } = [];

    /// <summary>Addresses a RADIUS server assigned (Framed-IP-Address) for the pool name <c>radius</c>.</summary>
    internal IReadOnlyList<IPAddress> AaaAddresses { get; set; } = [];

    /// <summary>The peer announced MULTIPLE_AUTH_SUPPORTED (RFC 4739): in its IKE_SA_INIT response, or its first IKE_AUTH request.</summary>
    internal bool PeerMultipleAuth { get; set; }

    /// <summary>The peer's request an EAP server is still working on (<see cref="Endpoint.Resume"/> takes it up again).</summary>
    internal Received? HeldRequest { get; set; }

    /// <summary>
    /// What <c>dynamic</c> in local_ts stands for: our virtual IPs once assigned; before that, when we request some,
    /// the whole of each requested family (the gateway narrows it to the address it assigns, RFC 7296 §2.9); else our address.
    /// </summary>
    internal IReadOnlyList<TrafficSelectorRange> DynamicLocalTs =>
        LocalVirtualIps.Count > 0 ? LocalVirtualIps.Select(TrafficSelectorRange.Host).ToList()
        : Config.Vips.Count > 0 && IsOriginalInitiator ? Config.Vips.Select(v => TrafficSelectorRange.Parse(v.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "0.0.0.0/0" : "::/0")).Distinct().ToList()
        : [TrafficSelectorRange.Host(Local.Address)];

    /// <summary>What <c>dynamic</c> in remote_ts stands for: the virtual IPs we assigned the peer, else its address.</summary>
    internal IReadOnlyList<TrafficSelectorRange> DynamicRemoteTs =>
        PeerVirtualIps is { } vips ? vips.Select(TrafficSelectorRange.Host).ToList() : [TrafficSelectorRange.Host(Remote.Address)];

    /// <summary>A rekey's successor keeps the virtual IPs and holds the leases too.</summary>
    private void InheritRemoteAccess(IkeSa old)
    {
        EapIdentity = old.EapIdentity;
        LocalVirtualIps = old.LocalVirtualIps;
        PeerVirtualIps = old.PeerVirtualIps;
        Leases = old.Leases;
        _services.Pools.Retain(Leases);
    }

    private void ReleaseLeases()
    {
        _services.Pools.Release(Leases);
        Leases = [];
    }

    /// <summary>The EAP server has its answer: the held request is processed again and answered.</summary>
    internal void Resume(DateTimeOffset now)
    {
        if (HeldRequest is not { } held || State != IkeSaState.Connecting)
        {
            return;
        }

        HeldRequest = null;
        Touch();
        Respond(now, held);
    }
}
