using System.Net;
using Oakley.Engine.Tasks;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// The datagram path of an SA: a received message is checked against the <see cref="MessageWindow"/>, reassembled and
/// decrypted, and handed to the tasks of its exchange (the pending request's tasks for a response, the responder
/// tasks the <see cref="TaskManager"/> picks for a request); what the tasks build is protected, fragmented and sent
/// (one responsibility of <see cref="IkeSa"/>).
/// </summary>
public sealed partial class IkeSa
{
    internal void SendAll(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, List<byte[]> datagrams)
    {
        _lastSent = now;
        foreach (var d in datagrams)
        {
            _services.Send(local, remote, d);
        }

        if (datagrams.Count > 1)
        {
            _services.Stats.FragmentsSent += datagrams.Count;
        }
    }

    /// <summary>
    /// Protects an outbound message, as SKF fragments if fragmentation was negotiated, our configuration lets us
    /// fragment (swanctl fragmentation = yes/force, not accept) and the datagram would exceed the fragment size.
    /// </summary>
    internal List<byte[]> ProtectOutbound(IkeMessage header, List<IkePayload> payloads) =>
        _keys!.ProtectMessage(header, payloads, IsOriginalInitiator, _services.Entropy, MaxUnfragmentedDatagram);

    /// <summary>
    /// The largest IKE message we send in one piece: charon.fragment_size (the whole IP datagram; 1280 for IPv4 and
    /// 1232 for IPv6 by default) minus the IP and UDP headers and, on the NAT-T port, the non-ESP marker.
    /// </summary>
    internal int MaxUnfragmentedDatagram
    {
        get
        {
            if (!_path.Fragmentation || Config.Fragmentation is not (Fragmentation.Yes or Fragmentation.Force))
            {
                return int.MaxValue;
            }

            var v4 = Remote.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork || Remote.Address.IsIPv4MappedToIPv6;
            var size = _services.Settings.FragmentSize > 0 ? _services.Settings.FragmentSize : (v4 ? 1280 : 1232);
            size -= (v4 ? 20 : 40) + 8;
            if (Local.Port == _services.Settings.NattPort)
            {
                size -= 4;
            }

            return Math.Max(size, IkeHeader.Size + 64);
        }
    }

    internal void HandleMessage(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote)
    {
        Touch();
        if (m.Payloads.Count > 0 && m.Payloads[^1] is EncryptedFragmentPayload skf)
        {
            HandleFragment(now, m, skf, datagram, local, remote);
        }
        else if (m.IsResponse)
        {
            HandleResponse(now, m, datagram, local, remote, null);
        }
        else
        {
            HandleRequest(now, m, datagram, local, remote, null);
        }
    }

    /// <summary>
    /// One Encrypted Fragment payload (RFC 7383 §2.6): checked against the message-ID window like a whole message,
    /// authenticated and decrypted before it is kept, then reassembled; the complete message takes the same path
    /// as an unfragmented one.
    /// </summary>
    private void HandleFragment(DateTimeOffset now, IkeMessage m, EncryptedFragmentPayload skf, byte[] datagram, IPEndPoint local, IPEndPoint remote)
    {
        var stats = _services.Stats;
        if (!_path.Fragmentation || _keys is null || m.ExchangeType == ExchangeType.IkeSaInit)
        {
            throw IkeProtocolException.Drop("fragment without negotiated fragmentation");
        }

        if (m.IsResponse)
        {
            Window.CheckResponse(m);
        }
        else if (Window.IsRetransmittedRequest(m))
        {
            // RFC 7383 §2.6.1: a retransmitted request is answered with all fragments of the cached response,
            // once per retransmission (on its first fragment), not once per fragment.
            if (skf.FragmentNumber == 1)
            {
                _services.Counters.Retransmitted(Config.Name, m.ExchangeType, byPeer: true);
                SendAll(now, local, remote, Window.LastResponse!.Value.Datagrams);
            }
            else
            {
                stats.Drop("fragment of a retransmitted request");
            }

            return;
        }
        else
        {
            Window.CheckRequest(m);
        }

        var piece = _keys.UnprotectFragment(datagram, skf, !IsOriginalInitiator);
        stats.FragmentsReceived++;
        var settings = _services.Settings;
        var buffer = m.IsResponse
            ? Window.ResponseFragments ??= new FragmentReassembly(settings.MaxFragments, settings.MaxPacket, settings.FragmentTimeout)
            : Window.RequestFragments ??= new FragmentReassembly(settings.MaxFragments, settings.MaxPacket, settings.FragmentTimeout);
        var outcome = buffer.Add(now, m.MessageId, skf.FragmentNumber, skf.TotalFragments, skf.FirstInnerPayload, piece, out var whole, out var first);
        if (outcome != FragmentOutcome.Complete)
        {
            if (outcome != FragmentOutcome.Kept)
            {
                stats.Drop(outcome switch
                {
                    FragmentOutcome.Duplicate => "duplicate fragment",
                    FragmentOutcome.Stale => "stale fragment",
                    _ => "fragmented message too large",
                });
            }

            return;
        }

        stats.MessagesReassembled++;
        var inner = IkeMessage.DecodePayloads(first, whole);
        if (m.IsResponse)
        {
            HandleResponse(now, m, datagram, local, remote, inner);
        }
        else
        {
            HandleRequest(now, m, datagram, local, remote, inner);
        }
    }

