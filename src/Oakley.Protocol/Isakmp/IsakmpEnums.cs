namespace Oakley.Protocol.Isakmp;

/// <summary>ISAKMP exchange types (RFC 2408 §3.1, RFC 2409 §5, draft-dukes-ike-mode-cfg).</summary>
public enum IsakmpExchangeType : byte
{
    None = 0,
    Base = 1,
    IdentityProtection = 2, // Main Mode
    AuthenticationOnly = 3,
    Aggressive = 4,
    Informational = 5,
    Transaction = 6,        // Mode Config / XAUTH
    QuickMode = 32,
    NewGroupMode = 33,
}

/// <summary>ISAKMP payload types (RFC 2408 §3.1, RFC 3947, and the draft/private values still seen in the field).</summary>
public enum IsakmpPayloadType : byte
{
    None = 0,
    SecurityAssociation = 1,
    Proposal = 2,
    Transform = 3,
    KeyExchange = 4,
    Identification = 5,
    Certificate = 6,
    CertificateRequest = 7,
    Hash = 8,
    Signature = 9,
    Nonce = 10,
    Notification = 11,
    Delete = 12,
    VendorId = 13,
    Attribute = 14,          // Mode Config (draft-dukes-ike-mode-cfg)
    NatDiscovery = 20,       // RFC 3947
    NatOriginalAddress = 21, // RFC 3947
    NatDiscoveryDraft = 130, // draft-ietf-ipsec-nat-t-ike-02/03
    NatOriginalAddressDraft = 131,
    Fragment = 132,          // IKEv1 fragmentation (Cisco/strongSwan)
}

/// <summary>ISAKMP header flags (RFC 2408 §3.1).</summary>
[Flags]
public enum IsakmpHeaderFlags : byte
{
    None = 0,
    Encryption = 0x01,
    Commit = 0x02,
    AuthenticationOnly = 0x04,
}

/// <summary>Domains of Interpretation.</summary>
public enum Doi : uint
{
    Isakmp = 0,
    IpsecDoi = 1,
}

/// <summary>IPsec DOI situation bits (RFC 2407 §4.2).</summary>
[Flags]
public enum IpsecSituation : uint
{
    IdentityOnly = 0x01,
    Secrecy = 0x02,
    Integrity = 0x04,
}

/// <summary>IPsec DOI security protocol identifiers (RFC 2407 §4.4.1).</summary>
public enum IsakmpProtocolId : byte
{
    Isakmp = 1,
    IpsecAh = 2,
    IpsecEsp = 3,
    IpComp = 4,
}

/// <summary>IPsec DOI ISAKMP transform IDs (RFC 2407 §4.4.2).</summary>
public enum IsakmpTransformId : byte
{
    KeyIke = 1,
}

/// <summary>IPsec DOI ESP transform identifiers (RFC 2407 §4.4.4 and IANA).</summary>
public enum EspTransformId : byte
{
    DesIv64 = 1,
    Des = 2,
    TripleDes = 3,
    Rc5 = 4,
    Idea = 5,
    Cast = 6,
    Blowfish = 7,
    TripleIdea = 8,
    DesIv32 = 9,
    Rc4 = 10,
    Null = 11,
    Aes = 12,
    AesCtr = 13,
    AesCcm8 = 14,
    AesCcm12 = 15,
    AesCcm16 = 16,
    AesGcm8 = 18,
    AesGcm12 = 19,
    AesGcm16 = 20,
    NullAuthAesGmac = 23,
}

/// <summary>IPsec DOI identification types (RFC 2407 §4.6.2.1).</summary>
public enum IsakmpIdType : byte
{
    Ipv4Address = 1,
    Fqdn = 2,
    UserFqdn = 3,
    Ipv4AddressSubnet = 4,
    Ipv6Address = 5,
    Ipv6AddressSubnet = 6,
    Ipv4AddressRange = 7,
    Ipv6AddressRange = 8,
    DerAsn1Dn = 9,
    DerAsn1Gn = 10,
    KeyId = 11,
}

/// <summary>ISAKMP certificate encodings (RFC 2408 §3.9).</summary>
public enum IsakmpCertificateEncoding : byte
{
    None = 0,
    Pkcs7WrappedX509 = 1,
    Pgp = 2,
    DnsSignedKey = 3,
    X509Signature = 4,
    X509KeyExchange = 5,
    KerberosTokens = 6,
    CertificateRevocationList = 7,
    AuthorityRevocationList = 8,
    SpkiCertificate = 9,
    X509Attribute = 10,
    Rsa = 11,
    HashAndUrlX509 = 12,
    HashAndUrlBundle = 13,
}

