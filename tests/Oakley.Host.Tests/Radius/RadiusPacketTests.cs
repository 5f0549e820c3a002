using System.Net;
using System.Text;
using Oakley.Host.Radius;

namespace Oakley.Host.Tests.Radius;

/// <summary>
/// The RADIUS codec and its authenticators against RFC 2865 §7's example packets, and against values computed
/// independently (Python's hashlib/hmac) for the Message-Authenticator, the RFC 2866 accounting authenticator and the
/// RFC 2548 key encryption.
/// </summary>
public class RadiusPacketTests
{
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("xyzzy5461");

    // RFC 2865 §7.1: nemo's Access-Request (PAP "arctangent", NAS 192.168.1.16 port 3) and the Access-Accept.
    private static readonly byte[] Rfc2865Request = Convert.FromHexString(
        "010000380f403f9473978057bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce3196e43f782a0aee0406c0a80110050600000003");

    private static readonly byte[] Rfc2865Accept = Convert.FromHexString(
        "0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103");

    // RFC 2865 §7.2: flopsy's Access-Request and Access-Accept (Framed-MTU 1500, which the RFC's dump misprints as
    // 00 00 02 dc). The example's Response Authenticator matches neither spelling, so only its parsing is checked.
    private static readonly byte[] Rfc2865FramedRequest = Convert.FromHexString(
        "010100472aee86f08d0d55969ca5978e0d3367a20108666c6f707379031316e97557c316185895f293ff63440772750406c0a80110050600000014060600000002070600000001");

    private static readonly byte[] Rfc2865FramedAccept = Convert.FromHexString(
        "0201003815efbc7dab26cfa3dc34d9c03c8601a40606000000020706000000010806fffffffe0a06000000000d06000000010c06000005dc");

    [Fact]
    public void Rfc2865_7_1_ParsesReencodesAndTheAcceptVerifies()
    {
        var request = RadiusPacket.Parse(Rfc2865Request)!;
        Assert.Equal((RadiusCode.AccessRequest, (byte)0), (request.Code, request.Identifier));
        Assert.Equal("nemo", request.FindString(RadiusAttributeType.UserName));
        Assert.Equal(3u, request.FindUInt32(RadiusAttributeType.NasPort));
        Assert.Equal(Rfc2865Request, request.Encode());

        Assert.True(RadiusSigning.VerifyResponse(Rfc2865Accept, request.Authenticator, Secret));
        // What the client asks of answers to its EAP Access-Requests: this one has no Message-Authenticator.
        Assert.False(RadiusSigning.VerifyResponse(Rfc2865Accept, request.Authenticator, Secret, requireMessageAuthenticator: true));
        Assert.False(RadiusSigning.VerifyResponse(Rfc2865Accept, request.Authenticator, Encoding.ASCII.GetBytes("xyzzy5462")));
        var tampered = (byte[])Rfc2865Accept.Clone();
        tampered[^1] ^= 1;
        Assert.False(RadiusSigning.VerifyResponse(tampered, request.Authenticator, Secret));

        // Our server-side encoder builds the very same Accept from its attributes.
        var accept = new RadiusPacket(RadiusCode.AccessAccept, 0);
        accept.AddUInt32(RadiusAttributeType.ServiceType, 1);
        accept.AddUInt32((RadiusAttributeType)15, 0);
        accept.AddAddress((RadiusAttributeType)14, IPAddress.Parse("192.168.1.3"));
        Assert.Equal(Rfc2865Accept, RadiusSigning.EncodeResponse(accept, request.Authenticator, Secret, messageAuthenticator: false));
    }

    [Fact]
    public void Rfc2865_7_2_FramedAccept_TheNasChoosesIsNoAddress()
    {
        var request = RadiusPacket.Parse(Rfc2865FramedRequest)!;
        Assert.Equal("flopsy", request.FindString(RadiusAttributeType.UserName));
        var accept = RadiusPacket.Parse(Rfc2865FramedAccept)!;
        Assert.Equal(1500u, accept.FindUInt32((RadiusAttributeType)12));
        // Framed-IP-Address 255.255.255.254 is "the NAS chooses" (RFC 2865 §5.8), not an address to assign.
        Assert.Empty(accept.FramedAddresses());
    }