    private void HandleResponse(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote, List<IkePayload>? reassembled)
    {
        var pending = Window.CheckResponse(m);
        if (pending.Exchange == ExchangeType.IkeSaInit)
        {
            var init = new Received(m, datagram, m.Payloads, local, remote);
            TaskManager.AcceptResponse(now, pending, init);
            CountInbound(m, m.Payloads);
            Tasks.ProcessResponse(now, pending, init);
            return;
        }

        if (pending.DeletesIkeSa && PeerKnowsSa && m.Find<EncryptedPayload>() is null && m.Notifies(NotifyType.InvalidIkeSpi).Any())
        {
            // Our delete was processed but its response lost: the peer, which did hold the SA, no longer knows it
            // and answers a retransmission with an unprotected INVALID_IKE_SPI (§2.21.4). Unauthenticated, but it
            // can only hasten a deletion we started anyway; otherwise the SA would linger for the whole
            // retransmission schedule.
            Window.Pending = null;
            Destroy(now, "deleted (the peer had already removed it)");
            return;
        }

        // An SK message, or the payloads of an SKF message reassembled and authenticated fragment by fragment.
        var inner = ScreenResponse(now, m, reassembled ?? _keys!.Unprotect(datagram, m, !IsOriginalInitiator), pending);
        var received = new Received(m, datagram, inner, local, remote);
        TaskManager.AcceptResponse(now, pending, received);
        CountInbound(m, inner);
        if (!pending.DecidesPath)
        {
            FollowPeer(now, local, remote);
        }

        PeerKnowsSa = true;
        NoteInboundTraffic(now);
        Tasks.ProcessResponse(now, pending, received);

        // Any partial response of this message ID or older is no longer needed.
        Window.ResponseFragments?.DiscardUpTo(m.MessageId);
    }

    private void HandleRequest(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote, List<IkePayload>? reassembled)
    {
        // RFC 7296 §2.1/§2.3: a retransmitted request gets the cached response (all its fragments), without reprocessing.
        if (Window.IsRetransmittedRequest(m))
        {
            _services.Counters.Retransmitted(Config.Name, m.ExchangeType, byPeer: true);
            SendAll(now, local, remote, Window.LastResponse!.Value.Datagrams);
            return;
        }

        Window.CheckRequest(m);
        if (_keys is null)
        {
            throw IkeProtocolException.Drop($"request with message ID {m.MessageId}, expected {Window.ExpectedPeerRequestId}");
        }

        var request = reassembled ?? _keys.Unprotect(datagram, m, !IsOriginalInitiator);
        CountInbound(m, request);
        if (RefusedByPayloadRules(now, m, request, local, remote))
        {
            return;
        }

        Window.RequestFragments?.DiscardUpTo(m.MessageId);
        FollowPeer(now, local, remote);
        PeerKnowsSa = true;
        NoteInboundTraffic(now);
        foreach (var c in _children)
        {
            if (c.UnconfirmedSinceRequest is { } id && m.MessageId > id)
            {
                c.UnconfirmedSinceRequest = null; // the peer moved past the request that created it: it has our answer
            }
        }

        Respond(now, new Received(m, datagram, request, local, remote));
    }

