using Oakley.Engine.Tasks;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// Orders an IKE SA's work and runs its tasks. Work waits for the window (RFC 7296 §2.3, one request at a time) in a
/// fixed order: the first exchanges of an initiator (IKE_SA_INIT, then IKE_AUTH), then a queued delete of the IKE SA,
/// a MOBIKE address update, the IKE rekey, CHILD deletes, CHILD rekeys, new CHILD SAs, and finally the end of a
/// reauthentication. A request is built from every task of its exchange in order; its response goes back to exactly
/// those tasks (<see cref="PendingRequest.Tasks"/>). A peer's request gets the responder tasks its exchange and
/// content call for.
/// </summary>
internal sealed class TaskManager(IkeSa sa)
{
    // Created when first used: an established SA mostly waits with all four empty (issue 14's per-SA budget).
    private Queue<IReadOnlyList<IInitiatorTask>>? _initial;
    private Queue<ChildConfig>? _childQueue;
    private Queue<ChildSa>? _rekeyQueue;
    private Queue<ChildSa>? _deleteQueue;

    /// <summary>Terminate was asked for while an exchange was pending: the delete follows when the window frees.</summary>
    public bool DeleteQueued { get; set; }

    /// <summary>A MOBIKE address update is wanted once the window frees.</summary>
    public bool UpdateWanted { get; set; }

    private IReadOnlyList<IInitiatorTask> Active => sa.Window.Pending?.Tasks ?? [];

    /// <summary>The CHILD SA our pending INFORMATIONAL deletes, if any.</summary>
    public ChildSa? DeletingChild => Active is [ChildDeleteTask d] ? d.Child : null;

    /// <summary>Our CREATE_CHILD_SA for a CHILD SA (new or rekey) in flight, if any.</summary>
    public ChildCreateTask? ChildExchange => Active is [ChildCreateTask c] ? c : null;

    /// <summary>Our IKE rekey is in flight.</summary>
    public bool IkeRekeyActive => Active is [IkeRekeyTask];

    /// <summary>The earliest time queued work wants the window (a queued delete at once, else the IKE rekey).</summary>
    public DateTimeOffset WorkDue(DateTimeOffset createdAt) => DeleteQueued && createdAt < sa.IkeRekeyAt ? createdAt : sa.IkeRekeyAt;

    /// <summary>The first exchanges of an initiator, run in order as the window frees.</summary>
    public void QueueExchange(params IInitiatorTask[] tasks) => (_initial ??= new()).Enqueue(tasks);

    public void QueueChild(ChildConfig child) => (_childQueue ??= new()).Enqueue(child);

    public void QueueRekey(ChildSa child)
    {
        _rekeyQueue ??= new();
        if (!_rekeyQueue.Contains(child))
        {
            _rekeyQueue.Enqueue(child);
        }
    }

    /// <summary>Queues the delete of a CHILD SA unless it is already queued or being deleted.</summary>
    public bool QueueDelete(ChildSa child)
    {
        _deleteQueue ??= new();
        if (DeletingChild == child || _deleteQueue.Contains(child))
        {
            return false;
        }

        _deleteQueue.Enqueue(child);
        return true;
    }

    public bool IsQueuedForDelete(ChildSa child) => DeletingChild == child || _deleteQueue?.Contains(child) == true;

    /// <summary>A rekey's successor takes the queued work of the SA it replaces.</summary>
    public void TakeQueuedWork(TaskManager old)
    {
        Append(ref _childQueue, old._childQueue);
        Append(ref _rekeyQueue, old._rekeyQueue);
        Append(ref _deleteQueue, old._deleteQueue);
        DeleteQueued = old.DeleteQueued;
        (old._childQueue, old._rekeyQueue, old._deleteQueue, old.DeleteQueued) = (null, null, null, false);
    }

    private static void Append<T>(ref Queue<T>? to, Queue<T>? from)
    {
        if (from is { Count: > 0 })
        {
            to ??= new();
            foreach (var item in from)
            {
                to.Enqueue(item);
            }
        }
    }

