using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Rules;

/// <summary>What a message is, for the payload rules: its exchange and, for CREATE_CHILD_SA, what it creates.</summary>
public enum MessageKind
{
    /// <summary>IKE_SA_INIT (RFC 7296 §1.2): checked on the outer payloads, which are not protected.</summary>
    IkeSaInit,

    /// <summary>IKE_AUTH (RFC 7296 §1.2), with the first CHILD SA.</summary>
    IkeAuth,

    /// <summary>CREATE_CHILD_SA for a new CHILD SA (RFC 7296 §1.3.1).</summary>
    CreateChild,

    /// <summary>CREATE_CHILD_SA that rekeys a CHILD SA: a request with N(REKEY_SA) (RFC 7296 §1.3.3).</summary>
    RekeyChild,

    /// <summary>CREATE_CHILD_SA that rekeys the IKE SA: a request whose SA payload offers IKE proposals (RFC 7296 §1.3.2).</summary>
    RekeyIke,

    /// <summary>INFORMATIONAL (RFC 7296 §1.4), including MOBIKE's (RFC 4555 §3.5), whose additions are all notifies.</summary>
    Informational,
}

/// <summary>How often one payload type may occur in a message: at least <see cref="Min"/>, at most <see cref="Max"/>.</summary>
public readonly record struct PayloadRule(PayloadType Type, int Min, int Max)
{
    /// <summary>No upper bound (Notify, Vendor ID, Delete, CERT, CERTREQ).</summary>
    public const int Many = int.MaxValue;

    public bool Required => Min > 0;

    public bool Repeatable => Max > 1;
}

/// <summary>
/// The payloads one kind of message may carry (a payload type not listed is not allowed). In a response that
/// <see cref="ErrorSuffices"/>, an error notify (types below 16384) stands in for the required payloads: it is the
/// whole answer (RFC 7296 §2.21); in the IKE_SA_INIT response so does COOKIE (§2.6, <see cref="CookieSuffices"/>).
/// </summary>
public sealed record MessageRules(MessageKind Kind, bool Response, IReadOnlyList<PayloadRule> Payloads, bool ErrorSuffices, bool CookieSuffices, string Source)
{
    /// <summary>The rule for <paramref name="type"/>, or null: the type is not allowed in this message.</summary>
    public PayloadRule? Find(PayloadType type)
    {
        for (var i = 0; i < Payloads.Count; i++) // by index: no boxed enumerator per payload checked
        {
            if (Payloads[i].Type == type)
            {
                return Payloads[i];
            }
        }

        return null;
    }
}

/// <summary>
/// The payload rules of RFC 7296 as data: per message kind and direction, the payloads that are required, allowed
/// and repeatable (§1.2–§1.5, §2.21, §3), with RFC 4555 (MOBIKE: notifies only) and RFC 7383 (SKF is an outer
/// payload: never inside SK). Notify and Vendor ID payloads are repeatable in every message. The table agrees with
/// what the exchange code answers itself (for example, the IKE_AUTH request requires nothing here, because a
/// missing IDi or AUTH is answered with AUTHENTICATION_FAILED by the authentication, §2.21.2) and with strongSwan's
/// message rules where the RFC leaves room (CP in CREATE_CHILD_SA, CERTREQ in the IKE_SA_INIT response).
/// <see cref="PayloadRuleCheck"/> applies it.
/// </summary>
public static class PayloadRules
{
    private const int Many = PayloadRule.Many;

    private static readonly PayloadRule Notifies = new(PayloadType.Notify, 0, Many);
    private static readonly PayloadRule VendorIds = new(PayloadType.VendorId, 0, Many);

    /// <summary>HDR, [N(COOKIE),] SAi1, KEi, Ni, [N(NAT_DETECTION_*)], [N]... [V]... (§1.2, §2.6, §2.23).</summary>
    public static MessageRules IkeSaInitRequest { get; } = new(MessageKind.IkeSaInit, false,
        [Notifies, One(PayloadType.SecurityAssociation), One(PayloadType.KeyExchange), One(PayloadType.Nonce), VendorIds],
        ErrorSuffices: false, CookieSuffices: false, "RFC 7296 §1.2");