    /// <summary>Runs the responder tasks on a new request (or one held for an EAP server) and sends the answer.</summary>
    private void Respond(DateTimeOffset now, Received received)
    {
        var m = received.Message;
        var (response, ends) = Tasks.Respond(now, received);
        SendResponse(now, m, response, received.Local, received.Remote);
        if (m.ExchangeType == ExchangeType.IkeAuth && State == IkeSaState.Established)
        {
            ForgetIkeSaInit(); // the response is protected and cached: the IKE_SA_INIT state is no longer needed
        }

        if (ends)
        {
            // A delete crossing our own (both ends shutting down) is a delete too, not a failed authentication.
            Destroy(now, State is IkeSaState.Established or IkeSaState.Deleting ? "deleted by peer" : "authentication failed", closedByPeer: State == IkeSaState.Established);
        }
    }

    /// <summary>
    /// Counts a received message once it is authenticated (a response: also accepted by its tasks): strongSwan's message
    /// counter, a response's outcome, and the error notify a request carries (the initiator's AUTHENTICATION_FAILED notice).
    /// </summary>
    private void CountInbound(IkeMessage m, List<IkePayload> payloads)
    {
        var counters = _services.Counters;
        counters.Message(Config.Name, m.ExchangeType, inbound: true, request: !m.IsResponse);
        if (m.IsResponse)
        {
            counters.Outcome(Config.Name, m.ExchangeType, initiator: true, payloads);
        }
        else if (IkeCounting.FirstError(payloads) is { } error)
        {
            counters.ErrorNotify(Config.Name, error, sent: false);
        }
    }

    /// <summary>Protects and sends the response to request <paramref name="m"/>, and keeps it for retransmissions of the request.</summary>
    private void SendResponse(DateTimeOffset now, IkeMessage m, List<IkePayload> response, IPEndPoint local, IPEndPoint remote)
    {
        var header = new IkeMessage
        {
            InitiatorSpi = SpiI,
            ResponderSpi = SpiR,
            ExchangeType = m.ExchangeType,
            Flags = IkeHeaderFlags.Response | (IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None),
            MessageId = m.MessageId,
        };
        var datagrams = ProtectOutbound(header, response);
        Window.Answered(m.MessageId, datagrams);
        _services.Counters.Message(Config.Name, m.ExchangeType, inbound: false, request: false);
        _services.Counters.Outcome(Config.Name, m.ExchangeType, initiator: false, response);
        // RFC 7296 §2.11: a response goes back to the address and port the request came from (a side that does
        // not follow a peer's new address, e.g. with MOBIKE or behind a NAT, still answers where it asked from).
        SendAll(now, local, remote, datagrams);
    }

    /// <summary>
    /// RFC 7296 §2.23: the latest authenticated message's addresses are the ones to use. Before the SA is
    /// established that is the float to the NAT-T port. Afterwards a changed peer address or port (a NAT that
    /// remapped) is followed only by a side that is not itself behind a NAT (a host behind one "SHOULD NOT": one
    /// forged packet would redirect it), and never with MOBIKE, whose UPDATE_SA_ADDRESSES replaces implicit
    /// updates (RFC 4555 §3.5). The caller only passes new messages (retransmitted requests are answered from the
    /// cache before this), so an old replayed message cannot move the SA back.
    /// </summary>
    private void FollowPeer(DateTimeOffset now, IPEndPoint local, IPEndPoint remote)
    {
        if (State != IkeSaState.Established)
        {
            _path.Local = local;
            _path.Remote = remote;
            return;
        }

        if (remote.Equals(Remote) || MobikeNegotiated || LocalBehindNat)
        {
            return;
        }

        var old = Remote;
        _path.Local = local;
        _path.Remote = remote;
        _path.RemoteBehindNat = true;
        _path.NatDetected |= Remote.Port == _services.Settings.NattPort;
        AddressesChanged(now, $"remote address changed from {old} to {remote}");
    }

    /// <summary>Tells the host that the SA (and its CHILD SAs' policies) moved.</summary>
    internal void AddressesChanged(DateTimeOffset now, string reason) =>
        _services.Emit(new IkeSaAddressesChanged(now, Id, Config.Name, Local, Remote, UdpEncapsulation, reason));
}
