using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// One initiation and the event that ends it, for the control socket's and VICI's initiate: the CHILD SA's install
/// or refusal (<see cref="ChildSaFailed"/>: the IKE SA stays up), the IKE SA's failure, or, when no child was asked
/// for, the IKE SA coming up. Subscribed from construction to <see cref="Dispose"/>.
/// </summary>
internal sealed class InitiationWatch : IDisposable
{
    private readonly IkeHost _host;
    private readonly string? _child;
    private readonly TaskCompletionSource<EngineEvent> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _id = -1;

    public InitiationWatch(IkeHost host, string? child)
    {
        _host = host;
        _child = child;
        host.EventRaised += Watch;
    }

    /// <summary>The initiated IKE SA's id, -1 until <see cref="InitiateAsync"/> has run.</summary>
    public long IkeSaId => Volatile.Read(ref _id);

    /// <summary>Completes with the event that ended the initiation.</summary>
    public Task<EngineEvent> Done => _done.Task;

    /// <summary>Initiates <paramref name="connection"/> (and the watched child) and returns the IKE SA's id.</summary>
    public Task<long> InitiateAsync(string connection) => _host.Invoke((e, now) =>
    {
        // The id is set on the engine thread, in the initiation's own work item: the events of the exchange are
        // raised on that thread after it (at the end of the turn or later), so Watch always sees it. Set after the
        // await, on a pool thread, it could come after a fast CHILD SA's install event, which Watch then ignored,
        // and the client timed out.
        Volatile.Write(ref _id, e.Initiate(now, connection, _child));
        return _id;
    });

    public void Dispose() => _host.EventRaised -= Watch;

    private void Watch(EngineEvent e)
    {
        var mine = Volatile.Read(ref _id);
        if (e is ChildSaInstall c && c.IkeSaId == mine || e is ChildSaFailed f && f.IkeSaId == mine || e is IkeSaDown d && d.IkeSaId == mine
            || (_child is null && e is IkeSaUp u && u.IkeSaId == mine))
        {
            _done.TrySetResult(e);
        }
    }
}
