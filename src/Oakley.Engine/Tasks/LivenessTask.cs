using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// Liveness checks and DPD (RFC 7296 §1.4, §2.4): an empty INFORMATIONAL after dpd_delay without inbound traffic, or on
/// the operator's request; if its retransmissions run out, the peer is dead. A MOBIKE initiator behind a NAT adds
/// NAT_DETECTION_* to its DPD (as strongSwan does), so that the answer shows whether the NAT mapped us to a new address
/// or port: with MOBIKE the responder does not follow such a change by itself, so we must send an update.
/// </summary>
internal sealed class LivenessTask(IkeSa sa, bool dpd = true) : InformationalTask(sa)
{
    private bool _natCheck;

    public override TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        _natCheck = dpd && Sa.MobikeNegotiated && Sa.IsOriginalInitiator && Sa.LocalBehindNat;
        if (_natCheck)
        {
            var source = Sa.Path.SourceAddress ?? Sa.Local.Address;
            request.AddRange(NatDetectionTask.Pair(Sa, Sa.SpiI, Sa.SpiR, new System.Net.IPEndPoint(source, Sa.Local.Port)));
        }

        return TaskOutcome.Done;
    }

    /// <summary>The answer to a NAT-checking liveness check: a new (or first) mapping of ours means UPDATE_SA_ADDRESSES.</summary>
    protected override TaskOutcome Completed(DateTimeOffset now, List<IkePayload> response)
    {
        if (!_natCheck || response.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp) is not { } seen)
        {
            return TaskOutcome.Done;
        }

        if (Sa.Path.ObservedMapping is { } known && seen.Data.Span.SequenceEqual(known))
        {
            return TaskOutcome.Done;
        }

        Sa.Path.ObservedMapping = seen.Data.ToArray();
        Sa.Services.EmitAlert(now, Sa.Id, "MOBIKE: the NAT mapping may have changed, requesting address update");
        Sa.Tasks.UpdateWanted = true;
        return TaskOutcome.Done;
    }
}
