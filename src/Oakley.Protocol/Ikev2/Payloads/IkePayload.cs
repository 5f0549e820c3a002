namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// A decoded IKEv2 payload. Byte fields are <see cref="ReadOnlyMemory{T}"/> slices of the received datagram
/// (no copies); keep the datagram alive while the payload is in use.
/// </summary>
public abstract class IkePayload
{
    public abstract PayloadType Type { get; }

    /// <summary>The critical bit as received or to be sent (RFC 7296 §3.2). Senders set it only for types a peer must understand.</summary>
    public bool Critical { get; set; }

    /// <summary>Writes the payload body (without the generic header).</summary>
    public abstract void WriteBody(ref IkeMessageWriter writer);

    /// <summary>Decodes one known payload body. Only <see cref="IkeProtocolException"/> escapes.</summary>
    public static IkePayload Decode(PayloadType type, bool critical, PayloadType nextPayload, ReadOnlyMemory<byte> body)
    {
        IkePayload payload = type switch
        {
            PayloadType.SecurityAssociation => SecurityAssociationPayload.DecodeBody(body),
            PayloadType.KeyExchange => KeyExchangePayload.DecodeBody(body),
            PayloadType.IdentificationInitiator => IdentificationPayload.DecodeBody(body, initiator: true),
            PayloadType.IdentificationResponder => IdentificationPayload.DecodeBody(body, initiator: false),
            PayloadType.Certificate => CertificatePayload.DecodeBody(body),
            PayloadType.CertificateRequest => CertificateRequestPayload.DecodeBody(body),
            PayloadType.Authentication => AuthenticationPayload.DecodeBody(body),
            PayloadType.Nonce => NoncePayload.DecodeBody(body),
            PayloadType.Notify => NotifyPayload.DecodeBody(body),
            PayloadType.Delete => DeletePayload.DecodeBody(body),
            PayloadType.VendorId => new VendorIdPayload(body),
            PayloadType.TrafficSelectorInitiator => TrafficSelectorPayload.DecodeBody(body, initiator: true),
            PayloadType.TrafficSelectorResponder => TrafficSelectorPayload.DecodeBody(body, initiator: false),
            PayloadType.EncryptedAndAuthenticated => new EncryptedPayload(nextPayload, body),
            PayloadType.Configuration => ConfigurationPayload.DecodeBody(body),
            PayloadType.ExtensibleAuthentication => EapPayload.DecodeBody(body),
            PayloadType.EncryptedAndAuthenticatedFragment => EncryptedFragmentPayload.DecodeBody(nextPayload, body),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a payload type this codec decodes"),
        };
        payload.Critical = critical;
        return payload;
    }
}
