namespace Oakley.Protocol.Ikev2;

/// <summary>IKEv2 Payload Types (IANA "IKEv2 Payload Types").</summary>
public enum PayloadType : byte
{
    None = 0,
    SecurityAssociation = 33,
    KeyExchange = 34,
    IdentificationInitiator = 35,
    IdentificationResponder = 36,
    Certificate = 37,
    CertificateRequest = 38,
    Authentication = 39,
    Nonce = 40,
    Notify = 41,
    Delete = 42,
    VendorId = 43,
    TrafficSelectorInitiator = 44,
    TrafficSelectorResponder = 45,
    EncryptedAndAuthenticated = 46, // SK
    Configuration = 47,
    ExtensibleAuthentication = 48,   // EAP
    GenericSecurePasswordMethods = 49, // GSPM, RFC 6467
    GroupIdentification = 50,        // IDg
    GroupSecurityAssociation = 51,   // GSA
    KeyDownload = 52,                // KD
    EncryptedAndAuthenticatedFragment = 53, // SKF, RFC 7383
    PuzzleSolution = 54,             // PS, RFC 8019
}
