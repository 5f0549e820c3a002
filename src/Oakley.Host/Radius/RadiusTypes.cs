namespace Oakley.Host.Radius;

/// <summary>RADIUS packet codes (RFC 2865 §3, RFC 2866 §3).</summary>
public enum RadiusCode : byte
{
    AccessRequest = 1,
    AccessAccept = 2,
    AccessReject = 3,
    AccountingRequest = 4,
    AccountingResponse = 5,
    AccessChallenge = 11,
}

/// <summary>The RADIUS attribute types Oakley sends or reads (IANA "RADIUS Attribute Types").</summary>
public enum RadiusAttributeType : byte
{
    UserName = 1,
    UserPassword = 2,
    NasIpAddress = 4,
    NasPort = 5,
    ServiceType = 6,
    FramedIpAddress = 8,
    ReplyMessage = 18,
    State = 24,
    Class = 25,
    VendorSpecific = 26,
    SessionTimeout = 27,
    CalledStationId = 30,
    CallingStationId = 31,
    NasIdentifier = 32,
    AcctStatusType = 40,
    AcctDelayTime = 41,
    AcctInputOctets = 42,
    AcctOutputOctets = 43,
    AcctSessionId = 44,
    AcctSessionTime = 46,
    AcctInputPackets = 47,
    AcctOutputPackets = 48,
    AcctTerminateCause = 49,
    AcctInputGigawords = 52,
    AcctOutputGigawords = 53,
    NasPortType = 61,
    EapMessage = 79,
    MessageAuthenticator = 80,
    AcctInterimInterval = 85,
    NasPortId = 87,
    NasIpv6Address = 95,
    FramedIpv6Address = 168,
}

/// <summary>Acct-Status-Type values (RFC 2866 §5.1, RFC 2869 §2.1 for Interim-Update).</summary>
public enum AcctStatusType : uint
{
    Start = 1,
    Stop = 2,
    InterimUpdate = 3,
}

/// <summary>Acct-Terminate-Cause values (RFC 2866 §5.10) that an IKE SA's end maps to.</summary>
public enum AcctTerminateCause : uint
{
    UserRequest = 1,
    LostCarrier = 2,
    LostService = 3,
    IdleTimeout = 4,
    SessionTimeout = 5,
    AdminReset = 6,
    AdminReboot = 7,
    NasRequest = 10,
}

/// <summary>Numbers from the RFCs that the RADIUS code shares.</summary>
public static class RadiusNumbers
{
    /// <summary>RFC 2865 §5.6: Service-Type Framed.</summary>
    public const uint ServiceTypeFramed = 2;

    /// <summary>RFC 2865 §5.41: NAS-Port-Type Virtual (what strongSwan sends for an IKE SA).</summary>
    public const uint NasPortTypeVirtual = 5;

    /// <summary>The Microsoft private enterprise number, the vendor of the MPPE key attributes (RFC 2548 §2).</summary>
    public const uint VendorMicrosoft = 311;

    /// <summary>RFC 2548 §2.4.2: MS-MPPE-Send-Key.</summary>
    public const byte MsMppeSendKey = 16;

    /// <summary>RFC 2548 §2.4.3: MS-MPPE-Recv-Key.</summary>
    public const byte MsMppeRecvKey = 17;

    public const int AuthPort = 1812;

    public const int AcctPort = 1813;
}