    /// <summary>HDR, SAr1, KEr, Nr, [CERTREQ]..., or only N(COOKIE) (§2.6) or an error such as N(INVALID_KE_PAYLOAD) (§1.2).</summary>
    public static MessageRules IkeSaInitResponse { get; } = new(MessageKind.IkeSaInit, true,
        [Notifies, One(PayloadType.SecurityAssociation), One(PayloadType.KeyExchange), One(PayloadType.Nonce), Some(PayloadType.CertificateRequest), VendorIds],
        ErrorSuffices: true, CookieSuffices: true, "RFC 7296 §1.2, §2.6");

    /// <summary>
    /// SK {IDi, [CERT,]... [CERTREQ,]... [IDr,] AUTH, [CP,] SAi2, TSi, TSr} (§1.2, §2.19); with EAP (§2.16) AUTH is
    /// absent at first and later requests carry only EAP or AUTH, and a childless IKE_AUTH (RFC 6023) has no SA or
    /// TS, so nothing is required by the table: the authentication answers a missing IDi or AUTH.
    /// </summary>
    public static MessageRules IkeAuthRequest { get; } = new(MessageKind.IkeAuth, false,
        [Notifies, Optional(PayloadType.IdentificationInitiator), Some(PayloadType.Certificate), Some(PayloadType.CertificateRequest),
         Optional(PayloadType.IdentificationResponder), Optional(PayloadType.Authentication), Optional(PayloadType.ExtensibleAuthentication),
         Optional(PayloadType.Configuration), Optional(PayloadType.SecurityAssociation), Optional(PayloadType.TrafficSelectorInitiator),
         Optional(PayloadType.TrafficSelectorResponder), VendorIds],
        ErrorSuffices: false, CookieSuffices: false, "RFC 7296 §1.2, §2.16, §2.19");

    /// <summary>
    /// SK {IDr, [CERT,]... AUTH, [CP,] [SAr2, TSi, TSr]} (§1.2): the CHILD SA part may be absent (refused with an
    /// error notify, or childless); an error alone (AUTHENTICATION_FAILED, §2.21.2) is a complete answer. With EAP
    /// (§2.16) the rounds differ: IDr, [CERT], [AUTH] and EAP first (no AUTH with EAP-only, RFC 5998), EAP alone in
    /// between, AUTH and the CHILD SA last; so IDr and AUTH are each at most one here, and the IKE_AUTH task requires
    /// what its round needs.
    /// </summary>
    public static MessageRules IkeAuthResponse { get; } = new(MessageKind.IkeAuth, true,
        [Notifies, Optional(PayloadType.IdentificationResponder), Some(PayloadType.Certificate), Optional(PayloadType.Authentication),
         Optional(PayloadType.ExtensibleAuthentication), Optional(PayloadType.Configuration), Optional(PayloadType.SecurityAssociation),
         Optional(PayloadType.TrafficSelectorInitiator), Optional(PayloadType.TrafficSelectorResponder), VendorIds],
        ErrorSuffices: true, CookieSuffices: false, "RFC 7296 §1.2, §2.21.2");

    /// <summary>SK {[N(REKEY_SA),] [N]..., SA, Ni, [KEi,] TSi, TSr, [CP]} (§1.3.1, §1.3.3, §2.19: any request creating a CHILD SA may carry CP).</summary>
    public static MessageRules CreateChildRequest { get; } = new(MessageKind.CreateChild, false, ChildPayloads,
        ErrorSuffices: false, CookieSuffices: false, "RFC 7296 §1.3.1, §1.3.3");

    /// <summary>SK {[N]..., SA, Nr, [KEr,] TSi, TSr, [CP]} (§1.3.1), or an error notify alone (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, TEMPORARY_FAILURE, CHILD_SA_NOT_FOUND, ...).</summary>
    public static MessageRules CreateChildResponse { get; } = new(MessageKind.CreateChild, true, ChildPayloads,
        ErrorSuffices: true, CookieSuffices: false, "RFC 7296 §1.3.1, §2.25");

    /// <summary>SK {SA, Ni, KEi} (§1.3.2): no traffic selectors.</summary>
    public static MessageRules RekeyIkeRequest { get; } = new(MessageKind.RekeyIke, false, IkeRekeyPayloads,
        ErrorSuffices: false, CookieSuffices: false, "RFC 7296 §1.3.2");

    /// <summary>SK {SA, Nr, KEr} (§1.3.2), or an error notify alone.</summary>
    public static MessageRules RekeyIkeResponse { get; } = new(MessageKind.RekeyIke, true, IkeRekeyPayloads,
        ErrorSuffices: true, CookieSuffices: false, "RFC 7296 §1.3.2, §2.25");

