namespace Oakley.Protocol.Ikev2;

/// <summary>IKEv2 Exchange Types (IANA "IKEv2 Exchange Types").</summary>
public enum ExchangeType : byte
{
    IkeSaInit = 34,
    IkeAuth = 35,
    CreateChildSa = 36,
    Informational = 37,
    IkeSessionResume = 38, // RFC 5723
    GsaAuth = 39,          // RFC 9838 (G-IKEv2)
    GsaRegistration = 40,
    GsaRekey = 41,
    IkeIntermediate = 43,  // RFC 9242
    IkeFollowupKe = 44,    // RFC 9370
    GsaInbandRekey = 45,
}
