using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The routes into the TUN device (table 220): each remote selector becomes the fewest CIDR prefixes, routed
/// with the host's address inside the local selectors as the source; reference-counted per prefix, since CHILD
/// SAs and traps may share one, and owned by a key (the CHILD SA's inbound SPI, or <see cref="TrapKey"/>). The
/// one owner of table 220: it follows the CHILD SA events itself, and the connection supervisor adds the traps'
/// routes. Engine thread (and the daemon's shutdown, after the engine stopped). The host's addresses (for the
/// route source) are read only when a prefix gets its first route: enumerating the interfaces costs about a dozen
/// system calls, and most CHILD SAs of a gateway reuse prefixes that are routed already.
/// </summary>
internal sealed class TunRoutes(TunDevice tun, ILogger log, Func<List<IPAddress>>? localAddresses = null)
{
    private readonly Func<List<IPAddress>> _localAddresses = localAddresses ?? LocalAddresses;

    /// <summary>
    /// The virtual IP of an IKE SA for a family (<see cref="VirtualIps.PreferredSource"/>): its CHILD SAs' routes use it
    /// as their source (RTA_PREFSRC), since the gateway narrowed the local selectors to it.
    /// </summary>
    public Func<long, bool, IPAddress?>? VirtualSource { get; set; }

    /// <summary>The route owner key of all traps (never an SPI: SPI 0 is reserved).</summary>
    public const uint TrapKey = 0;
    // A prefix's route and how many keys use it; the keys keep its one string (not a copy each), in exact-size arrays.
    private readonly Dictionary<string, Route> _routes = [];
    private readonly Dictionary<uint, string[]> _routesOf = [];

    private sealed class Route(string cidr)
    {
        public string Cidr { get; } = cidr;

        public int Refs { get; set; } = 1;

        /// <summary>The key whose virtual IP the route has as its source (null: none); when it goes, the route goes back to none.</summary>
        public uint? VirtualKey { get; set; }
    }

    /// <summary>A CHILD SA installed routes its remote selectors; one removed drops them (unless another still uses them).</summary>
    public void Handle(EngineEvent e)
    {
        switch (e)
        {
            case ChildSaInstall c:
                Add(c.InboundSpi, c.LocalTs, c.RemoteTs, VirtualSource is { } vs ? ipv6 => vs(c.IkeSaId, ipv6) : null);
                break;
            case ChildSaRemove gone:
                Remove(gone.InboundSpi);
                break;
        }
    }

    /// <summary>
    /// Routes the remote selectors into the device for <paramref name="key"/> (an inbound SPI, or <see cref="TrapKey"/>);
    /// <paramref name="virtualIp"/> gives the IKE SA's virtual IP of a family (true: IPv6), which becomes the source.
    /// </summary>
    public void Add(uint key, IEnumerable<TrafficSelectorRange> localTs, IEnumerable<TrafficSelectorRange> remoteTs, Func<bool, IPAddress?>? virtualIp = null)
    {
        var locals = localTs.ToList();
        List<IPAddress>? owned = null;
        var added = new List<string>();
        foreach (var ts in remoteTs)
        {
            foreach (var cidr in Prefixes(ts))
            {
                var vip = virtualIp?.Invoke(ts.IsIpv6);
                if (_routes.TryGetValue(cidr, out var route))
                {
                    route.Refs++;
                    added.Add(route.Cidr);
                    if (vip is not null && route.VirtualKey is null)
                    {
                        // A trap's route, routed before the virtual IP existed: from now on from the virtual IP.
                        Replace(route, vip, key);
                    }

                    continue;
                }

                if (vip is not null)
                {
                    var fresh = new Route(cidr);
                    if (Replace(fresh, vip, key))
                    {
                        _routes[cidr] = fresh;
                        added.Add(cidr);
                    }

                    continue;
                }

                // The route's source is one of our addresses inside the local selectors (as strongSwan picks it),
                // so that traffic this host originates matches the policy.
                owned ??= _localAddresses();
                var source = owned.FirstOrDefault(a => a.AddressFamily == (ts.IsIpv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork)
                    && locals.Any(l => l.IsIpv6 == ts.IsIpv6 && l.Contains(a)));

                try
                {
                    try
                    {
                        tun.AddRoute(cidr, source);
                    }
                    catch (IOException) when (source is not null)
                    {
                        tun.AddRoute(cidr); // the address went away: route without a preferred source
                    }

                    _routes[cidr] = new Route(cidr);
                    added.Add(cidr);
                }
                catch (IOException e)
                {
                    log.LogWarning("route {Cidr} via {Tun} failed: {Error}", cidr, tun.Name, e.Message);
                }
            }
        }

        _routesOf[key] = _routesOf.TryGetValue(key, out var existing) ? [.. existing, .. added] : [.. added];
    }

