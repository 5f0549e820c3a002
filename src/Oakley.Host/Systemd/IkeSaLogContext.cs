using System.Net;
using Oakley.Engine;

namespace Oakley.Host.Systemd;

/// <summary>
/// The name and peer of each established IKE SA by unique ID, learnt from the engine's events (IKE_SA up, CHILD_SA
/// installed, addresses changed by MOBIKE or NAT) and forgotten when it goes, so that every event's log lines get a
/// full <see cref="IkeSaLogScope"/> even when the event itself carries only the ID (an alert, a removed CHILD_SA).
/// Engine thread only. An alert about an SA that never came up (a failed IKE_AUTH) has its ID and no name or peer.
/// </summary>
internal sealed class IkeSaLogContext
{
    private readonly Dictionary<long, (string Name, IPEndPoint Peer)> _known = [];

    /// <summary>IKE SAs whose name and peer are known (tests).</summary>
    public int Count => _known.Count;

    /// <summary>The scope of <paramref name="e"/>'s lines (null for an event about no IKE SA); call before they are written.</summary>
    public IkeSaLogScope? Enter(EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up:
                _known[up.IkeSaId] = (up.Name, up.Remote);
                return new IkeSaLogScope(up.Name, up.IkeSaId, up.Remote);
            case IkeSaAddressesChanged moved:
                _known[moved.IkeSaId] = (moved.Name, moved.Remote);
                return new IkeSaLogScope(moved.Name, moved.IkeSaId, moved.Remote);
            case ChildSaInstall c:
                return new IkeSaLogScope(c.IkeName, c.IkeSaId, c.Remote);
            case IkeSaDown down:
                return Known(down.IkeSaId, down.Name);
            case IkeSaRekeyed r:
                return Known(r.IkeSaId, r.Name);
            case VirtualIpsLeased l:
                return Known(l.IkeSaId, l.Name);
            case VirtualIpsAssigned a:
                return Known(a.IkeSaId, a.Name);
            case ChildSaFailed f:
                return Known(f.IkeSaId, f.IkeName);
            case ChildSaRemove r:
                return Known(r.IkeSaId, null);
            case Alert a:
                return a.IkeSaId == 0 ? null : Known(a.IkeSaId, null); // 0: before any IKE SA (no config, no proposal)
            default:
                return null;
        }
    }

    /// <summary>Forgets an IKE SA that went; call after its lines were written.</summary>
    public void Leave(EngineEvent e)
    {
        if (e is IkeSaDown down)
        {
            _known.Remove(down.IkeSaId);
        }
    }

    private IkeSaLogScope Known(long id, string? name) =>
        _known.TryGetValue(id, out var k) ? new IkeSaLogScope(name ?? k.Name, id, k.Peer) : new IkeSaLogScope(name, id, null);
}
