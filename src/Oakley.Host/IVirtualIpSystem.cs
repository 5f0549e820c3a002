using System.Net;

namespace Oakley.Host;

/// <summary>
/// What <see cref="VirtualIps"/> asks of the system, behind an interface so that its decisions are tested without
/// a TUN device: the TUN device's addresses (netlink, quick: on the engine thread, before the CHILD SA's routes name
/// the address as their source) and the DNS servers (processes or a file: handed to a worker thread, never waited for).
/// </summary>
internal interface IVirtualIpSystem
{
    void AddAddress(IPAddress address);

    void RemoveAddress(IPAddress address);

    /// <summary>The DNS servers the tunnel's clients use now, in order; empty: restore the system's own.</summary>
    void SetDns(IReadOnlyList<IPAddress> servers);
}
