using System.Net;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// MOBIKE (RFC 4555): the initiator moves the IKE SA and its CHILD SAs to a new address of its own with
/// UPDATE_SA_ADDRESSES (NAT_DETECTION_* for the new path, COOKIE2 as a return routability check); the responder moves
/// only on that protected, in-window request, reruns NAT detection and echoes COOKIE2. Additional addresses are stored
/// from every message that lists them. The responder side also answers the NAT detection of a MOBIKE liveness check.
/// </summary>
internal sealed class MobikeTask : IInitiatorTask, IResponderTask
{
    private readonly IkeSa _sa;
    private readonly List<IkePayload> _reply = [];
    private byte[] _cookie2 = [];

    private MobikeTask(IkeSa sa) => _sa = sa;

    /// <summary>Our UPDATE_SA_ADDRESSES (RFC 4555 §3.5).</summary>
    public static MobikeTask Update(IkeSa sa) => new(sa);

    /// <summary>The responder's MOBIKE part of every INFORMATIONAL request.</summary>
    public static MobikeTask Responder(IkeSa sa) => new(sa);

    public ExchangeType Exchange => ExchangeType.Informational;

    public bool DecidesPath => true;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        _cookie2 = new byte[16];
        _sa.Services.Entropy.Fill(_cookie2);
        var source = _sa.Path.SourceAddress;
        request.Add(new NotifyPayload(NotifyType.UpdateSaAddresses));
        request.AddRange(NatDetectionTask.Pair(_sa, _sa.SpiI, _sa.SpiR,
            _sa.Config.ForceEncapsulation || source is null ? null : new IPEndPoint(source, _sa.Local.Port)));
        request.Add(new NotifyPayload(NotifyType.Cookie2, _cookie2));
        return TaskOutcome.Done;
    }

    /// <summary>RFC 4555 §3.5: an answer without our COOKIE2 is not the answer to our update.</summary>
    public void Accept(DateTimeOffset now, Received response)
    {
        if (!response.Payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.Cookie2 && n.Data.Span.SequenceEqual(_cookie2)))
        {
            throw IkeProtocolException.Drop("UPDATE_SA_ADDRESSES response without our COOKIE2");
        }
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        var notifies = response.Payloads.OfType<NotifyPayload>().ToList();
        if (notifies.FirstOrDefault(n => n.NotifyType.IsError()) is { } error)
        {
            // UNEXPECTED_NAT_DETECTED (we sent no NO_NATS_ALLOWED, so unlikely) or anything else: the peer kept the old path.
            _sa.Services.EmitAlert(now, _sa.Id, $"MOBIKE: peer refused the address update: {error.NotifyType}");
            return TaskOutcome.Done;
        }

        var path = _sa.Path;
        var source = notifies.Where(n => n.NotifyType == NotifyType.NatDetectionSourceIp).ToList();
        var destination = notifies.FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp);
        if (source.Count > 0 && destination is not null)
        {
            (path.RemoteBehindNat, path.LocalBehindNat) = NatDetectionTask.Compare(source, destination, _sa.SpiI, _sa.SpiR, _sa.Local, _sa.Remote, path.PathSource);
            path.ObservedMapping = destination.Data.ToArray();
            path.NatDetected = path.LocalBehindNat || path.RemoteBehindNat || _sa.Config.ForceEncapsulation;
        }

        StoreAdditionalAddresses(_sa, response.Payloads);
        _sa.AddressesChanged(now, $"MOBIKE: moved to {path.PathSource ?? _sa.Local.Address}{(path.LocalBehindNat ? " (behind NAT)" : string.Empty)}");
        return TaskOutcome.Done;
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        var payloads = request.Payloads;
        StoreAdditionalAddresses(_sa, payloads);
        var update = payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UpdateSaAddresses);
        if (update)
        {
            RespondUpdate(now, payloads, request.Local, request.Remote);
        }
        else if (_sa.MobikeNegotiated && payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.NatDetectionSourceIp))
        {
            // A MOBIKE initiator's liveness check with NAT detection: tell it the address and port its request
            // came from, so that it notices a NAT that changed its mapping and updates the SA.
            _reply.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, NatDetectionTask.Hash(_sa.SpiI, _sa.SpiR, _sa.Local)));
            _reply.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatDetectionTask.Hash(_sa.SpiI, _sa.SpiR, request.Remote)));
        }

        if (!update && payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.Cookie2) is { } cookie2)
        {
            _reply.Add(new NotifyPayload(NotifyType.Cookie2, cookie2.Data)); // RFC 4555: a return routability check
        }

        return TaskOutcome.Done;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.AddRange(_reply);

    /// <summary>
    /// The responder's side of UPDATE_SA_ADDRESSES (RFC 4555 §3.5): the request is authenticated and new (old and
    /// retransmitted message IDs never get here), so its addresses become the SA's; NAT detection runs again on the
    /// new path; COOKIE2 is echoed. With NO_NATS_ALLOWED and a NAT on the path the update is refused with
    /// UNEXPECTED_NAT_DETECTED.
    /// </summary>
    private void RespondUpdate(DateTimeOffset now, List<IkePayload> request, IPEndPoint local, IPEndPoint remote)
    {
        var notifies = request.OfType<NotifyPayload>().ToList();
        if (!_sa.MobikeNegotiated || _sa.IsOriginalInitiator)
        {
            return; // not negotiated, or the wrong side: an update we must not act on
        }

        var source = notifies.Where(n => n.NotifyType == NotifyType.NatDetectionSourceIp).ToList();
        var destination = notifies.FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp);
        var (peerBehindNat, weBehindNat) = source.Count > 0 && destination is not null
            ? NatDetectionTask.Compare(source, destination, _sa.SpiI, _sa.SpiR, local, remote, null)
            : (false, false);
        if (notifies.Any(n => n.NotifyType == NotifyType.NoNatsAllowed) && (peerBehindNat || weBehindNat))
        {
            _reply.Add(new NotifyPayload(NotifyType.UnexpectedNatDetected));
        }
        else
        {
            var path = _sa.Path;
            var old = path.Remote;
            path.Local = local;
            path.Remote = remote;
            path.RemoteBehindNat = peerBehindNat;
            path.LocalBehindNat = weBehindNat;
            path.NatDetected = peerBehindNat || weBehindNat || _sa.Config.ForceEncapsulation;
            _sa.AddressesChanged(now, $"MOBIKE: remote address changed from {old} to {remote}");
            _reply.AddRange(NatDetectionTask.Notifies(_sa, _sa.SpiI, _sa.SpiR));
        }

        if (notifies.FirstOrDefault(n => n.NotifyType == NotifyType.Cookie2) is { } cookie2)
        {
            _reply.Add(new NotifyPayload(NotifyType.Cookie2, cookie2.Data));
        }
    }

    /// <summary>
    /// The host's view of our addresses changed (or is reported for the first time). As MOBIKE initiator, if the
    /// address this SA uses is gone, or the route to the peer now leaves from another one, move there with
    /// UPDATE_SA_ADDRESSES (RFC 4555 §3.5; queued behind an exchange in flight, window size 1). Returns whether to.
    /// </summary>
    public static bool MoveWanted(DateTimeOffset now, IkeSa sa, IReadOnlyCollection<IPAddress> addresses, IPAddress? routeSource)
    {
        var path = sa.Path;
        var current = path.SourceAddress;
        var family = sa.Remote.Address.AddressFamily;
        var wanted = routeSource is not null && routeSource.AddressFamily == family && addresses.Contains(routeSource) ? routeSource
            : current is not null && addresses.Contains(current) ? current
            : addresses.FirstOrDefault(a => a.AddressFamily == family && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal);
        if (current is null || !sa.IsOriginalInitiator || !sa.MobikeNegotiated)
        {
            path.PathSource ??= wanted; // learn where we are; only a MOBIKE initiator moves (RFC 4555)
            return false;
        }

        if (wanted is null || wanted.Equals(current))
        {
            return false; // no better address (if ours is gone, DPD or the next exchange decides)
        }

        sa.Services.EmitAlert(now, sa.Id, $"MOBIKE: local address {current} -> {wanted}, requesting address change");
        path.PathSource = wanted;
        if (!PeerPath.IsWildcard(sa.Local.Address))
        {
            path.Local = new IPEndPoint(wanted, sa.Local.Port);
        }

        return true;
    }

    /// <summary>RFC 4555: ADDITIONAL_IP4/6_ADDRESS lists replace the stored ones; NO_ADDITIONAL_ADDRESSES empties them.</summary>
    public static void StoreAdditionalAddresses(IkeSa sa, List<IkePayload> payloads)
    {
        if (!sa.MobikeNegotiated)
        {
            return;
        }

        var notifies = payloads.OfType<NotifyPayload>().ToList();
        var listed = notifies
            .Where(n => (n.NotifyType == NotifyType.AdditionalIp4Address && n.Data.Length == 4) || (n.NotifyType == NotifyType.AdditionalIp6Address && n.Data.Length == 16))
            .Select(n => new IPAddress(n.Data.Span))
            .Distinct()
            .Take(16) // bounded: a peer cannot make us store an arbitrary list
            .ToList();
        if (listed.Count > 0)
        {
            sa.Path.PeerAdditionalAddresses = listed;
        }
        else if (notifies.Any(n => n.NotifyType == NotifyType.NoAdditionalAddresses))
        {
            sa.Path.PeerAdditionalAddresses = [];
        }
    }
}
