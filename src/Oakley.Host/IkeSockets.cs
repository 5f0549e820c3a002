using System.Net;
using System.Net.Sockets;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The IKE host's UDP sockets, each with what the send path needs found once at bind time (local endpoint,
/// descriptor, family, NAT-T framing), and the one batch the engine thread sends through: every datagram of one
/// engine turn leaves in a sendmmsg per run of the same socket. Engine thread only (sockets are added on it, or
/// before the host starts).
/// </summary>
internal sealed class IkeSockets : IDisposable
{
    private const int BatchSize = 16;
    private const int NonEspMarker = 4;
    private readonly List<Bound> _all = [];
    private readonly DatagramBatch _batch = new(BatchSize, IkeMessageMax + NonEspMarker);
    private int _queued;
    private int _queuedFd = -1;

    /// <summary>The largest IKE message a UDP datagram carries.</summary>
    public const int IkeMessageMax = 65507;

    internal sealed record Bound(Socket Socket, IPEndPoint Local, bool NatT, int Fd, bool Ipv6, bool DualMode);

    public IReadOnlyList<Bound> All => _all;

    public Bound Add(Socket socket, bool natT)
    {
        var bound = new Bound(socket, (IPEndPoint)socket.LocalEndPoint!, natT, (int)socket.SafeHandle.DangerousGetHandle(),
            socket.AddressFamily == AddressFamily.InterNetworkV6, socket.AddressFamily == AddressFamily.InterNetworkV6 && socket.DualMode);
        _all.Add(bound);
        return bound;
    }

    /// <summary>
    /// The socket a datagram from <paramref name="local"/> to a peer of <paramref name="remote"/>'s family leaves
    /// from: the one bound to that address (several local_addrs each have their sockets); else one of that port, of
    /// the peer's family or dual-stack (local_addrs = %any binds [::]); else any of the family. Null if none.
    /// </summary>
    public Bound? For(IPEndPoint local, AddressFamily remote)
    {
        Bound? samePort = null, sameFamily = null;
        foreach (var b in _all)
        {
            if (b.Local.Equals(local))
            {
                return b;
            }

            var fits = b.Socket.AddressFamily == remote || b.DualMode;
            if (fits && samePort is null && b.Local.Port == local.Port)
            {
                samePort = b;
            }

            if (fits)
            {
                sameFamily ??= b;
            }
        }

        return samePort ?? sameFamily;
    }

    /// <summary>
    /// Queues a datagram; it leaves at the next <see cref="Send"/> (or earlier, when the batch is full). False for
    /// a datagram larger than UDP carries (the engine fragments or refuses such messages before this).
    /// </summary>
    public bool Queue(Bound target, Transmit t)
    {
        var marker = target.NatT && !t.NatKeepalive ? NonEspMarker : 0; // RFC 3948 §2.2/§2.3: a keepalive goes as-is
        if (marker + t.Datagram.Length > _batch.SlotSize)
        {
            return false;
        }

        if (_queued == BatchSize || (_queued > 0 && _queuedFd != target.Fd))
        {
            Send();
        }

        var slot = _batch.Slot(_queued);
        slot[..marker].Clear();
        t.Datagram.CopyTo(slot[marker..]);
        _batch.Prepare(_queued, marker + t.Datagram.Length, t.Remote.Address, t.Remote.Port, target.Ipv6);
        _queuedFd = target.Fd;
        _queued++;
        return true;
    }

    /// <summary>Sends what is queued; returns how many datagrams the kernel refused (no route, a full buffer).</summary>
    public int Send()
    {
        if (_queued == 0)
        {
            return 0;
        }

        var refused = _queued - _batch.Send(_queuedFd, 0, _queued);
        _queued = 0;
        return refused;
    }

    public void Dispose()
    {
        foreach (var b in _all)
        {
            b.Socket.Dispose();
        }

        _batch.Dispose();
    }
}
