using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// The endpoint's stateless answers: one unprotected Notify (COOKIE, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN,
/// INVALID_MAJOR_VERSION, INVALID_IKE_SPI) in response to a request header, without any SA.
/// </summary>
internal static class UnprotectedAnswer
{
    public static byte[] Encode(IkeHeader request, NotifyType notify, ReadOnlyMemory<byte> data)
    {
        var response = new IkeMessage
        {
            InitiatorSpi = request.InitiatorSpi,
            ResponderSpi = request.ExchangeType == ExchangeType.IkeSaInit ? 0 : request.ResponderSpi,
            ExchangeType = request.ExchangeType == ExchangeType.IkeSaInit ? ExchangeType.IkeSaInit : ExchangeType.Informational,
            // RFC 7296 §3.1: the I flag marks the original initiator's messages. Outside IKE_SA_INIT we answer a
            // request of the peer's SA, so we stand in for the other role: without it, an answer to the original
            // responder would carry its own SPI in the wrong place and never reach its SA.
            Flags = IkeHeaderFlags.Response | (request.ExchangeType != ExchangeType.IkeSaInit && !request.IsInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None),
            MessageId = request.MessageId,
        };
        response.Payloads.Add(new NotifyPayload(notify, data));
        return response.Encode();
    }
}
