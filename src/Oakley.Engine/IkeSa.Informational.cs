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
/// <summary>INFORMATIONAL requests and responses: delete (IKE and CHILD), liveness checks, the operator's commands (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    // ------------------------------------------------------------------------------------------------
    // Delete and liveness
    // ------------------------------------------------------------------------------------------------

    /// <summary>Starts an INFORMATIONAL exchange deleting this IKE SA (and with it every CHILD SA).</summary>
    public void Terminate(DateTimeOffset now)
    {
        Touch();
        if (_peerIkeRekey is { } undecided)
        {
            _peerIkeRekey = null;
            undecided._redundant = true;
            undecided.Terminate(now); // (touches undecided)
        }

        if (State == IkeSaState.Established && _pending is not null && _rekeyedAway is null)
        {
            // Window size 1 (RFC 7296 §2.3): the delete goes out when the pending exchange ends. Destroying the SA
            // here would leave the peer holding it until its own DPD gave up on us.
            _deleteQueued = true;
            return;
        }

        if (State != IkeSaState.Established || _pending is not null)
        {
            Destroy(now, "terminated");
            return;
        }

        State = IkeSaState.Deleting;
        SendInformational(now, [DeletePayload.ForIke()]);
    }


    /// <summary>Rekeys this IKE SA now (swanctl --rekey --ike): at once if the window is free, else after the pending exchange.</summary>
    public bool Rekey(DateTimeOffset now)
    {
        Touch();
        if (State != IkeSaState.Established || _rekeyedAway is not null)
        {
            return false;
        }

        IkeRekeyAt = now;
        StartNextChild(now);
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
        if (!_rekeyQueue.Contains(child))
        {
            _rekeyQueue.Enqueue(child);
        }

        StartNextChild(now);
        return true;
    }

    /// <summary>Deletes the CHILD SA with this inbound SPI (swanctl --terminate --child), queued behind a pending exchange.</summary>
    public bool DeleteChild(DateTimeOffset now, uint inboundSpi)
    {
        Touch();
        if (State != IkeSaState.Established || _children.FirstOrDefault(c => c.InboundSpi == inboundSpi) is not { } child
            || _deletingChild == child || _deleteQueue.Contains(child))
        {
            return false;
        }

        child.Replaced = true; // on its way out: never rekeyed again; a peer's rekey of it gets TEMPORARY_FAILURE (§2.25.1)
        _deleteQueue.Enqueue(child);
        StartNextChild(now);
        return true;
    }

    /// <summary>Sends an empty INFORMATIONAL request (a liveness check, RFC 7296 §1.4).</summary>
    public bool SendLivenessCheck(DateTimeOffset now)
    {
        Touch();
        if (State != IkeSaState.Established || _pending is not null)
        {
            return false;
        }

        SendInformational(now, []);
        return true;
    }

    private void SendInformational(DateTimeOffset now, List<IkePayload> payloads)
    {
        SendProtectedRequest(now, ExchangeType.Informational, payloads);
        _pending!.DeletesIkeSa = payloads.OfType<DeletePayload>().Any(d => d.Protocol == ProtocolId.Ike);
    }

    /// <summary>Sends a request of an established SA with the next message ID of ours (RFC 7296 §2.3).</summary>
    private void SendProtectedRequest(DateTimeOffset now, ExchangeType exchange, List<IkePayload> payloads)
    {
        var id = _nextRequestId;
        var header = new IkeMessage
        {
            InitiatorSpi = SpiI,
            ResponderSpi = SpiR,
            ExchangeType = exchange,
            Flags = IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None,
            MessageId = id,
        };
        SendRequest(now, exchange, ProtectOutbound(header, payloads));
        _nextRequestId = id + 1;
    }

    private List<IkePayload> RespondInformational(DateTimeOffset now, List<IkePayload> request, IPEndPoint local, IPEndPoint remote, out bool destroy)
    {
        destroy = false;
        var response = new List<IkePayload>();
        StoreAdditionalAddresses(request);
        if (request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UpdateSaAddresses))
        {
            response.AddRange(RespondUpdateSaAddresses(now, request, local, remote));
        }
        else if (MobikeNegotiated && request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.NatDetectionSourceIp))
        {
            // A MOBIKE initiator's liveness check with NAT detection: tell it the address and port its request
            // came from, so that it notices a NAT that changed its mapping and updates the SA.
            response.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(SpiI, SpiR, Local)));
            response.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(SpiI, SpiR, remote)));
        }

        if (request.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.Cookie2) is { } cookie2
            && !request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UpdateSaAddresses))
        {
            response.Add(new NotifyPayload(NotifyType.Cookie2, cookie2.Data)); // RFC 4555: a return routability check
        }

        foreach (var d in request.OfType<DeletePayload>())
        {
            if (d.Protocol == ProtocolId.Ike)
            {
                // RFC 7296 §1.4.1: answer with an empty INFORMATIONAL, then the IKE SA and its children are gone.
                destroy = true;
                return [];
            }

            if (d.Protocol is ProtocolId.Esp or ProtocolId.Ah)
            {
                var ours = new List<uint>();
                foreach (var spi in d.GetSpis32())
                {
                    // A delete that crossed an IKE rekey names a CHILD SA that has moved to the successor.
                    var owner = _children.Any(c => c.OutboundSpi == spi) ? this : _successor;
                    var child = owner?._children.FirstOrDefault(c => c.OutboundSpi == spi);
                    if (child is not null)
                    {
                        // §2.25.1: closing it ourselves as well? Then the answer carries no Delete for it.
                        if (owner!._deletingChild != child)
                        {
                            ours.Add(child.InboundSpi);
                        }

                        owner.RemoveChild(now, child);
                    }
                }

                if (ours.Count > 0)
                {
                    response.Add(DeletePayload.ForChildSas(d.Protocol, ours));
                }
            }
        }

        return response;
    }

    private void RemoveChild(DateTimeOffset now, ChildSa child)
    {
        _children.Remove(child);
        _endpoint.SetChildOwner(child.InboundSpi, null);
        _endpoint.Emit(new ChildSaRemove(now, Id, child.Config.Name, child.InboundSpi, child.OutboundSpi));
    }
}
