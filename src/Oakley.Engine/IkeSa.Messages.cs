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
/// <summary>Message handling: protection and fragmentation, the request/response windows, retransmission, timeouts and destruction (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    // ------------------------------------------------------------------------------------------------
    // Message handling, retransmission
    // ------------------------------------------------------------------------------------------------

    private void SendRequest(DateTimeOffset now, ExchangeType exchange, List<byte[]> datagrams)
    {
        _pending = new PendingRequest { MessageId = _nextRequestId, Datagrams = datagrams, Exchange = exchange, Deadline = now + _endpoint.Settings.RetransmitTimeout };
        SendAll(now, Local, Remote, datagrams);
    }

    private void SendAll(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, List<byte[]> datagrams)
    {
        _lastSent = now;
        foreach (var d in datagrams)
        {
            _endpoint.Send(local, remote, d);
        }

        if (datagrams.Count > 1)
        {
            _endpoint.Stats.FragmentsSent += datagrams.Count;
        }
    }

    /// <summary>
    /// Protects an outbound message, as SKF fragments if fragmentation was negotiated, our configuration lets us
    /// fragment (swanctl fragmentation = yes/force, not accept) and the datagram would exceed the fragment size.
    /// </summary>
    private List<byte[]> ProtectOutbound(IkeMessage header, List<IkePayload> payloads) =>
        _keys!.ProtectMessage(header, payloads, IsOriginalInitiator, _endpoint.Entropy, MaxUnfragmentedDatagram);

    /// <summary>
    /// The largest IKE message we send in one piece: charon.fragment_size (the whole IP datagram; 1280 for IPv4 and
    /// 1232 for IPv6 by default) minus the IP and UDP headers and, on the NAT-T port, the non-ESP marker.
    /// </summary>
    internal int MaxUnfragmentedDatagram
    {
        get
        {
            if (!_fragmentation || Config.Fragmentation is not (Fragmentation.Yes or Fragmentation.Force))
            {
                return int.MaxValue;
            }

            var v4 = Remote.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork || Remote.Address.IsIPv4MappedToIPv6;
            var size = _endpoint.Settings.FragmentSize > 0 ? _endpoint.Settings.FragmentSize : (v4 ? 1280 : 1232);
            size -= (v4 ? 20 : 40) + 8;
            if (Local.Port == _endpoint.Settings.NattPort)
            {
                size -= 4;
            }

            return Math.Max(size, IkeHeader.Size + 64);
        }
    }

    /// <summary>Partly reassembled requests from the peer (tests assert that nothing lingers).</summary>
    internal FragmentReassembly? RequestFragments => _requestFragments;

    /// <summary>Partly reassembled responses from the peer.</summary>
    internal FragmentReassembly? ResponseFragments => _responseFragments;

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
        var stats = _endpoint.Stats;
        if (!_fragmentation || _keys is null || m.ExchangeType == ExchangeType.IkeSaInit)
        {
            throw IkeProtocolException.Drop("fragment without negotiated fragmentation");
        }

        if (m.IsResponse)
        {
            if (_pending is null || m.MessageId != _pending.MessageId || m.ExchangeType != _pending.Exchange)
            {
                throw IkeProtocolException.Drop($"unexpected {m.ExchangeType} response with message ID {m.MessageId}");
            }
        }
        else
        {
            if (_lastResponse is { } last && m.MessageId == last.MessageId)
            {
                // RFC 7383 §2.6.1: a retransmitted request is answered with all fragments of the cached response,
                // once per retransmission (on its first fragment), not once per fragment.
                if (skf.FragmentNumber == 1)
                {
                    SendAll(now, local, remote, last.Datagrams);
                }
                else
                {
                    stats.Drop("fragment of a retransmitted request");
                }

                return;
            }

            if (m.MessageId != _expectedPeerRequestId)
            {
                throw IkeProtocolException.Drop($"request with message ID {m.MessageId}, expected {_expectedPeerRequestId}");
            }
        }

        var piece = _keys.UnprotectFragment(datagram, skf, !IsOriginalInitiator);
        stats.FragmentsReceived++;
        var settings = _endpoint.Settings;
        var buffer = m.IsResponse
            ? _responseFragments ??= new FragmentReassembly(settings.MaxFragments, settings.MaxPacket, settings.FragmentTimeout)
            : _requestFragments ??= new FragmentReassembly(settings.MaxFragments, settings.MaxPacket, settings.FragmentTimeout);
        switch (buffer.Add(now, m.MessageId, skf.FragmentNumber, skf.TotalFragments, skf.FirstInnerPayload, piece, out var whole, out var first))
        {
            case FragmentOutcome.Kept:
                return;
            case FragmentOutcome.Duplicate:
                stats.Drop("duplicate fragment");
                return;
            case FragmentOutcome.Stale:
                stats.Drop("stale fragment");
                return;
            case FragmentOutcome.TooLarge:
                stats.Drop("fragmented message too large");
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
        if (_pending is null || m.MessageId != _pending.MessageId || m.ExchangeType != _pending.Exchange)
        {
            throw IkeProtocolException.Drop($"unexpected {m.ExchangeType} response with message ID {m.MessageId}");
        }

        // An SK message, or the payloads of an SKF message reassembled and authenticated fragment by fragment.
        List<IkePayload> Open() => reassembled ?? _keys!.Unprotect(datagram, m, !IsOriginalInitiator);

        switch (_pending.Exchange)
        {
            case ExchangeType.IkeSaInit:
                ProcessInitResponse(now, m, datagram);
                break;
            case ExchangeType.IkeAuth:
            {
                var inner = Open();
                FollowPeer(now, local, remote);
                _peerKnowsSa = true;
                NoteInboundTraffic(now);
                ProcessAuthResponse(now, inner);
                break;
            }

            case ExchangeType.CreateChildSa:
            {
                var inner = Open();
                FollowPeer(now, local, remote);
                _peerKnowsSa = true;
                NoteInboundTraffic(now);
                if (_ikeRekey is not null)
                {
                    ProcessIkeRekeyResponse(now, inner);
                }
                else
                {
                    ProcessCreateChildResponse(now, inner);
                }

                break;
            }

            case ExchangeType.Informational when _pending.DeletesIkeSa && _peerKnowsSa && m.Find<EncryptedPayload>() is null
                && m.Notifies(NotifyType.InvalidIkeSpi).Any():
                // Our delete was processed but its response lost: the peer, which did hold the SA, no longer knows it
                // and answers a retransmission with an unprotected INVALID_IKE_SPI (§2.21.4). Unauthenticated, but it
                // can only hasten a deletion we started anyway; otherwise the SA would linger for the whole
                // retransmission schedule.
                _pending = null;
                Destroy(now, "deleted (the peer had already removed it)");
                break;
            case ExchangeType.Informational:
                ProcessInformationalResponse(now, Open(), local, remote);
                break;

            default:
                throw IkeProtocolException.Drop($"response to unsupported exchange {_pending.Exchange}");
        }

        // Any partial response of this message ID or older is no longer needed.
        _responseFragments?.DiscardUpTo(m.MessageId);

        // Window size 1 (RFC 7296 §2.3): CHILD SA work queued behind this exchange starts now.
        if (_pending is null)
        {
            StartNextChild(now);
        }
    }

    /// <summary>
    /// The response to our INFORMATIONAL: a MOBIKE UPDATE_SA_ADDRESSES (only with our COOKIE2, RFC 4555 §3.5), a
    /// liveness check (NAT mapping, additional addresses), or a delete of the IKE SA or of a CHILD SA.
    /// </summary>
    private void ProcessInformationalResponse(DateTimeOffset now, List<IkePayload> inner, IPEndPoint local, IPEndPoint remote)
    {
        if (_update is { } update)
        {
            if (!inner.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.Cookie2 && n.Data.Span.SequenceEqual(update.Cookie2)))
            {
                throw IkeProtocolException.Drop("UPDATE_SA_ADDRESSES response without our COOKIE2");
            }

            _pending = null;
            _update = null;
            _peerKnowsSa = true;
            NoteInboundTraffic(now);
            ProcessUpdateSaAddressesResponse(now, inner);
            return;
        }

        FollowPeer(now, local, remote);
        _peerKnowsSa = true;
        NoteInboundTraffic(now);
        StoreAdditionalAddresses(inner);
        var ikeDeleted = _pending!.DeletesIkeSa;
        _pending = null;
        CheckNatMapping(now, inner);
        if (ikeDeleted)
        {
            Destroy(now, "deleted");
        }
        else if (_deletingChild is { } deleted)
        {
            _deletingChild = null;
            if (_children.Contains(deleted))
            {
                RemoveChild(now, deleted);
            }
        }
    }

    private void HandleRequest(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote, List<IkePayload>? reassembled)
    {
        // RFC 7296 §2.1/§2.3: a retransmitted request gets the cached response (all its fragments), without reprocessing.
        if (_lastResponse is { } last && m.MessageId == last.MessageId)
        {
            SendAll(now, local, remote, last.Datagrams);
            return;
        }

        if (m.MessageId != _expectedPeerRequestId || _keys is null)
        {
            throw IkeProtocolException.Drop($"request with message ID {m.MessageId}, expected {_expectedPeerRequestId}");
        }

        var request = reassembled ?? _keys.Unprotect(datagram, m, !IsOriginalInitiator);
        _requestFragments?.DiscardUpTo(m.MessageId);
        FollowPeer(now, local, remote);
        _peerKnowsSa = true;
        NoteInboundTraffic(now);
        foreach (var c in _children)
        {
            if (c.UnconfirmedSinceRequest is { } id && m.MessageId > id)
            {
                c.UnconfirmedSinceRequest = null; // the peer moved past the request that created it: it has our answer
            }
        }

        bool destroy;
        List<IkePayload> response;
        switch (m.ExchangeType)
        {
            case ExchangeType.IkeAuth when State == IkeSaState.Connecting && !IsOriginalInitiator:
                response = RespondAuth(now, request, out destroy);
                break;
            case ExchangeType.Informational when State is IkeSaState.Established or IkeSaState.Deleting:
                response = RespondInformational(now, request, local, remote, out destroy);
                break;
            case ExchangeType.CreateChildSa when State == IkeSaState.Established:
                response = RespondCreateChild(now, request);
                destroy = false;
                break;
            case ExchangeType.CreateChildSa when State == IkeSaState.Deleting:
                // §2.25.2: this SA is being closed or was rekeyed: nothing new is created on it.
                response = [new NotifyPayload(NotifyType.TemporaryFailure)];
                destroy = false;
                break;
            default:
                throw IkeProtocolException.Drop($"{m.ExchangeType} request not valid in state {State}");
        }

        var header = new IkeMessage
        {
            InitiatorSpi = SpiI,
            ResponderSpi = SpiR,
            ExchangeType = m.ExchangeType,
            Flags = IkeHeaderFlags.Response | (IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None),
            MessageId = m.MessageId,
        };
        var datagrams = ProtectOutbound(header, response);
        _lastResponse = (m.MessageId, datagrams);
        _expectedPeerRequestId = m.MessageId + 1;
        // RFC 7296 §2.11: a response goes back to the address and port the request came from (a side that does
        // not follow a peer's new address, e.g. with MOBIKE or behind a NAT, still answers where it asked from).
        SendAll(now, local, remote, datagrams);
        if (destroy)
        {
            // A delete crossing our own (both ends shutting down) is a delete too, not a failed authentication.
            Destroy(now, State is IkeSaState.Established or IkeSaState.Deleting ? "deleted by peer" : "authentication failed", closedByPeer: State == IkeSaState.Established);
        }
    }

    internal void HandleTimeout(DateTimeOffset now)
    {
        Touch();
        if ((_requestFragments?.Expire(now) == true) | (_responseFragments?.Expire(now) == true))
        {
            _endpoint.Stats.Drop("fragment reassembly timed out");
        }

        if (_rekeyedAway is { } since && State == IkeSaState.Deleting && _pending is null && now >= since + TimeSpan.FromMinutes(1))
        {
            Destroy(now, "rekeyed");
            return;
        }

        if (_redundantSince is { } r && _pending is null && now >= r + TimeSpan.FromMinutes(1))
        {
            Destroy(now, "redundant after a rekey collision, not deleted by the peer");
            return;
        }

        if (now >= _halfOpenDeadline && State == IkeSaState.Connecting)
        {
            Destroy(now, "half-open SA timed out");
            return;
        }

        if (_pending is { } p && now >= p.Deadline && !Retransmit(now, p))
        {
            return;
        }

        if (State == IkeSaState.Established && now >= ExpireAt && _rekeyedAway is null)
        {
            _endpoint.EmitAlert(now, Id, "IKE SA reached its hard lifetime (over_time) without being renewed: deleting it");
            if (_pending is not null)
            {
                Destroy(now, "hard lifetime reached"); // its keys must not be used any longer; a delete would wait for the window
            }
            else
            {
                Terminate(now);
            }

            return;
        }

        if (ReauthDue(now))
        {
            _reauthStarted = true;
            _endpoint.Reauthenticate(now, this);
        }

        if (now >= KeepAliveDue)
        {
            // RFC 3948 §2.3 / RFC 7296 §2.23: behind a NAT, keep its mapping alive when nothing else went out.
            _lastSent = now;
            _endpoint.SendKeepalive(Local, Remote);
        }

        if (State == IkeSaState.Established)
        {
            CheckChildLifetimes(now);
            if (_pending is null && now >= DpdDue)
            {
                // RFC 7296 §2.4: an empty INFORMATIONAL; if its retransmissions run out, the peer is dead.
                SendInformational(now, DpdPayloads());
            }
            else if (_pending is null && IkeRekeyDue(now))
            {
                StartIkeRekey(now);
            }
        }
    }

    /// <summary>
    /// The pending request's deadline passed: resend it on strongSwan's schedule (timeout × base^n), or give up after
    /// retransmit_tries (the SA is destroyed; returns false).
    /// </summary>
    private bool Retransmit(DateTimeOffset now, PendingRequest p)
    {
        var settings = _endpoint.Settings;
        if (p.Retransmits >= settings.RetransmitTries)
        {
            Destroy(now, $"giving up after {p.Retransmits} retransmissions of {p.Exchange}", peerDead: State == IkeSaState.Established);
            return false;
        }

        p.Retransmits++;
        p.Deadline = now + (settings.RetransmitTimeout * Math.Pow(settings.RetransmitBase, p.Retransmits));
        SendAll(now, Local, Remote, p.Datagrams);
        return true;
    }

    /// <summary>
    /// CHILD SA lifetimes (swanctl rekey_time, life_time, rand_time): a soft expiry queues a rekey; a hard expiry
    /// removes the SA at once (its keys must not be used any longer) and tells the peer.
    /// </summary>
    private void CheckChildLifetimes(DateTimeOffset now)
    {
        foreach (var child in _children.ToList())
        {
            if (now >= child.ExpireAt)
            {
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Config.Name}' {child.InboundSpi:x8}_i reached its hard lifetime");
                RemoveChild(now, child);
                if (_deletingChild != child && !_deleteQueue.Contains(child))
                {
                    _deleteQueue.Enqueue(child);
                }
            }
            else if (now >= child.RekeyAt && !child.Replaced && !_rekeyQueue.Contains(child))
            {
                _rekeyQueue.Enqueue(child);
            }
        }

        StartNextChild(now);
    }

    private void Fail(DateTimeOffset now, string reason)
    {
        _endpoint.EmitAlert(now, Id, reason);
        Destroy(now, reason);
    }

    internal void Destroy(DateTimeOffset now, string reason, bool peerDead = false, bool closedByPeer = false)
    {
        Touch();
        if (State == IkeSaState.Destroyed)
        {
            return;
        }

        var wasUp = EstablishedAt is not null;
        if (_reauthOf is { } reauthenticated && reauthenticated.State == IkeSaState.Established)
        {
            _reauthOf = null;
            reauthenticated.ReauthFailed(now);
        }

        if (_predecessor is { } predecessor)
        {
            // The peer deleted its side of a rekey collision before we decided: the collision is void (§2.8.2).
            _redundant = true;
            if (predecessor._peerIkeRekey == this)
            {
                predecessor._peerIkeRekey = null;
                predecessor.Touch();
            }
        }

        if (_peerIkeRekey is { } undecided)
        {
            // Our rekey lost or never finished, but the peer's rekey of this SA did: its SA carries on.
            _peerIkeRekey = null;
            HandOver(now, undecided);
        }

        foreach (var child in _children.ToList())
        {
            RemoveChild(now, child);
        }

        State = IkeSaState.Destroyed;
        _pending = null;
        _requestFragments?.Clear();
        _responseFragments?.Clear();
        if ((wasUp || IsOriginalInitiator) && _rekeyedAway is null && !_redundant)
        {
            _endpoint.Emit(new IkeSaDown(now, Id, Config.Name, reason, peerDead, closedByPeer, wasUp));
        }

        _endpoint.Remove(this);
        Dispose();
    }

    public void Dispose()
    {
        _ke?.Dispose();
        _keys?.Dispose();
        _ke = null;
    }
}
