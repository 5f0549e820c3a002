using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Engine.Authentication;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;
/// <summary>MOBIKE (RFC 4555): UPDATE_SA_ADDRESSES, NAT mapping checks and additional addresses (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    // ------------------------------------------------------------------------------------------------
    // MOBIKE (RFC 4555): the initiator moves the IKE SA and its CHILD SAs to a new address of its own
    // ------------------------------------------------------------------------------------------------

    private sealed record UpdateExchange(byte[] Cookie2, IPAddress? Source);

    private UpdateExchange? _update;
    private bool _updateWanted;

    /// <summary>
    /// The host's view of our addresses changed (or is reported for the first time). As MOBIKE initiator, if the
    /// address this SA uses is gone, or the route to the peer now leaves from another one, move there with
    /// UPDATE_SA_ADDRESSES (RFC 4555 §3.5; queued behind an exchange in flight, window size 1).
    /// </summary>
    internal void LocalAddressesChanged(DateTimeOffset now, IReadOnlyCollection<IPAddress> addresses, IPAddress? routeSource)
    {
        Touch();
        if (State != IkeSaState.Established || _rekeyedAway is not null)
        {
            return;
        }

        var current = IsWildcard(Local.Address) ? _pathSource : Local.Address;
        var family = Remote.Address.AddressFamily;
        var wanted = routeSource is not null && routeSource.AddressFamily == family && addresses.Contains(routeSource) ? routeSource
            : current is not null && addresses.Contains(current) ? current
            : addresses.FirstOrDefault(a => a.AddressFamily == family && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal);
        if (current is null || !IsOriginalInitiator || !MobikeNegotiated)
        {
            _pathSource ??= wanted; // learn where we are; only a MOBIKE initiator moves (RFC 4555)
            return;
        }

        if (wanted is null || wanted.Equals(current))
        {
            return; // no better address (if ours is gone, DPD or the next exchange decides)
        }

        _endpoint.EmitAlert(now, Id, $"MOBIKE: local address {current} -> {wanted}, requesting address change");
        _pathSource = wanted;
        if (!IsWildcard(Local.Address))
        {
            Local = new IPEndPoint(wanted, Local.Port);
        }

        _updateWanted = true;
        StartNextChild(now);
    }

    /// <summary>RFC 4555 §3.5: INFORMATIONAL with UPDATE_SA_ADDRESSES, NAT_DETECTION_* for the new path and COOKIE2.</summary>
    private void SendUpdateSaAddresses(DateTimeOffset now)
    {
        var cookie2 = new byte[16];
        _endpoint.Entropy.Fill(cookie2);
        var source = IsWildcard(Local.Address) ? _pathSource : Local.Address;
        _update = new UpdateExchange(cookie2, source);
        var nat = new IkeMessage();
        if (Config.ForceEncapsulation || source is null)
        {
            var fake = new byte[20];
            _endpoint.Entropy.Fill(fake);
            nat.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, fake));
        }
        else
        {
            nat.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(SpiI, SpiR, new IPEndPoint(source, Local.Port))));
        }

        nat.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(SpiI, SpiR, Remote)));
        SendInformational(now, [new NotifyPayload(NotifyType.UpdateSaAddresses), .. nat.Payloads, new NotifyPayload(NotifyType.Cookie2, cookie2)]);
    }

    private void ProcessUpdateSaAddressesResponse(DateTimeOffset now, List<IkePayload> response)
    {
        var notifies = response.OfType<NotifyPayload>().ToList();
        if (notifies.FirstOrDefault(n => n.NotifyType.IsError()) is { } error)
        {
            // UNEXPECTED_NAT_DETECTED (we sent no NO_NATS_ALLOWED, so unlikely) or anything else: the peer kept the old path.
            _endpoint.EmitAlert(now, Id, $"MOBIKE: peer refused the address update: {error.NotifyType}");
            return;
        }

        var source = notifies.Where(n => n.NotifyType == NotifyType.NatDetectionSourceIp).ToList();
        var destination = notifies.FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp);
        if (source.Count > 0 && destination is not null)
        {
            (RemoteBehindNat, LocalBehindNat) = CompareNatHashes(source, destination, SpiI, SpiR, Local, Remote, _pathSource);
            _observedMapping = destination.Data.ToArray();
            NatDetected = LocalBehindNat || RemoteBehindNat || Config.ForceEncapsulation;
        }

        StoreAdditionalAddresses(response);
        _endpoint.Emit(new IkeSaAddressesChanged(now, Id, Config.Name, Local, Remote, UdpEncapsulation,
            $"MOBIKE: moved to {_pathSource ?? Local.Address}{(LocalBehindNat ? " (behind NAT)" : string.Empty)}"));
    }

    /// <summary>
    /// The responder's side of UPDATE_SA_ADDRESSES (RFC 4555 §3.5): the request is authenticated and new (old
    /// and retransmitted message IDs never get here), so its addresses become the SA's; NAT detection runs again
    /// on the new path; COOKIE2 is echoed. With NO_NATS_ALLOWED and a NAT on the path the update is refused
    /// with UNEXPECTED_NAT_DETECTED (RFC 4555).
    /// </summary>
    private List<IkePayload> RespondUpdateSaAddresses(DateTimeOffset now, List<IkePayload> request, IPEndPoint local, IPEndPoint remote)
    {
        var notifies = request.OfType<NotifyPayload>().ToList();
        var response = new List<IkePayload>();
        if (!MobikeNegotiated || IsOriginalInitiator)
        {
            return response; // not negotiated, or the wrong side: an update we must not act on
        }

        var source = notifies.Where(n => n.NotifyType == NotifyType.NatDetectionSourceIp).ToList();
        var destination = notifies.FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp);
        var (peerBehindNat, weBehindNat) = source.Count > 0 && destination is not null
            ? CompareNatHashes(source, destination, SpiI, SpiR, local, remote, null)
            : (false, false);
        if (notifies.Any(n => n.NotifyType == NotifyType.NoNatsAllowed) && (peerBehindNat || weBehindNat))
        {
            response.Add(new NotifyPayload(NotifyType.UnexpectedNatDetected));
        }
        else
        {
            var old = Remote;
            Local = local;
            Remote = remote;
            RemoteBehindNat = peerBehindNat;
            LocalBehindNat = weBehindNat;
            NatDetected = peerBehindNat || weBehindNat || Config.ForceEncapsulation;
            _endpoint.Emit(new IkeSaAddressesChanged(now, Id, Config.Name, Local, Remote, UdpEncapsulation, $"MOBIKE: remote address changed from {old} to {remote}"));
            var nat = new IkeMessage();
            AddNatDetection(nat, SpiI, SpiR);
            response.AddRange(nat.Payloads);
        }

        if (notifies.FirstOrDefault(n => n.NotifyType == NotifyType.Cookie2) is { } cookie2)
        {
            response.Add(new NotifyPayload(NotifyType.Cookie2, cookie2.Data));
        }

        return response;
    }

    /// <summary>The hash of our address and port as the responder last saw it (NAT_DETECTION_DESTINATION_IP of its answers).</summary>
    private byte[]? _observedMapping;

    private bool _natCheckPending;

    /// <summary>
    /// A liveness check's payloads. A MOBIKE initiator behind a NAT adds NAT_DETECTION_* (as strongSwan does), so
    /// that the responder's answer shows whether the NAT mapped us to a new address or port: with MOBIKE the
    /// responder does not follow such a change by itself (no implicit updates), so we must send an update.
    /// </summary>
    private List<IkePayload> DpdPayloads()
    {
        _natCheckPending = MobikeNegotiated && IsOriginalInitiator && LocalBehindNat;
        if (!_natCheckPending)
        {
            return [];
        }

        var source = IsWildcard(Local.Address) ? _pathSource ?? Local.Address : Local.Address;
        return
        [
            new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(SpiI, SpiR, new IPEndPoint(source, Local.Port))),
            new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(SpiI, SpiR, Remote)),
        ];
    }

    /// <summary>The answer to a NAT-checking liveness check: a new (or first) mapping of ours means UPDATE_SA_ADDRESSES.</summary>
    private void CheckNatMapping(DateTimeOffset now, List<IkePayload> response)
    {
        if (!_natCheckPending)
        {
            return;
        }

        _natCheckPending = false;
        if (response.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.NatDetectionDestinationIp) is not { } seen)
        {
            return;
        }

        if (_observedMapping is { } known && seen.Data.Span.SequenceEqual(known))
        {
            return;
        }

        _observedMapping = seen.Data.ToArray();
        _endpoint.EmitAlert(now, Id, "MOBIKE: the NAT mapping may have changed, requesting address update");
        _updateWanted = true;
    }

    /// <summary>RFC 4555: ADDITIONAL_IP4/6_ADDRESS lists replace the stored ones; NO_ADDITIONAL_ADDRESSES empties them.</summary>
    private void StoreAdditionalAddresses(List<IkePayload> payloads)
    {
        if (!MobikeNegotiated)
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
            PeerAdditionalAddresses = listed;
        }
        else if (notifies.Any(n => n.NotifyType == NotifyType.NoAdditionalAddresses))
        {
            PeerAdditionalAddresses = [];
        }
    }
}