/// <summary>Phase-1 (Oakley) SA attribute classes (RFC 2409 Appendix A).</summary>
public enum OakleyAttribute : ushort
{
    EncryptionAlgorithm = 1,
    HashAlgorithm = 2,
    AuthenticationMethod = 3,
    GroupDescription = 4,
    GroupType = 5,
    GroupPrime = 6,
    GroupGeneratorOne = 7,
    GroupGeneratorTwo = 8,
    GroupCurveA = 9,
    GroupCurveB = 10,
    LifeType = 11,
    LifeDuration = 12,
    Prf = 13,
    KeyLength = 14,
    FieldSize = 15,
    GroupOrder = 16,
}

/// <summary>Phase-1 encryption algorithms (RFC 2409 Appendix A, RFC 3602).</summary>
public enum OakleyEncryption : ushort
{
    DesCbc = 1,
    IdeaCbc = 2,
    BlowfishCbc = 3,
    Rc5R16B64Cbc = 4,
    TripleDesCbc = 5,
    CastCbc = 6,
    AesCbc = 7,
    CamelliaCbc = 8,
}

/// <summary>Phase-1 hash algorithms (RFC 2409 Appendix A, RFC 4868).</summary>
public enum OakleyHash : ushort
{
    Md5 = 1,
    Sha1 = 2,
    Tiger = 3,
    Sha2_256 = 4,
    Sha2_384 = 5,
    Sha2_512 = 6,
}

/// <summary>Phase-1 authentication methods (RFC 2409 Appendix A, RFC 4754, draft-ietf-ipsec-isakmp-xauth/hybrid).</summary>
public enum OakleyAuthMethod : ushort
{
    PreSharedKey = 1,
    DssSignatures = 2,
    RsaSignatures = 3,
    RsaEncryption = 4,
    RsaRevisedEncryption = 5,
    EcdsaSha256 = 9,
    EcdsaSha384 = 10,
    EcdsaSha512 = 11,
    HybridInitRsa = 64221,
    HybridRespRsa = 64222,
    HybridInitDss = 64223,
    HybridRespDss = 64224,
    XauthInitPreShared = 65001,
    XauthRespPreShared = 65002,
    XauthInitDss = 65003,
    XauthRespDss = 65004,
    XauthInitRsa = 65005,
    XauthRespRsa = 65006,
    XauthInitRsaEncryption = 65007,
    XauthRespRsaEncryption = 65008,
    XauthInitRsaRevisedEncryption = 65009,
    XauthRespRsaRevisedEncryption = 65010,
}

/// <summary>Life types for phase 1 and phase 2 (RFC 2409 Appendix A, RFC 2407 §4.5).</summary>
public enum LifeType : ushort
{
    Seconds = 1,
    Kilobytes = 2,
}

/// <summary>IPsec DOI (phase-2) SA attributes (RFC 2407 §4.5, RFC 4304).</summary>
public enum IpsecAttribute : ushort
{
    SaLifeType = 1,
    SaLifeDuration = 2,
    GroupDescription = 3,
    EncapsulationMode = 4,
    AuthenticationAlgorithm = 5,
    KeyLength = 6,
    KeyRounds = 7,
    CompressDictionarySize = 8,
    CompressPrivateAlgorithm = 9,
    EcnTunnel = 10,
    ExtendedSequenceNumber = 11,
}

/// <summary>Encapsulation modes (RFC 2407 §4.5, RFC 3947 §5, and the pre-RFC draft values).</summary>
public enum EncapsulationMode : ushort
{
    Tunnel = 1,
    Transport = 2,
    UdpEncapsulatedTunnel = 3,
    UdpEncapsulatedTransport = 4,
    UdpEncapsulatedTunnelDraft = 61443,
    UdpEncapsulatedTransportDraft = 61444,
}

/// <summary>Phase-2 authentication algorithms (RFC 2407 §4.5, RFC 4868).</summary>
public enum IpsecAuthAlgorithm : ushort
{
    HmacMd5 = 1,
    HmacSha1 = 2,
    DesMac = 3,
    Kpdk = 4,
    HmacSha2_256 = 5,
    HmacSha2_384 = 6,
    HmacSha2_512 = 7,
    AesXcbcMac = 9,
    AesCmac = 11,
}
