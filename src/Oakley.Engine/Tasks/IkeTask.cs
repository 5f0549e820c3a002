using System.Net;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>What a task says after its part of a round trip.</summary>
internal enum TaskOutcome
{
    /// <summary>The task is finished.</summary>
    Done,

    /// <summary>
    /// Another round trip of the same exchange is needed (a COOKIE or INVALID_KE_PAYLOAD retry; later EAP and
    /// IKE_INTERMEDIATE rounds): the round stops here, and the exchange is sent again built from every task still active.
    /// </summary>
    NeedMore,

    /// <summary>
    /// Another round trip of the same exchange carried by this task alone (EAP in IKE_AUTH): the tasks after it take
    /// no part in it and wait for the round in which this task is done. As responder the task's response is the whole
    /// answer of the round, and the next request of the exchange comes back to the same task objects.
    /// </summary>
    Continue,

    /// <summary>
    /// The IKE SA ends. On the initiator the task has already ended it (the remaining tasks are not run); on the
    /// responder the task's own response is the whole answer, and the SA ends once it is sent.
    /// </summary>
    Failed,
}

/// <summary>
/// A received message as the tasks see it: the header, the datagram it came in, its payloads (the outer ones for
/// IKE_SA_INIT, the decrypted or reassembled inner ones otherwise) and the addresses it came between.
/// </summary>
internal sealed record Received(IkeMessage Message, byte[] Datagram, List<IkePayload> Payloads, IPEndPoint Local, IPEndPoint Remote);

/// <summary>
/// The initiator side of a task: it contributes payloads to a request and reads its part of the response. One
/// exchange is built from every active task, in a fixed order (IKE_AUTH: authentication, then the CHILD SA).
/// </summary>
internal interface IInitiatorTask
{
    ExchangeType Exchange { get; }

    /// <summary>
    /// The task decides the SA's addresses itself (MOBIKE's UPDATE_SA_ADDRESSES): its response does not move the SA to
    /// where it came from.
    /// </summary>
    bool DecidesPath => false;

    /// <summary>A check before anything changes: throws a drop if the response is not acceptable at all (the request stays pending).</summary>
    void Accept(DateTimeOffset now, Received response)
    {
    }

    /// <summary>Adds this task's payloads to the request; <see cref="TaskOutcome.Failed"/>: the SA was failed instead (nothing is sent).</summary>
    TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request);

    TaskOutcome ProcessResponse(DateTimeOffset now, Received response);
}

/// <summary>The responder side of a task: it reads its part of the request, then adds its payloads to the response.</summary>
internal interface IResponderTask
{
    TaskOutcome ProcessRequest(DateTimeOffset now, Received request);

    void BuildResponse(DateTimeOffset now, List<IkePayload> response);
}