    // An Access-Challenge (identifier 7) to the §7.1 request, carrying an EAP-MD5 request and State "st01", with the
    // Message-Authenticator and Response Authenticator computed with Python's hmac/hashlib.
    private static readonly byte[] Challenge = Convert.FromHexString(
        "0b070044e958af337402b6761e95a637065dd9354f18010200160410101112131415161718191a1b1c1d1e1f1806737430315012b9df9a1dc177be440c7ee5d8310df992");

    [Fact]
    public void MessageAuthenticator_KnownValue_VerifiesAndIsReproduced()
    {
        var requestAuthenticator = RadiusPacket.Parse(Rfc2865Request)!.Authenticator;
        Assert.True(RadiusSigning.VerifyResponse(Challenge, requestAuthenticator, Secret, requireMessageAuthenticator: true));
        var parsed = RadiusPacket.Parse(Challenge)!;
        Assert.Equal(Encoding.ASCII.GetBytes("st01"), parsed.Find(RadiusAttributeType.State));
        Assert.Equal(22, parsed.EapMessage()!.Length);

        var built = new RadiusPacket(RadiusCode.AccessChallenge, 7);
        built.AddEapMessage(parsed.EapMessage());
        built.Add(RadiusAttributeType.State, Encoding.ASCII.GetBytes("st01"));
        Assert.Equal(Challenge, RadiusSigning.EncodeResponse(built, requestAuthenticator, Secret, messageAuthenticator: true));

        // A wrong Message-Authenticator with a right Response Authenticator (a forger who knows neither can do
        // neither; this isolates the RFC 3579 check) is refused, and so is one that leaves the attribute out.
        var forged = RadiusPacket.Parse(Challenge)!;
        forged.Attributes[^1] = new RadiusAttribute(RadiusAttributeType.MessageAuthenticator, new byte[16]);
        var forgedBytes = RadiusSigning.EncodeResponse(forged, requestAuthenticator, Secret, messageAuthenticator: false);
        Assert.False(RadiusSigning.VerifyResponse(forgedBytes, requestAuthenticator, Secret));
        var without = new RadiusPacket(RadiusCode.AccessChallenge, 7);
        without.AddEapMessage(parsed.EapMessage());
        Assert.False(RadiusSigning.VerifyResponse(RadiusSigning.EncodeResponse(without, requestAuthenticator, Secret, false), requestAuthenticator, Secret));
    }

    [Fact]
    public void AccessRequest_CarriesAMessageAuthenticatorThatVerifies()
    {
        var request = new RadiusPacket(RadiusCode.AccessRequest, 9);
        request.AddString(RadiusAttributeType.UserName, "carol");
        request.AddEapMessage([2, 0, 0, 10, 1, .. "carol"u8]);
        var bytes = RadiusSigning.EncodeAccessRequest(request, Secret);
        Assert.Equal(RadiusAttributeType.MessageAuthenticator, request.Attributes[^1].Type);
        Assert.True(RadiusSigning.VerifyRequest(bytes, Secret));
        Assert.False(RadiusSigning.VerifyRequest(bytes, "other"u8));
        bytes[25] ^= 0x20;
        Assert.False(RadiusSigning.VerifyRequest(bytes, Secret));
        // A fresh Request Authenticator each time (RFC 2865 §3).
        var again = RadiusSigning.EncodeAccessRequest(request, Secret);
        Assert.NotEqual(bytes.AsSpan(4, 16).ToArray(), again.AsSpan(4, 16).ToArray());
    }

