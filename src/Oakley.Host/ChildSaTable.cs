using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The CHILD SAs installed per IKE SA (by the engine's unique ID), kept from the engine's events for
/// <c>list-sas</c>: the install events carry what the listing shows (selectors, algorithms, times). They are kept
/// without their keys: the data plane has its own copies, and a status table holds no secrets (nor the four key
/// arrays an SA, issue 14's per-SA budget). Written on the engine thread, read by the control socket, hence the lock.
/// </summary>
internal sealed class ChildSaTable
{
    // Exact-size arrays, replaced on a change: an IKE SA mostly holds one CHILD SA, and a List with its spare
    // capacity cost about 60 bytes more per IKE SA (issue 14's per-SA budget).
    private readonly Dictionary<long, ChildSaInstall[]> _children = [];

    public void Handle(EngineEvent e)
    {
        lock (_children)
        {
            switch (e)
            {
                case ChildSaInstall c:
                    _children[c.IkeSaId] = _children.TryGetValue(c.IkeSaId, out var held) ? [.. held, WithoutKeys(c)] : [WithoutKeys(c)];
                    break;
                case ChildSaRemove r when _children.TryGetValue(r.IkeSaId, out var l):
                    _children[r.IkeSaId] = Array.FindAll(l, c => c.InboundSpi != r.InboundSpi);
                    break;
                case IkeSaAddressesChanged moved when _children.TryGetValue(moved.IkeSaId, out var l):
                    _children[moved.IkeSaId] = Array.ConvertAll(l, c => c with { Local = moved.Local, Remote = moved.Remote, UdpEncapsulation = moved.UdpEncapsulation });
                    break;
                case IkeSaDown d:
                    _children.Remove(d.IkeSaId);
                    break;
            }
        }
    }

    internal static ChildSaInstall WithoutKeys(ChildSaInstall c) =>
        c with { InboundEncryptionKey = [], InboundIntegrityKey = [], OutboundEncryptionKey = [], OutboundIntegrityKey = [] };

    /// <summary>
    /// The CHILD SAs <paramref name="sa"/> holds. An IKE SA and its rekeyed predecessor (still waiting for its
    /// delete) share the unique ID: each CHILD SA is listed under the one that holds it.
    /// </summary>
    public List<ChildSaInstall> Of(IkeSa sa)
    {
        lock (_children)
        {
            return _children.TryGetValue(sa.Id, out var l) ? [.. l.Where(c => sa.Children.Any(h => h.InboundSpi == c.InboundSpi))] : [];
        }
    }
}