    /// <summary>Starts the next piece of work if the window is free.</summary>
    public void StartNext(DateTimeOffset now)
    {
        if (!sa.Window.IsFree)
        {
            return;
        }

        if (sa.State == IkeSaState.Connecting && _initial?.TryDequeue(out var first) == true)
        {
            Initiate(now, first);
            return;
        }

        if (sa.State != IkeSaState.Established)
        {
            return;
        }

        if (DeleteQueued)
        {
            DeleteQueued = false;
            sa.Terminate(now);
        }
        else if (UpdateWanted && !sa.IsRekeyedAway)
        {
            UpdateWanted = false;
            Initiate(now, MobikeTask.Update(sa));
        }
        else if (sa.IkeRekeyDue(now))
        {
            Initiate(now, new IkeRekeyTask(sa));
        }
        else if (_deleteQueue?.TryDequeue(out var gone) == true)
        {
            Initiate(now, new ChildDeleteTask(sa, gone));
        }
        else if (NextRekey() is { } old)
        {
            old.Replaced = true;
            Initiate(now, new ChildRekeyTask(sa, old));
        }
        else if (_childQueue?.TryDequeue(out var child) == true)
        {
            Initiate(now, new ChildCreateTask(sa, child));
        }
        else
        {
            sa.FinishReauthentication(now);
        }
    }

    private ChildSa? NextRekey()
    {
        while (_rekeyQueue?.TryDequeue(out var old) == true)
        {
            if (sa.Holds(old) && !old.Replaced)
            {
                return old;
            }
        }

        return null;
    }

    /// <summary>Builds one request from <paramref name="tasks"/> (all of one exchange), sends it and makes it the pending request.</summary>
    public void Initiate(DateTimeOffset now, params IReadOnlyList<IInitiatorTask> tasks) => Initiate(now, tasks, tasks.Count);

    /// <summary>As above, but only the first <paramref name="builders"/> tasks build the request; all of them get its response.</summary>
    private void Initiate(DateTimeOffset now, IReadOnlyList<IInitiatorTask> tasks, int builders)
    {
        var exchange = tasks[0].Exchange;
        var payloads = new List<IkePayload>();
        foreach (var task in tasks.Take(builders))
        {
            if (task.BuildRequest(now, payloads) == TaskOutcome.Failed)
            {
                return;
            }
        }

        List<byte[]> datagrams;
        if (exchange == ExchangeType.IkeSaInit)
        {
            var m = new IkeMessage { InitiatorSpi = sa.SpiI, ResponderSpi = 0, ExchangeType = exchange, Flags = IkeHeaderFlags.Initiator, MessageId = 0 };
            m.Payloads.AddRange(payloads);
            sa.InitRequest = m.Encode();
            sa.Window.NextRequestId = 0;
            datagrams = [sa.InitRequest];
        }
        else
        {
            var header = new IkeMessage
            {
                InitiatorSpi = sa.SpiI,
                ResponderSpi = sa.SpiR,
                ExchangeType = exchange,
                Flags = sa.IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None,
                MessageId = sa.Window.NextRequestId,
            };
            datagrams = sa.ProtectOutbound(header, payloads);
        }

        sa.Window.Sent(now, exchange, tasks, datagrams, sa.Services.Settings.RetransmitTimeout);
        sa.SendAll(now, sa.Local, sa.Remote, datagrams);
        sa.Services.Counters.Message(sa.Config.Name, exchange, inbound: false, request: true);
    }

    /// <summary>Lets each task of the pending request veto a response before anything changes (a drop keeps it pending).</summary>
    public static void AcceptResponse(DateTimeOffset now, PendingRequest pending, Received response)
    {
        foreach (var task in pending.Tasks)
        {
            task.Accept(now, response);
        }
    }

    /// <summary>
    /// The response to the pending request: each of its tasks processes its part in order. A task that needs another
    /// round stops the round, and the exchange is sent again from it and the tasks after it; a failed task has ended
    /// the SA. Then the next queued work starts.
    /// </summary>
    public void ProcessResponse(DateTimeOffset now, PendingRequest pending, Received response)
    {
        sa.Window.Pending = null;
        try
        {
            for (var i = 0; i < pending.Tasks.Count; i++)
            {
                switch (pending.Tasks[i].ProcessResponse(now, response))
                {
                    case TaskOutcome.Failed:
                        return;
                    case TaskOutcome.NeedMore:
                        Initiate(now, pending.Tasks.Skip(i).ToList());
                        return;
                    case TaskOutcome.Continue:
                        Initiate(now, pending.Tasks.Skip(i).ToList(), builders: 1);
                        return;
                }
            }
        }
        finally
        {
            if (sa.State == IkeSaState.Established && pending.Exchange == ExchangeType.IkeAuth)
            {
                sa.ForgetIkeSaInit();
            }

            if (sa.State != IkeSaState.Destroyed)
            {
                StartNext(now);
            }
        }
    }

