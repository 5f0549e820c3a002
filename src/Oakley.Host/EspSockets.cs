using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Esp;

namespace Oakley.Host;

/// <summary>
/// Where sealed ESP leaves: the raw IP protocol 50 sockets this class opens (and owns), or the IKE host's NAT-T
/// sockets for ESP in UDP, whose set is published as one reference (an address bound late adds one). Read by
/// every TUN worker without a lock.
/// </summary>
internal sealed class EspSockets : IDisposable
{
    private readonly IkeHost _host;
    private readonly ILogger _log;
    private readonly int _raw4;
    private readonly int _raw6;
    private long _noSocket;
    private bool _warnedNoRaw;
    private NattSockets _natt = new(null, null);

    /// <summary>The NAT-T sockets ESP in UDP leaves from, swapped as one reference.</summary>
    private sealed record NattSockets((int Fd, bool Ipv6)? V4, (int Fd, bool Ipv6)? V6);

    public EspSockets(IkeHost host, ILogger log)
    {
        _host = host;
        _log = log;
        _raw4 = OpenRaw(AddressFamily.InterNetwork);
        _raw6 = OpenRaw(AddressFamily.InterNetworkV6);
    }

    /// <summary>The raw ESP socket of each family, -1 where none could be opened.</summary>
    public int Raw4 => _raw4;

    public int Raw6 => _raw6;

    public bool RawEsp => _raw4 >= 0 || _raw6 >= 0;

    /// <summary>Whether the kernel takes UDP GSO on the NAT-T sockets (a property of the kernel, not of the socket).</summary>
    public bool UdpGso { get; private set; }

    /// <summary>Sealed packets with no socket to leave from (raw ESP unavailable, or no NAT-T socket of that family).</summary>
    public long NoSocketDrops => Volatile.Read(ref _noSocket);

    /// <summary>A raw IP socket for protocol 50 (.NET's Socket refuses protocol numbers it has no name for).</summary>
    private int OpenRaw(AddressFamily family)
    {
        const int sockRaw = 3, ipProtoEsp = 50;
        var fd = LinuxIo.Socket(family == AddressFamily.InterNetworkV6 ? LinuxIo.AfInet6 : LinuxIo.AfInet, sockRaw, ipProtoEsp);
        if (fd >= 0)
        {
            LinuxIo.SetBuffers(fd, EspDataPath.SocketBuffer);
            LinuxIo.SetBypassMark(fd);
        }
        else
        {
            _log.LogWarning("no raw ESP socket for {Family} (errno {Errno}; CAP_NET_RAW?): only ESP in UDP can be carried", family, LinuxIo.Errno);
        }

        return fd;
    }

    /// <summary>Where a policy's ESP leaves: the NAT-T socket (ESP in UDP) or the raw socket of the peer's family.</summary>
    public (int Fd, int Port, bool Ipv6)? Route(Policy policy)
    {
        var peer = policy.Peer;
        if (peer is null)
        {
            return null;
        }

        if (policy.UdpEncapsulation)
        {
            var sockets = Volatile.Read(ref _natt);
            if ((peer.AddressFamily == AddressFamily.InterNetworkV6 ? sockets.V6 : sockets.V4) is { } natt)
            {
                return (natt.Fd, peer.Port, natt.Ipv6);
            }
        }
        else if ((peer.AddressFamily == AddressFamily.InterNetworkV6 ? _raw6 : _raw4) is var raw and >= 0)
        {
            return (raw, 0, peer.AddressFamily == AddressFamily.InterNetworkV6);
        }
        else if (!_warnedNoRaw)
        {
            _warnedNoRaw = true;
            _log.LogWarning("CHILD_SA {Child} uses raw ESP but no raw socket could be opened (CAP_NET_RAW?): its packets are dropped; set encap = yes", policy.Name);
        }

        Interlocked.Increment(ref _noSocket);
        return null;
    }

    /// <summary>
    /// Looks up the host's NAT-T sockets (at start, and on the engine thread when an address that was waited for
    /// got its sockets): the send path only reads the published reference.
    /// </summary>
    public void Refresh()
    {
        var sockets = new NattSockets(_host.NattSocket(AddressFamily.InterNetwork), _host.NattSocket(AddressFamily.InterNetworkV6));
        foreach (var natt in new[] { sockets.V4, sockets.V6 })
        {
            if (natt is { } n && !(n == _natt.V4 || n == _natt.V6))
            {
                LinuxIo.SetBuffers(n.Fd, EspDataPath.SocketBuffer);
                UdpGso |= LinuxIo.SupportsUdpGso(n.Fd);
            }
        }

        Volatile.Write(ref _natt, sockets);
    }

    public void Dispose()
    {
        if (_raw4 >= 0)
        {
            LinuxIo.Close(_raw4);
        }

        if (_raw6 >= 0)
        {
            LinuxIo.Close(_raw6);
        }
    }
}
