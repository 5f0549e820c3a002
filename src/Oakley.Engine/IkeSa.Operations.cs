using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine.Tasks;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>What the endpoint and the operator ask of an SA: start it, answer IKE_SA_INIT, create, rekey or delete CHILD SAs, rekey, check or end the IKE SA (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    /// <summary>Starts an initiator: IKE_SA_INIT (with NAT detection), then IKE_AUTH (with the first CHILD SA, if any).</summary>
    internal void StartInitiator(DateTimeOffset now, ChildConfig? child)
    {
        Touch();
        State = IkeSaState.Connecting;
        Tasks.QueueExchange(new IkeInitTask(this), new NatDetectionTask(this));
        Tasks.QueueExchange(child is null ? [new IkeAuthTask(this), new IkeConfigTask(this)] : [new IkeAuthTask(this), new IkeConfigTask(this), ChildCreateTask.InIkeAuth(this, child)]);
        Tasks.StartNext(now);
    }

    /// <summary>
    /// Answers an IKE_SA_INIT request the endpoint admitted (after its stateless checks and its choice of proposal and
    /// group): the IKE init and NAT detection tasks build the response, the keys are derived, and the response is cached
    /// for retransmissions.
    /// </summary>
    internal byte[] RespondInit(DateTimeOffset now, byte[] request, IkeMessage m, AlgorithmProposal selected, byte proposalNumber)
    {
        Touch();
        State = IkeSaState.Connecting;
        using var init = new IkeInitTask(this, selected, proposalNumber);
        var nat = new NatDetectionTask(this);
        var received = new Received(m, request, m.Payloads, Local, Remote);
        init.ProcessRequest(now, received);
        nat.ProcessRequest(now, received);
        var response = new IkeMessage { InitiatorSpi = SpiI, ResponderSpi = SpiR, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Response, MessageId = 0 };
        init.BuildResponse(now, response.Payloads);
        nat.BuildResponse(now, response.Payloads);
        InitResponse = response.Encode();
        init.Complete();
        Window.Answered(0, [InitResponse]);
        var counters = _services.Counters;
        counters.Message(Config.Name, ExchangeType.IkeSaInit, inbound: true, request: true);
        counters.Message(Config.Name, ExchangeType.IkeSaInit, inbound: false, request: false);
        counters.Outcome(Config.Name, ExchangeType.IkeSaInit, initiator: false, response.Payloads);
        return InitResponse;
    }

    /// <summary>Creates another CHILD SA on this established IKE SA (queued while another exchange is pending).</summary>
    public void CreateChild(DateTimeOffset now, ChildConfig child)
    {
        Touch();
        ArgumentNullException.ThrowIfNull(child);
        Tasks.QueueChild(child);
        Tasks.StartNext(now);
    }

    /// <summary>Starts an INFORMATIONAL exchange deleting this IKE SA (and with it every CHILD SA).</summary>
    public void Terminate(DateTimeOffset now)
    {
        Touch();
        TakePeerIkeRekey()?.TerminateRedundant(now);
        if (State == IkeSaState.Established && !Window.IsFree && !IsRekeyedAway)
        {
            // Window size 1 (RFC 7296 §2.3): the delete goes out when the pending exchange ends. Destroying the SA
            // here would leave the peer holding it until its own DPD gave up on us.
            Tasks.DeleteQueued = true;
            return;
        }

        if (State != IkeSaState.Established || !Window.IsFree)
        {
            Destroy(now, "terminated");
            return;
        }

        State = IkeSaState.Deleting;
        Tasks.Initiate(now, new IkeDeleteTask(this));
    }

    /// <summary>Rekeys this IKE SA now (swanctl --rekey --ike): at once if the window is free, else after the pending exchange.</summary>
    public bool Rekey(DateTimeOffset now)
    {
        Touch();
        if (State != IkeSaState.Established || IsRekeyedAway)
        {
            return false;
        }

        IkeRekeyAt = now;
        Tasks.StartNext(now);
        return true;
    }

    /// <summary>Rekeys the CHILD SA with this inbound SPI now (swanctl --rekey --child), queued behind a pending exchange.</summary>
    public bool RekeyChild(DateTimeOffset now, uint inboundSpi)
    {
        Touch();
        if (State != IkeSaState.Established || _children.FirstOrDefault(c => c.InboundSpi == inboundSpi) is not { Replaced: false } child)
        {
            return false;
        }

        child.RekeyAt = now;
        Tasks.QueueRekey(child);
        Tasks.StartNext(now);
        return true;
    }

    /// <summary>Deletes the CHILD SA with this inbound SPI (swanctl --terminate --child), queued behind a pending exchange.</summary>
    public bool DeleteChild(DateTimeOffset now, uint inboundSpi)
    {
        Touch();
        if (State != IkeSaState.Established || _children.FirstOrDefault(c => c.InboundSpi == inboundSpi) is not { } child || Tasks.IsQueuedForDelete(child))
        {
            return false;
        }

        child.Replaced = true; // on its way out: never rekeyed again; a peer's rekey of it gets TEMPORARY_FAILURE (§2.25.1)
        Tasks.QueueDelete(child);
        Tasks.StartNext(now);
        return true;
    }

    /// <summary>Sends an empty INFORMATIONAL request (a liveness check, RFC 7296 §1.4).</summary>
    public bool SendLivenessCheck(DateTimeOffset now)
    {
        Touch();
        if (State != IkeSaState.Established || !Window.IsFree)
        {
            return false;
        }

        Tasks.Initiate(now, new LivenessTask(this, dpd: false));
        return true;
    }

    /// <summary>
    /// The host's view of our addresses changed (or is reported for the first time): a MOBIKE initiator whose address
    /// went away or whose route changed moves with UPDATE_SA_ADDRESSES (<see cref="MobikeTask"/>).
    /// </summary>
    internal void LocalAddressesChanged(DateTimeOffset now, IReadOnlyCollection<IPAddress> addresses, IPAddress? routeSource)
    {
        Touch();
        if (State != IkeSaState.Established || IsRekeyedAway || !MobikeTask.MoveWanted(now, this, addresses, routeSource))
        {
            return;
        }

        Tasks.UpdateWanted = true;
        Tasks.StartNext(now);
    }
}