    /// <summary>
    /// A new request of the peer's: its responder tasks process it in order, then build the response in order. A task
    /// that fails the SA answers alone (<c>Ends</c>: the SA goes once the response is sent).
    /// </summary>
    public (List<IkePayload> Response, bool Ends) Respond(DateTimeOffset now, Received request)
    {
        var tasks = RespondersFor(request);
        var response = new List<IkePayload>();
        for (var i = 0; i < tasks.Length; i++)
        {
            // The tasks after a multi-round one read the exchange's first request (SA, TS, CP are only there).
            var outcome = tasks[i].ProcessRequest(now, i > 0 && FirstAuthRequest is { } first ? first : request);
            if (outcome is TaskOutcome.Failed or TaskOutcome.Continue)
            {
                tasks[i].BuildResponse(now, response);
                if (outcome == TaskOutcome.Failed)
                {
                    EndAuthRounds();
                }
                else
                {
                    FirstAuthRequest ??= request;
                }

                return (response, outcome == TaskOutcome.Failed);
            }
        }

        foreach (var task in tasks)
        {
            task.BuildResponse(now, response);
        }

        if (tasks == _authResponders)
        {
            EndAuthRounds();
        }

        return (response, false);
    }

    /// <summary>The responder tasks of a multi-round IKE_AUTH (EAP), kept from its first request to its last.</summary>
    private IResponderTask[]? _authResponders;

    /// <summary>The first request of a multi-round IKE_AUTH while its rounds go on (its SA, TS and CP payloads).</summary>
    internal Received? FirstAuthRequest { get; private set; }

    private void EndAuthRounds()
    {
        foreach (var task in _authResponders?.OfType<IDisposable>() ?? [])
        {
            task.Dispose();
        }

        (_authResponders, FirstAuthRequest) = (null, null);
    }

    private IResponderTask[] RespondersFor(Received request)
    {
        var exchange = request.Message.ExchangeType;
        return exchange switch
        {
            ExchangeType.IkeAuth when sa.State == IkeSaState.Connecting && !sa.IsOriginalInitiator =>
                _authResponders ??= [new IkeAuthTask(sa), new IkeConfigTask(sa), ChildCreateTask.InIkeAuth(sa)],
            // A client whose EAP method failed reports it in an INFORMATIONAL of its own during the rounds (strongSwan does).
            ExchangeType.Informational when sa.State == IkeSaState.Connecting && _authResponders is not null => [new AuthFailedNoticeTask(sa)],
            ExchangeType.Informational when sa.State is IkeSaState.Established or IkeSaState.Deleting =>
                [new AuthFailedNoticeTask(sa), MobikeTask.Responder(sa), new IkeDeleteTask(sa), new ChildDeleteTask(sa, null)],
            ExchangeType.CreateChildSa when sa.State == IkeSaState.Established => [CreateChildResponder(request.Payloads)],
            ExchangeType.CreateChildSa when sa.State == IkeSaState.Deleting => [new RefuseTask(NotifyType.TemporaryFailure)],
            _ => throw IkeProtocolException.Drop($"{exchange} request not valid in state {sa.State}"),
        };
    }

    /// <summary>CREATE_CHILD_SA carries one of three tasks: an IKE rekey (an IKE proposal), a CHILD rekey (REKEY_SA) or a new CHILD SA.</summary>
    private IResponderTask CreateChildResponder(List<IkePayload> request)
    {
        if (request.OfType<SecurityAssociationPayload>().FirstOrDefault() is { } proposals && proposals.Proposals.Any(p => p.Protocol == ProtocolId.Ike))
        {
            return new IkeRekeyTask(sa);
        }

        return request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.RekeySa) ? new ChildRekeyTask(sa, null) : new ChildCreateTask(sa, null);
    }

    /// <summary>The SA is gone: queued work is dropped, key exchanges of unfinished tasks are freed.</summary>
    public void Clear()
    {
        foreach (var task in Active.Concat(_initial?.SelectMany(t => t) ?? []).OfType<IDisposable>())
        {
            task.Dispose();
        }

        _initial = null;
        EndAuthRounds();
    }

    /// <summary>A responder task that refuses the whole exchange with one notify (a CREATE_CHILD_SA on an SA being closed, §2.25.2).</summary>
    private sealed class RefuseTask(NotifyType notify) : IResponderTask
    {
        public TaskOutcome ProcessRequest(DateTimeOffset now, Received request) => TaskOutcome.Done;

        public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.Add(new NotifyPayload(notify));
    }
}
