namespace Oakley.Iana;

/// <summary>IKEv2 Transform Types (IANA "Transform Type Values").</summary>
public enum TransformType : byte
{
    Encryption = 1,        // ENCR
    PseudoRandomFunction = 2, // PRF
    Integrity = 3,         // INTEG
    KeyExchange = 4,       // KE (formerly D-H)
    SequenceNumbers = 5,   // ESN (RFC 9827 renamed it "Sequence Numbers")
    AdditionalKeyExchange1 = 6, // RFC 9370
    AdditionalKeyExchange2 = 7,
    AdditionalKeyExchange3 = 8,
    AdditionalKeyExchange4 = 9,
    AdditionalKeyExchange5 = 10,
    AdditionalKeyExchange6 = 11,
    AdditionalKeyExchange7 = 12,
}

/// <summary>Transform Type 1 - Encryption Algorithm Transform IDs.</summary>
public enum EncrId : ushort
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
    Null = 11,
    AesCbc = 12,
    AesCtr = 13,
    AesCcm8 = 14,
    AesCcm12 = 15,
    AesCcm16 = 16,
    AesGcm8 = 18,
    AesGcm12 = 19,
    AesGcm16 = 20,
    NullAuthAesGmac = 21,
    CamelliaCbc = 23,
    CamelliaCtr = 24,
    CamelliaCcm8 = 25,
    CamelliaCcm12 = 26,
    CamelliaCcm16 = 27,
    ChaCha20Poly1305 = 28,
    AesCcm8Iiv = 29,
    AesGcm16Iiv = 30,
    ChaCha20Poly1305Iiv = 31,
    KuznyechikMgmKtree = 32,
    MagmaMgmKtree = 33,
    KuznyechikMgmMacKtree = 34,
    MagmaMgmMacKtree = 35,
}

/// <summary>Transform Type 2 - Pseudorandom Function Transform IDs.</summary>
public enum PrfId : ushort
{
    HmacMd5 = 1,
    HmacSha1 = 2,
    HmacTiger = 3,
    Aes128Xcbc = 4,
    HmacSha2_256 = 5,
    HmacSha2_384 = 6,
    HmacSha2_512 = 7,
    Aes128Cmac = 8,
    HmacStreebog512 = 9,
}

/// <summary>Transform Type 3 - Integrity Algorithm Transform IDs.</summary>
public enum IntegId : ushort
{
    None = 0,
    HmacMd5_96 = 1,
    HmacSha1_96 = 2,
    DesMac = 3,
    KpdkMd5 = 4,
    AesXcbc96 = 5,
    HmacMd5_128 = 6,
    HmacSha1_160 = 7,
    AesCmac96 = 8,
    Aes128Gmac = 9,
    Aes192Gmac = 10,
    Aes256Gmac = 11,
    HmacSha2_256_128 = 12,
    HmacSha2_384_192 = 13,
    HmacSha2_512_256 = 14,
}

/// <summary>Transform Type 4 - Key Exchange Method Transform IDs (formerly Diffie-Hellman groups).</summary>
public enum KeId : ushort
{
    None = 0,
    Modp768 = 1,
    Modp1024 = 2,
    Modp1536 = 5,
    Modp2048 = 14,
    Modp3072 = 15,
    Modp4096 = 16,
    Modp6144 = 17,
    Modp8192 = 18,
    Ecp256 = 19,
    Ecp384 = 20,
    Ecp521 = 21,
    Modp1024s160 = 22,
    Modp2048s224 = 23,
    Modp2048s256 = 24,
    Ecp192 = 25,
    Ecp224 = 26,
    Brainpool224 = 27,
    Brainpool256 = 28,
    Brainpool384 = 29,
    Brainpool512 = 30,
    Curve25519 = 31,
    Curve448 = 32,
    Gost3410_2012_256 = 33,
    Gost3410_2012_512 = 34,
    MlKem512 = 35,
    MlKem768 = 36,
    MlKem1024 = 37,
}

/// <summary>Transform Type 5 - Extended Sequence Numbers Transform IDs.</summary>
public enum EsnId : ushort
{
    NoEsn = 0,
    Esn = 1,
}

/// <summary>IKEv2 Transform Attribute Types.</summary>
public enum TransformAttributeType : ushort
{
    KeyLength = 14, // TV format (AF bit set on the wire)
}

/// <summary>IKEv2 Security Protocol Identifiers.</summary>
public enum ProtocolId : byte
{
    None = 0,
    Ike = 1,
    Ah = 2,
    Esp = 3,
    FcEspHeader = 4,
    FcCtAuthentication = 5,
    GikeUpdate = 6,
}
