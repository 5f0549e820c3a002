using System.Net;
using Oakley.Engine;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// A masquerading NAT in front of moon (A) for <see cref="EnginePair.Route"/>: moon's datagrams leave from the
/// public address with a port allocated per inside endpoint; datagrams to a mapped public port go back inside;
/// anything else is lost. <see cref="Flush"/> forgets every mapping (a rebooted NAT, a flushed conntrack table),
/// so that the next datagram gets a new public port.
/// </summary>
internal sealed class SimulatedNat(IPAddress publicAddress, int firstPort = 40000)
{
    private readonly Dictionary<IPEndPoint, IPEndPoint> _out = [];
    private readonly Dictionary<IPEndPoint, IPEndPoint> _in = [];
    private int _nextPort = firstPort;

    public IPAddress PublicAddress { get; } = publicAddress;

    public void Flush()
    {
        _out.Clear();
        _in.Clear();
    }

    public IPEndPoint Map(IPEndPoint inside)
    {
        if (!_out.TryGetValue(inside, out var outside))
        {
            outside = new IPEndPoint(PublicAddress, _nextPort++);
            _out[inside] = outside;
            _in[outside] = inside;
        }

        return outside;
    }

    /// <summary>The route function for a pair whose side A sits behind this NAT at <paramref name="insideA"/>.</summary>
    public Func<bool, Transmit, (IPEndPoint Source, IPEndPoint Destination)?> Route(IPAddress insideA, IPAddress addressB) => (fromA, t) =>
    {
        if (fromA)
        {
            var local = IsWildcard(t.Local.Address) ? new IPEndPoint(insideA, t.Local.Port) : t.Local;
            return (Map(local), t.Remote);
        }

        var source = IsWildcard(t.Local.Address) ? new IPEndPoint(addressB, t.Local.Port) : t.Local;
        return _in.TryGetValue(t.Remote, out var inside) ? (source, inside) : null;
    };

    private static bool IsWildcard(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);
}
