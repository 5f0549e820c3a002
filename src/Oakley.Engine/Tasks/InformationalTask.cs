using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// The initiator side shared by our INFORMATIONAL requests (deletes and liveness checks): the answer's additional
/// addresses are stored (RFC 4555), then the task finishes its own part.
/// </summary>
internal abstract class InformationalTask(IkeSa sa) : IInitiatorTask
{
    protected IkeSa Sa { get; } = sa;

    public ExchangeType Exchange => ExchangeType.Informational;

    public abstract TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request);

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        MobikeTask.StoreAdditionalAddresses(Sa, response.Payloads);
        return Completed(now, response.Payloads);
    }

    protected abstract TaskOutcome Completed(DateTimeOffset now, List<IkePayload> response);
}

/// <summary>Deleting the IKE SA (RFC 7296 §1.4.1): our Delete and its empty answer end it; the peer's Delete is answered empty.</summary>
internal sealed class IkeDeleteTask(IkeSa sa) : InformationalTask(sa), IResponderTask
{
    public override TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        request.Add(DeletePayload.ForIke());
        return TaskOutcome.Done;
    }

    protected override TaskOutcome Completed(DateTimeOffset now, List<IkePayload> response)
    {
        Sa.Destroy(now, "deleted");
        return TaskOutcome.Failed;
    }

    /// <summary>A Delete of the IKE SA: the answer is empty (whatever else the request held) and the SA and its CHILD SAs go.</summary>
    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request) =>
        request.Payloads.OfType<DeletePayload>().Any(d => d.Protocol == ProtocolId.Ike) ? TaskOutcome.Failed : TaskOutcome.Done;

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response)
    {
    }
}

/// <summary>
/// Deleting CHILD SAs (RFC 7296 §1.4.1): we list our inbound SPI and the SA leaves when the peer answers with its half.
/// The responder deletes each SA named and answers with its own halves; a delete that crosses ours is answered without
/// one (§2.25.1), and one that crossed an IKE rekey is applied to the successor that now holds the SA.
/// </summary>
internal sealed class ChildDeleteTask(IkeSa sa, ChildSa? child) : InformationalTask(sa), IResponderTask
{
    private readonly List<IkePayload> _reply = [];

    public ChildSa? Child => child;

    public override TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        request.Add(DeletePayload.ForChildSas(ProtocolId.Esp, [child!.InboundSpi]));
        return TaskOutcome.Done;
    }

    protected override TaskOutcome Completed(DateTimeOffset now, List<IkePayload> response)
    {
        if (Sa.Holds(child!))
        {
            Sa.RemoveChild(now, child!);
        }

        return TaskOutcome.Done;
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        foreach (var d in request.Payloads.OfType<DeletePayload>().Where(d => d.Protocol is ProtocolId.Esp or ProtocolId.Ah))
        {
            var ours = new List<uint>();
            foreach (var spi in d.GetSpis32())
            {
                // A delete that crossed an IKE rekey names a CHILD SA that has moved to the successor.
                var owner = Sa.ChildByOutboundSpi(spi) is not null ? Sa : Sa.Successor;
                if (owner?.ChildByOutboundSpi(spi) is { } deleted)
                {
                    // §2.25.1: closing it ourselves as well? Then the answer carries no Delete for it.
                    if (owner.Tasks.DeletingChild != deleted)
                    {
                        ours.Add(deleted.InboundSpi);
                    }

                    owner.RemoveChild(now, deleted);
                }
            }

            if (ours.Count > 0)
            {
                _reply.Add(DeletePayload.ForChildSas(d.Protocol, ours));
            }
        }

        return TaskOutcome.Done;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.AddRange(_reply);
}
