using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// Tells the engine where this host is (MOBIKE, RFC 4555): once a second it reads the host's unicast addresses
/// and, for each address an established IKE SA has its peer at, the source address the kernel would pick towards it (a UDP
/// socket connected to the peer sends nothing but learns its route; it carries Oakley's bypass mark so that the
/// main table answers, not a tunnel route). When either changed since the last look, the engine gets
/// <see cref="Endpoint.LocalAddressesChanged"/>; a MOBIKE initiator whose address went away or whose route now
/// leaves from another address then sends UPDATE_SA_ADDRESSES. Bounded: at most <see cref="MaxPeers"/> probes a
/// second, no processes spawned. The peer addresses are counted from the engine's events (<see cref="Track"/>), so
/// a look costs the engine thread the distinct peers, not a walk over every IKE SA, and an IKE SA coming up wakes
/// the monitor early only when its peer address is new (a gateway taking thousands of SAs from a few NATs or a
/// load tester does not look again per SA).
/// </summary>
internal sealed class LocalAddressMonitor(IkeHost host, ILogger log)
{
    private const int MaxPeers = 256;
    private HashSet<IPAddress> _addresses = [];
    private Dictionary<IPAddress, IPAddress> _routes = [];

    // Engine thread only: each established IKE SA's peer address, and how many SAs each address has.
    private readonly Dictionary<long, IPAddress> _peerOf = [];
    private readonly Dictionary<IPAddress, int> _peers = [];

    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>Look now rather than at the next second (an IKE SA just came up: learn the path it uses at once).</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>Counts the established IKE SAs' peer addresses (engine thread: the daemon's event handler).</summary>
    public void Track(EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up:
                Forget(up.IkeSaId);
                if (Count(up.IkeSaId, up.Remote.Address))
                {
                    EarlyLooks++;
                    Wake(); // a new peer: learn the path to it now, not within the next second
                }

                break;
            case IkeSaAddressesChanged moved when _peerOf.ContainsKey(moved.IkeSaId):
                Forget(moved.IkeSaId);
                Count(moved.IkeSaId, moved.Remote.Address);
                break;
            case IkeSaDown down:
                Forget(down.IkeSaId);
                break;
        }
    }

    /// <summary>The distinct peer addresses of the established IKE SAs (engine thread).</summary>
    internal IReadOnlyCollection<IPAddress> Peers => _peers.Keys;

    /// <summary>How often an IKE SA to a new peer address asked for an early look.</summary>
    internal int EarlyLooks { get; private set; }

    /// <summary>True when <paramref name="address"/> had no established IKE SA before.</summary>
    private bool Count(long ikeSaId, IPAddress address)
    {
        _peerOf[ikeSaId] = address;
        _peers[address] = _peers.GetValueOrDefault(address) + 1;
        return _peers[address] == 1;
    }

    private void Forget(long ikeSaId)
    {
        if (_peerOf.Remove(ikeSaId, out var address) && --_peers[address] == 0)
        {
            _peers.Remove(address);
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await PollAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One failed look must not end the watch (MOBIKE would silently stop following the host).
                    log.LogWarning("address monitor: {Error}", e.Message);
                }

                await _wake.WaitAsync(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PollAsync()
    {
        var peers = await host.Invoke((_, _) => _peers.Keys.Take(MaxPeers).ToList()).ConfigureAwait(false);
        var addresses = LocalAddresses();
        var routes = new Dictionary<IPAddress, IPAddress>();
        foreach (var peer in peers)
        {
            if (RouteSource(peer) is { } source)
            {
                routes[peer] = source;
            }
        }

        if (addresses.SetEquals(_addresses) && routes.Count == _routes.Count && routes.All(kv => _routes.TryGetValue(kv.Key, out var v) && v.Equals(kv.Value)))
        {
            return;
        }

        if (_addresses.Count > 0 && !addresses.SetEquals(_addresses))
        {
            log.LogInformation("local addresses changed: {Addresses}", string.Join(", ", addresses));
        }

        _addresses = addresses;
        _routes = routes;
        host.Post((e, now) => e.LocalAddressesChanged(now, addresses, routes));
    }

    private static HashSet<IPAddress> LocalAddresses()
    {
        var result = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus is OperationalStatus.Down)
                {
                    continue;
                }

                foreach (var a in nic.GetIPProperties().UnicastAddresses)
                {
                    result.Add(a.Address.IsIPv6LinkLocal ? new IPAddress(a.Address.GetAddressBytes()) : a.Address);
                }
            }
        }
        catch (NetworkInformationException)
        {
        }

        return result;
    }

    /// <summary>The source address the kernel picks towards <paramref name="peer"/> (like <c>ip route get</c>), or null without a route.</summary>
    private static IPAddress? RouteSource(IPAddress peer)
    {
        try
        {
            using var probe = new Socket(peer.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            LinuxIo.SetBypassMark((int)probe.SafeHandle.DangerousGetHandle());
            probe.Connect(new IPEndPoint(peer, 4500)); // UDP connect: a route lookup, no packet
            return ((IPEndPoint)probe.LocalEndPoint!).Address;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