    [Fact]
    public void AccountingRequest_Rfc2866Authenticator_KnownValue()
    {
        var request = new RadiusPacket(RadiusCode.AccountingRequest, 3);
        request.AddUInt32(RadiusAttributeType.AcctStatusType, (uint)AcctStatusType.Start);
        request.AddString(RadiusAttributeType.AcctSessionId, "1-1");
        var bytes = RadiusSigning.EncodeAccountingRequest(request, Secret);
        Assert.Equal("0403001F707A5F0F8328B6A1C753F3018E74C0B72806000000012C05312D31", Convert.ToHexString(bytes));
        Assert.True(RadiusSigning.VerifyRequest(bytes, Secret));
        bytes[^1] ^= 1;
        Assert.False(RadiusSigning.VerifyRequest(bytes, Secret));
    }

    [Fact]
    public void EapMessage_IsSplitInto253ByteAttributesAndJoinedBack()
    {
        var eap = Enumerable.Range(0, 600).Select(i => (byte)i).ToArray();
        var packet = new RadiusPacket(RadiusCode.AccessRequest);
        packet.AddEapMessage(eap);
        Assert.Equal([253, 253, 94], packet.FindAll(RadiusAttributeType.EapMessage).Select(v => v.Length));
        var parsed = RadiusPacket.Parse(packet.Encode())!;
        Assert.Equal(eap, parsed.EapMessage());

        // EAP-Start (RFC 3579 §2.1) is one empty EAP-Message.
        var start = new RadiusPacket(RadiusCode.AccessRequest);
        start.AddEapMessage([]);
        Assert.Equal("4F02", Convert.ToHexString(start.Encode().AsSpan(20)));
        Assert.Null(new RadiusPacket(RadiusCode.AccessAccept).EapMessage());
    }

    [Fact]
    public void Parse_RefusesBadLengthsAndIgnoresPadding()
    {
        Assert.Null(RadiusPacket.Parse(Rfc2865Accept.AsSpan(0, 19)));
        Assert.Null(RadiusPacket.Parse(Rfc2865Accept.AsSpan(0, Rfc2865Accept.Length - 1))); // Length beyond the datagram
        var attributeOverrun = (byte[])Rfc2865Accept.Clone();
        attributeOverrun[21] = 0x30;
        Assert.Null(RadiusPacket.Parse(attributeOverrun));
        var zeroLength = (byte[])Rfc2865Accept.Clone();
        zeroLength[21] = 1;
        Assert.Null(RadiusPacket.Parse(zeroLength));
        // RFC 2865 §3: octets past Length are padding.
        var padded = Rfc2865Accept.Concat(new byte[7]).ToArray();
        Assert.Equal(Rfc2865Accept, RadiusPacket.Parse(padded)!.Encode());
        Assert.True(RadiusSigning.VerifyResponse(padded, RadiusPacket.Parse(Rfc2865Request)!.Authenticator, Secret));
    }

    [Fact]
    public void HostileInput_NeverThrows()
    {
        var random = new Random(2865);
        var seeds = new[] { Rfc2865Request, Rfc2865Accept, Challenge, Rfc2865FramedAccept };
        var authenticator = new byte[16];
        for (var i = 0; i < 20000; i++)
        {
            var data = (byte[])seeds[i % seeds.Length].Clone();
            for (var m = random.Next(1, 6); m > 0; m--)
            {
                data[random.Next(data.Length)] = (byte)random.Next(256);
            }

            if (i % 7 == 0)
            {
                data = data.AsSpan(0, random.Next(data.Length)).ToArray();
            }

            var parsed = RadiusPacket.Parse(data);
            _ = RadiusSigning.VerifyResponse(data, authenticator, Secret);
            _ = RadiusSigning.VerifyRequest(data, Secret);
            if (parsed is not null)
            {
                _ = parsed.EapMessage();
                _ = parsed.VendorAttributes().ToList();
                _ = parsed.FramedAddresses();
                _ = MppeKeys.Msk(parsed, Secret, authenticator);
            }

            _ = MppeKeys.Decrypt(data, Secret, authenticator);
        }
    }
}