    /// <summary>(Re)routes <paramref name="route"/> from the virtual IP <paramref name="vip"/> of <paramref name="key"/>.</summary>
    private bool Replace(Route route, IPAddress vip, uint key)
    {
        try
        {
            tun.AddRoute(route.Cidr, vip);
            route.VirtualKey = key;
            return true;
        }
        catch (IOException e)
        {
            log.LogWarning("route {Cidr} via {Tun} from virtual IP {Vip} failed: {Error}", route.Cidr, tun.Name, vip, e.Message);
            return false;
        }
    }

    /// <summary>The prefixes routed for <paramref name="key"/>.</summary>
    internal IReadOnlyList<string> RoutesOf(uint key) => _routesOf.TryGetValue(key, out var routes) ? routes : [];

    /// <summary>Drops the routes of <paramref name="key"/> (those no other key still uses).</summary>
    public void Remove(uint key)
    {
        if (_routesOf.Remove(key, out var routes))
        {
            foreach (var cidr in routes)
            {
                Release(cidr, key);
            }
        }
    }

    /// <summary>Removes every route (the daemon stops).</summary>
    public void RemoveAll()
    {
        foreach (var cidr in _routes.Keys.ToList())
        {
            tun.RemoveRoute(cidr);
        }

        _routes.Clear();
        _routesOf.Clear();
    }

    private void Release(string cidr, uint key)
    {
        if (!_routes.TryGetValue(cidr, out var route))
        {
            return;
        }

        if (route.Refs > 1)
        {
            route.Refs--;
            if (route.VirtualKey == key)
            {
                // The virtual IP goes with its IKE SA; a trap or another CHILD SA keeps the route, without that source.
                route.VirtualKey = null;
                TryAddRoute(cidr);
            }

            return;
        }

        _routes.Remove(cidr);
        tun.RemoveRoute(cidr);
    }

    private void TryAddRoute(string cidr)
    {
        try
        {
            tun.AddRoute(cidr);
        }
        catch (IOException e)
        {
            log.LogWarning("route {Cidr} via {Tun} failed: {Error}", cidr, tun.Name, e.Message);
        }
    }

    private static List<IPAddress> LocalAddresses()
    {
        try
        {
            return [.. NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address)];
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    /// <summary>The address range of a selector as the fewest CIDR prefixes (routes carry no protocol or ports).</summary>
    public static IEnumerable<string> Prefixes(TrafficSelectorRange ts)
    {
        ArgumentNullException.ThrowIfNull(ts);
        var bits = ts.IsIpv6 ? 128 : 32;
        var start = ToNumber(ts.Start);
        var end = ToNumber(ts.End);
        var count = 0;
        while (start <= end && count++ < 64)
        {
            // The largest aligned block that starts here and does not pass the end.
            var size = start == 0 ? bits : Math.Min(bits, (int)UInt128.TrailingZeroCount(start));
            while (size > 0 && (size == 128 ? UInt128.MaxValue : (UInt128.One << size) - 1) > end - start)
            {
                size--;
            }

            yield return $"{FromNumber(start, ts.IsIpv6)}/{bits - size}";
            var next = size == 128 ? UInt128.Zero : start + (UInt128.One << size);
            if (next == 0 || (!ts.IsIpv6 && next > uint.MaxValue))
            {
                yield break;
            }

            start = next;
        }
    }

    private static UInt128 ToNumber(IPAddress a)
    {
        var b = a.GetAddressBytes();
        return b.Length == 4 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(b);
    }

    private static IPAddress FromNumber(UInt128 n, bool ipv6)
    {
        var b = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(b, n);
        return new IPAddress(ipv6 ? b : b.AsSpan(12));
    }
}
