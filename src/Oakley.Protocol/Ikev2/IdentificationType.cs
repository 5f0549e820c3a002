namespace Oakley.Protocol.Ikev2;

/// <summary>IKEv2 Identification Payload ID Types.</summary>
public enum IdentificationType : byte
{
    Ipv4Address = 1,
    Fqdn = 2,
    Rfc822Address = 3,
    Ipv6Address = 5,
    DerAsn1Dn = 9,
    DerAsn1Gn = 10,
    KeyId = 11,
    FcName = 12,
    Null = 13, // RFC 7619
}

/// <summary>IKEv2 Authentication Method.</summary>
public enum AuthMethod : byte
{
    RsaDigitalSignature = 1,
    SharedKeyMessageIntegrityCode = 2,
    DssDigitalSignature = 3,
    EcdsaSha256P256 = 9,
    EcdsaSha384P384 = 10,
    EcdsaSha512P521 = 11,
    GenericSecurePasswordAuthentication = 12,
    Null = 13,
    DigitalSignature = 14, // RFC 7427
}

/// <summary>IKEv2 Certificate Encodings.</summary>
public enum CertificateEncoding : byte
{
    Pkcs7WrappedX509 = 1,
    Pgp = 2,
    DnsSignedKey = 3,
    X509Signature = 4,
    KerberosToken = 6,
    CertificateRevocationList = 7,
    AuthorityRevocationList = 8,
    SpkiCertificate = 9,
    X509Attribute = 10,
    RawRsaKey = 11,
    HashAndUrlX509Certificate = 12,
    HashAndUrlX509Bundle = 13,
    OcspContent = 14,
    RawPublicKey = 15,
}

/// <summary>IKEv2 Traffic Selector Types.</summary>
public enum TrafficSelectorType : byte
{
    Ipv4AddrRange = 7,
    Ipv6AddrRange = 8,
    FcAddrRange = 9,  // RFC 4595
    SecLabel = 10,    // RFC 9478
}

/// <summary>IKEv2 Configuration Payload CFG Types.</summary>
public enum ConfigurationType : byte
{
    Request = 1,
    Reply = 2,
    Set = 3,
    Ack = 4,
}

/// <summary>IKEv2 Configuration Payload Attribute Types.</summary>
public enum ConfigurationAttributeType : ushort
{
    InternalIp4Address = 1,
    InternalIp4Netmask = 2,
    InternalIp4Dns = 3,
    InternalIp4Nbns = 4,
    InternalIp4Dhcp = 6,
    ApplicationVersion = 7,
    InternalIp6Address = 8,
    InternalIp6Dns = 10,
    InternalIp6Dhcp = 12,
    InternalIp4Subnet = 13,
    SupportedAttributes = 14,
    InternalIp6Subnet = 15,
    Mip6HomePrefix = 16,
    InternalIp6Link = 17,
    InternalIp6Prefix = 18,
    HomeAgentAddress = 19,
    PCscfIp4Address = 20,
    PCscfIp6Address = 21,
    FttKat = 22,
    ExternalSourceIp4NatInfo = 23,
    TimeoutPeriodForLivenessCheck = 24,
    InternalDnsDomain = 25,
    InternalDnssecTa = 26,
    EncdnsIp4 = 27,
    EncdnsIp6 = 28,
    EncdnsDigestInfo = 29,
}
