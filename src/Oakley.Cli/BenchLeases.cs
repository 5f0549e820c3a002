using System.Net;
using Oakley.Engine;

namespace Oakley.Cli;

/// <summary>What a bench run established, and for remote access the virtual IPs behind it.</summary>
/// <param name="Count">Handshakes measured.</param>
/// <param name="Established">Of those, how many installed their CHILD SA at the initiator.</param>
/// <param name="Clients">Every IKE SA the run started, warm-up included.</param>
/// <param name="VipsAssigned">Virtual IPs the clients were assigned (CFG_REPLY), warm-up included.</param>
/// <param name="DistinctVips">How many of those differ.</param>
/// <param name="ResponderDistinctVips">Distinct virtual IPs on the gateway's IKE SAs.</param>
/// <param name="LeasesOnline">The gateway pool's leases online at the end.</param>
internal sealed record BenchResult(int Count, long Established, int Clients, int VipsAssigned, int DistinctVips, int ResponderDistinctVips, int LeasesOnline)
{
    /// <summary>Every handshake established, and (remote access) every client holds a lease of its own.</summary>
    public bool Complete(bool remoteAccess) => Established == Count
        && (!remoteAccess || (VipsAssigned == Clients && DistinctVips == Clients && ResponderDistinctVips == Clients && LeasesOnline == Clients));

    public void Print(TextWriter output, bool remoteAccess)
    {
        if (remoteAccess)
        {
            output.WriteLine($"  virtual IPs assigned: {VipsAssigned} to {Clients} clients (warm-up included), {DistinctVips} distinct; on the gateway's IKE SAs {ResponderDistinctVips} distinct");
            output.WriteLine($"  leases online at the end: {LeasesOnline}");
        }
    }
}

/// <summary>Collects the virtual IPs the initiator's clients were assigned (from the engine's events; any thread).</summary>
internal sealed class BenchLeases
{
    private readonly Lock _lock = new();
    private readonly List<IPAddress> _assigned = [];

    public void Note(EngineEvent e)
    {
        if (e is VirtualIpsAssigned v)
        {
            lock (_lock)
            {
                _assigned.AddRange(v.Addresses);
            }
        }
    }

    /// <summary>The result, with the gateway's side read from <paramref name="responder"/> (on its own thread).</summary>
    public BenchResult Result(int count, long established, int clients, Endpoint responder)
    {
        ArgumentNullException.ThrowIfNull(responder);
        int assigned, distinct;
        lock (_lock)
        {
            assigned = _assigned.Count;
            distinct = _assigned.Distinct().Count();
        }

        var onGateway = responder.IkeSas.SelectMany(sa => sa.PeerVirtualIps ?? []).Distinct().Count();
        var online = responder.Pools.Pools.Sum(p => p.Online);
        return new BenchResult(count, established, clients, assigned, distinct, onGateway, online);
    }
}
