using Oakley.Engine;

namespace Oakley.Host.Vici;

/// <summary>
/// The engine's events as charon's VICI events (README "ike-updown", "ike-rekey", "child-updown", "child-rekey"), in
/// list-sa's shape: <c>{ up = yes, NAME { ...IKE keys..., child-sas { NAME-ID { ... } } } }</c>. Runs on the engine
/// thread (<see cref="IkeHost.EventRaised"/>), where the live SAs may be read; nothing is built unless a client
/// listens. An SA is gone from the engine's table by the time its down event is seen, so while anyone listens the
/// last IKE section of each SA and the install record of each CHILD SA are kept, and the down events use those (a
/// client that registers after an SA came up gets a down event with the keys the event itself carries).
/// </summary>
internal sealed class ViciEvents(Daemon daemon, ViciServer server, ViciChildIds ids)
{
    private static readonly string[] Names = ["ike-updown", "ike-rekey", "child-updown", "child-rekey"];
    private readonly Dictionary<long, ViciSection> _ikes = [];
    private readonly Dictionary<uint, ChildSaInstall> _children = [];
    private readonly HashSet<uint> _rekeyed = [];

    public void Register()
    {
        foreach (var name in Names)
        {
            server.AddEvent(name);
        }

        daemon.Host.EventRaised += Handle;
    }

    private bool Listened => Names.Any(server.HasListeners);

    /// <summary>Engine thread.</summary>
    internal void Handle(EngineEvent e)
    {
        if (e is ChildSaInstall installed)
        {
            ids.Installed(installed);
        }

        try
        {
            Raise(e);
        }
        finally
        {
            if (e is ChildSaRemove removed)
            {
                ids.Removed(removed.InboundSpi); // after its down event, which names it
            }
        }
    }

    private void Raise(EngineEvent e)
    {
        if (!Listened)
        {
            _ikes.Clear();
            _children.Clear();
            _rekeyed.Clear();
            return;
        }

        switch (e)
        {
            case IkeSaUp up when Live(up.IkeSaId) is { } sa:
                _ikes[up.IkeSaId] = IkeKeys(sa, up.Time);
                server.Raise("ike-updown", () => Wrap(sa.Config.Name, IkeKeys(sa, up.Time), up: true));
                break;
            case IkeSaRekeyed r when Live(r.IkeSaId) is { } sa:
                var old = _ikes.GetValueOrDefault(r.IkeSaId);
                var now = IkeKeys(sa, r.Time);
                _ikes[r.IkeSaId] = now;
                server.Raise("ike-rekey", () =>
                {
                    var m = new ViciSection();
                    m.AddSection(r.Name).AddSection("old", old ?? Minimal(r.IkeSaId, "REKEYED")).AddSection("new", now);
                    return m;
                });
                break;
            case IkeSaDown down:
                var last = _ikes.Remove(down.IkeSaId, out var keys) ? keys : Minimal(down.IkeSaId, "DELETING");
                server.Raise("ike-updown", () => Wrap(down.Name, last, up: false));
                break;
            case ChildSaInstall c:
                OnChildInstalled(c);
                break;
            case ChildSaRemove r:
                OnChildRemoved(r);
                break;
        }
    }

    private void OnChildInstalled(ChildSaInstall install)
    {
        var c = ChildSaTable.WithoutKeys(install);
        _children[c.InboundSpi] = c;
        if (Live(c.IkeSaId) is not { } sa)
        {
            return;
        }

        // A rekey (REKEY_SA, either side) is one child-rekey event; its predecessor's removal then is part of the rekey,
        // not a child-updown. (A predecessor installed before anyone listened has no record: the event is an up then.)
        if (c.RekeysInboundSpi is { } predecessor && _children.TryGetValue(predecessor, out var oldChild) && _rekeyed.Add(predecessor))
        {
            server.Raise("child-rekey", () =>
            {
                var m = new ViciSection();
                var ike = m.AddSection(sa.Config.Name);
                ViciSaViews.AddIke(ike, sa, c.Time);
                var pair = ike.AddSection("child-sas").AddSection(ViciSaViews.ChildKey(c, ids));
                ViciSaViews.AddChild(pair.AddSection("old"), oldChild, sa, c.Time, daemon.Installer, ids, "REKEYED");
                ViciSaViews.AddChild(pair.AddSection("new"), c, sa, c.Time, daemon.Installer, ids);
                return m;
            });
            return;
        }

        server.Raise("child-updown", () => ChildMessage(IkeKeys(sa, c.Time), sa.Config.Name, c, sa, "INSTALLED", up: true, c.Time));
    }

    private void OnChildRemoved(ChildSaRemove r)
    {
        var rekey = _rekeyed.Remove(r.InboundSpi);
        if (!_children.Remove(r.InboundSpi, out var c) || rekey)
        {
            return;
        }

        var sa = Live(r.IkeSaId);
        var ike = sa is not null ? IkeKeys(sa, r.Time) : _ikes.GetValueOrDefault(r.IkeSaId) ?? Minimal(r.IkeSaId, "DELETING");
        server.Raise("child-updown", () => ChildMessage(ike, c.IkeName, c, sa, "DELETED", up: false, r.Time));
    }

    private ViciSection ChildMessage(ViciSection ikeKeys, string name, ChildSaInstall c, IkeSa? sa, string state, bool up, DateTimeOffset now)
    {
        var copy = Copy(ikeKeys);
        ViciSaViews.AddChild(copy.AddSection("child-sas").AddSection(ViciSaViews.ChildKey(c, ids)), c, sa, now, daemon.Installer, ids, state);
        return Wrap(name, copy, up);
    }

    private IkeSa? Live(long id) => daemon.Host.Endpoint.IkeSas.LastOrDefault(s => s.Id == id && s.State != IkeSaState.Destroyed);

    private static ViciSection IkeKeys(IkeSa sa, DateTimeOffset now)
    {
        var s = new ViciSection();
        ViciSaViews.AddIke(s, sa, now);
        return s;
    }

    private static ViciSection Minimal(long id, string state) =>
        new ViciSection().Add("uniqueid", ViciSaViews.Num(id)).Add("version", "2").Add("state", state);

    private static ViciSection Wrap(string name, ViciSection keys, bool up)
    {
        var m = new ViciSection();
        if (up)
        {
            m.Add("up", "yes");
        }

        return m.AddSection(name, keys);
    }

    /// <summary>A shallow copy of the IKE keys (their values are not changed after they are built).</summary>
    private static ViciSection Copy(ViciSection keys)
    {
        var s = new ViciSection();
        foreach (var entry in keys.Entries)
        {
            switch (entry)
            {
                case ViciValue v:
                    s.Add(v.Key, v.Value);
                    break;
                case ViciList l:
                    s.AddList(l.Key, l.Items);
                    break;
                case ViciSubsection sub:
                    s.AddSection(sub.Key, sub.Section);
                    break;
            }
        }

        return s;
    }
}