    /// <summary>SK {[N,]... [D,]... [CP]} in both directions (§1.4, §1.5); empty is a liveness check (§2.4).</summary>
    public static MessageRules InformationalRequest { get; } = new(MessageKind.Informational, false, InformationalPayloads,
        ErrorSuffices: false, CookieSuffices: false, "RFC 7296 §1.4; RFC 4555 §3.5");

    public static MessageRules InformationalResponse { get; } = new(MessageKind.Informational, true, InformationalPayloads,
        ErrorSuffices: false, CookieSuffices: false, "RFC 7296 §1.4; RFC 4555 §3.5");

    /// <summary>Every table, for listing and for tests.</summary>
    public static IReadOnlyList<MessageRules> All { get; } =
    [
        IkeSaInitRequest, IkeSaInitResponse, IkeAuthRequest, IkeAuthResponse, CreateChildRequest, CreateChildResponse,
        RekeyIkeRequest, RekeyIkeResponse, InformationalRequest, InformationalResponse,
    ];

    private static PayloadRule[] ChildPayloads =>
    [
        Notifies, One(PayloadType.SecurityAssociation), One(PayloadType.Nonce), Optional(PayloadType.KeyExchange),
        One(PayloadType.TrafficSelectorInitiator), One(PayloadType.TrafficSelectorResponder), Optional(PayloadType.Configuration), VendorIds,
    ];

    private static PayloadRule[] IkeRekeyPayloads =>
        [Notifies, One(PayloadType.SecurityAssociation), One(PayloadType.Nonce), One(PayloadType.KeyExchange), VendorIds];

    private static PayloadRule[] InformationalPayloads =>
        [Notifies, Some(PayloadType.Delete), Optional(PayloadType.Configuration), VendorIds];

    /// <summary>The rules of one kind and direction. A CHILD SA rekey has those of a new CHILD SA (§1.3.3 adds only the notify).</summary>
    public static MessageRules For(MessageKind kind, bool response) => kind switch
    {
        MessageKind.IkeSaInit => response ? IkeSaInitResponse : IkeSaInitRequest,
        MessageKind.IkeAuth => response ? IkeAuthResponse : IkeAuthRequest,
        MessageKind.CreateChild or MessageKind.RekeyChild => response ? CreateChildResponse : CreateChildRequest,
        MessageKind.RekeyIke => response ? RekeyIkeResponse : RekeyIkeRequest,
        MessageKind.Informational => response ? InformationalResponse : InformationalRequest,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no payload rules for this kind"),
    };

    /// <summary>
    /// What a message is, from its exchange type and payloads; null for exchanges without rules here (the exchange
    /// dispatch drops those). A CREATE_CHILD_SA whose SA payload offers an IKE proposal rekeys the IKE SA, as the
    /// responder decides too; one with N(REKEY_SA) rekeys a CHILD SA.
    /// </summary>
    public static MessageKind? Classify(ExchangeType exchange, IReadOnlyList<IkePayload> payloads) => exchange switch
    {
        ExchangeType.IkeSaInit => MessageKind.IkeSaInit,
        ExchangeType.IkeAuth => MessageKind.IkeAuth,
        ExchangeType.Informational => MessageKind.Informational,
        ExchangeType.CreateChildSa => ClassifyCreateChild(payloads),
        _ => null,
    };

    private static MessageKind ClassifyCreateChild(IReadOnlyList<IkePayload> payloads)
    {
        var rekeysChild = false;
        foreach (var p in payloads)
        {
            if (p is SecurityAssociationPayload sa && OffersIke(sa))
            {
                return MessageKind.RekeyIke;
            }

            rekeysChild |= p is NotifyPayload { NotifyType: NotifyType.RekeySa };
        }

        return rekeysChild ? MessageKind.RekeyChild : MessageKind.CreateChild;
    }

    private static bool OffersIke(SecurityAssociationPayload sa)
    {
        foreach (var proposal in sa.Proposals)
        {
            if (proposal.Protocol == ProtocolId.Ike)
            {
                return true;
            }
        }

        return false;
    }

    private static PayloadRule One(PayloadType type) => new(type, 1, 1);

    private static PayloadRule Optional(PayloadType type) => new(type, 0, 1);

    private static PayloadRule Some(PayloadType type) => new(type, 0, Many);
}
