using Oakley.Engine.Eap;
using Oakley.Engine.Pools;
using Oakley.Iana;

namespace Oakley.Engine;

/// <summary>Remote access on the endpoint: the virtual IP pools, the RADIUS relay, and resuming requests held for an EAP server.</summary>
public sealed partial class Endpoint
{
    private readonly Dictionary<long, IkeSa> _held = [];

    /// <summary>The pools and their leases (<c>list-pools</c>).</summary>
    public PoolSet Pools { get; } = new();

    /// <summary>The RADIUS relay for <c>remote.auth = eap-radius</c> (the host's client; null: none configured).</summary>
    public IEapAaa? EapAaa { get; set; }

    /// <summary>swanctl <c>pools</c> at start and on every reload: pools that stay keep their leases.</summary>
    public void SetPools(IReadOnlyList<PoolConfig> pools) => Pools.Set(pools);

    void ISaServices.NoteHeld(IkeSa sa) => _held[sa.Id] = sa;

    /// <summary>An SA that goes while it holds a request (its EAP server disposed, no answer will come) leaves no entry behind.</summary>
    private void ForgetHeld(IkeSa sa)
    {
        if (_held.TryGetValue(sa.Id, out var held) && held == sa)
        {
            _held.Remove(sa.Id);
        }
    }

    /// <summary>How many IKE SAs hold a request for an EAP server (tests assert that none lingers).</summary>
    internal int HeldCount => _held.Count;

    /// <summary>
    /// An EAP server (RADIUS) has the answer that IKE SA <paramref name="ikeSaId"/> waits for: the request it held is
    /// processed again now, instead of at the client's next retransmission. Nothing happens if the SA went or holds nothing.
    /// </summary>
    public void Resume(DateTimeOffset now, long ikeSaId)
    {
        if (!_held.Remove(ikeSaId, out var sa))
        {
            return;
        }

        try
        {
            sa.Resume(now);
        }
        catch (IkeProtocolException e)
        {
            Stats.Drop(e.IsDrop ? e.Message.Split(':')[0] : e.Notify.ToString());
        }
    }
}
