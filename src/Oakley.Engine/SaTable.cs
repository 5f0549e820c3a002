namespace Oakley.Engine;

/// <summary>
/// The endpoint's IKE SAs and the indexes over them, each kept current as SAs come and go, so that nothing on a
/// per-packet, per-second or per-IKE_AUTH path scans every SA:
/// by local SPI (datagram routing), by the inbound SPI of each CHILD SA (the host's traffic reports, new SPIs),
/// and by the peer's authenticated identity (unique and INITIAL_CONTACT). Only registered SAs are indexed.
/// </summary>
internal sealed class SaTable
{
    private readonly Dictionary<ulong, IkeSa> _bySpi = [];
    private readonly Dictionary<uint, IkeSa> _childOwners = [];
    // Per identity one IkeSa, or a List of them when several share it: most peers authenticate as an identity of
    // their own, and a List per SA cost about 90 bytes (issue 14's per-SA budget).
    private readonly Dictionary<Identity, object> _byRemoteId = [];

    public IReadOnlyCollection<IkeSa> All => _bySpi.Values;

    /// <summary>The CHILD SAs of all IKE SAs (each indexed once by its inbound SPI).</summary>
    public int ChildCount => _childOwners.Count;

    /// <summary>Whether the indexes agree with the SAs and the CHILD SAs they hold (tests check it after every script).</summary>
    public bool IndexesConsistent =>
        _childOwners.Count == _bySpi.Values.Sum(s => s.Children.Count) && _bySpi.Values.All(s => s.Children.All(c => _childOwners.GetValueOrDefault(c.InboundSpi) == s))
        && _byRemoteId.Keys.Sum(id => WithRemoteId(id).Count) == _bySpi.Values.Count(s => s.RemoteIdentity is not null)
        && _bySpi.Values.All(s => s.RemoteIdentity is null || WithRemoteId(s.RemoteIdentity).Contains(s));

    public bool TryGet(ulong localSpi, out IkeSa sa) => _bySpi.TryGetValue(localSpi, out sa!);

    public IkeSa? ChildOwner(uint inboundSpi) => _childOwners.GetValueOrDefault(inboundSpi);

    public bool TryGetChildOwner(uint inboundSpi, out IkeSa sa) => _childOwners.TryGetValue(inboundSpi, out sa!);

    /// <summary>The registered SAs whose peer authenticated as <paramref name="id"/>.</summary>
    public IReadOnlyList<IkeSa> WithRemoteId(Identity id) => _byRemoteId.GetValueOrDefault(id) switch
    {
        IkeSa one => [one],
        List<IkeSa> several => several,
        _ => [],
    };

    public void Add(IkeSa sa)
    {
        _bySpi[sa.LocalSpi] = sa;
        RemoteIdentityChanged(sa, null, sa.RemoteIdentity);
    }

    public void Remove(IkeSa sa)
    {
        RemoteIdentityChanged(sa, sa.RemoteIdentity, null);
        _bySpi.Remove(sa.LocalSpi);
    }

    /// <summary>Records that <paramref name="owner"/> holds the CHILD SA with this inbound SPI (null: it is gone).</summary>
    public void SetChildOwner(uint inboundSpi, IkeSa? owner)
    {
        if (owner is null)
        {
            _childOwners.Remove(inboundSpi);
        }
        else
        {
            _childOwners[inboundSpi] = owner;
        }
    }

    /// <summary>
    /// Moves a registered SA between identity buckets (IkeSa calls it whenever its RemoteIdentity changes); an SA
    /// that is not registered (yet, or any more) is left out, and <see cref="Add"/> indexes it when it comes in.
    /// </summary>
    public void RemoteIdentityChanged(IkeSa sa, Identity? old, Identity? now)
    {
        if (!_bySpi.TryGetValue(sa.LocalSpi, out var registered) || registered != sa)
        {
            return;
        }

        if (old is not null && _byRemoteId.TryGetValue(old, out var held))
        {
            if (held == sa)
            {
                _byRemoteId.Remove(old);
            }
            else if (held is List<IkeSa> several && several.Remove(sa) && several.Count == 1)
            {
                _byRemoteId[old] = several[0];
            }
        }

        if (now is not null)
        {
            _byRemoteId[now] = _byRemoteId.GetValueOrDefault(now) switch
            {
                null => sa,
                IkeSa one when one == sa => one,
                IkeSa one => new List<IkeSa> { one, sa },
                var several => Added((List<IkeSa>)several, sa),
            };
        }
    }

    private static List<IkeSa> Added(List<IkeSa> list, IkeSa sa)
    {
        list.Add(sa);
        return list;
    }
}
