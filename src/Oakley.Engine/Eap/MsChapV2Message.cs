using System.Buffers.Binary;
using System.Text;

namespace Oakley.Engine.Eap;

/// <summary>The EAP-MSCHAPv2 OpCodes (draft-kamath-pppext-eap-mschapv2-02 §2; RFC 2759 §3–§7).</summary>
internal enum MsChapV2OpCode : byte
{
    Challenge = 1,
    Response = 2,
    Success = 3,
    Failure = 4,
    ChangePassword = 7,
}

/// <summary>
/// EAP-MSCHAPv2 type data (draft-kamath-pppext-eap-mschapv2-02 §2): OpCode, MS-CHAPv2-ID, MS-Length (the length of
/// the type data: the EAP Length minus 5) and the body of the RFC 2759 packet. The peer's Success and Failure
/// responses are the OpCode alone.
/// </summary>
internal static class MsChapV2Message
{
    /// <summary>OpCode, MS-CHAPv2-ID and MS-Length.</summary>
    public const int HeaderLength = 4;

    /// <summary>RFC 2759 §4: Peer-Challenge (16), Reserved (8), NT-Response (24), Flags (1).</summary>
    public const int ResponseValueSize = 49;

    /// <summary>The least Challenge: header, Value-Size, the 16-octet challenge and a Name of one octet (RFC 1994 §4.1).</summary>
    public const int MinChallengeLength = HeaderLength + 1 + 16 + 1;

    /// <summary>The least Response: header, Value-Size and the 49-octet value; the Name may be empty.</summary>
    public const int MinResponseLength = HeaderLength + 1 + ResponseValueSize;

    // Offsets of the Response fields in the type data.
    public const int PeerChallengeOffset = HeaderLength + 1;
    public const int NtResponseOffset = PeerChallengeOffset + 16 + 8;
    public const int NameOffset = MinResponseLength;

    /// <summary>RFC 2759 §6: the error code for a wrong password (ERROR_AUTHENTICATION_FAILURE).</summary>
    public const int AuthenticationFailure = 691;

    /// <summary>A request or response with the 4-octet header: OpCode, MS-CHAPv2-ID, MS-Length, then <paramref name="body"/>.</summary>
    public static byte[] Build(MsChapV2OpCode opCode, byte msChapV2Id, ReadOnlySpan<byte> body)
    {
        var message = new byte[HeaderLength + body.Length];
        message[0] = (byte)opCode;
        message[1] = msChapV2Id;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), checked((ushort)message.Length));
        body.CopyTo(message.AsSpan(HeaderLength));
        return message;
    }

    /// <summary>RFC 2759 §3: Value-Size 16, the Authenticator-Challenge, the authenticator's Name.</summary>
    public static byte[] Challenge(byte msChapV2Id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> name)
    {
        var body = new byte[1 + challenge.Length + name.Length];
        body[0] = (byte)challenge.Length;
        challenge.CopyTo(body.AsSpan(1));
        name.CopyTo(body.AsSpan(1 + challenge.Length));
        return Build(MsChapV2OpCode.Challenge, msChapV2Id, body);
    }

    /// <summary>RFC 2759 §4: Value-Size 49, Peer-Challenge, 8 reserved zeros, NT-Response, Flags 0, the peer's Name.</summary>
    public static byte[] Response(byte msChapV2Id, ReadOnlySpan<byte> peerChallenge, ReadOnlySpan<byte> ntResponse, ReadOnlySpan<byte> name)
    {
        var message = Build(MsChapV2OpCode.Response, msChapV2Id, new byte[1 + ResponseValueSize + name.Length]);
        message[HeaderLength] = ResponseValueSize;
        peerChallenge.CopyTo(message.AsSpan(PeerChallengeOffset));
        ntResponse.CopyTo(message.AsSpan(NtResponseOffset));
        name.CopyTo(message.AsSpan(NameOffset));
        return message;
    }

    /// <summary>RFC 2759 §5: "S=" and the authenticator response in 40 uppercase hex digits, then " M=" and a message.</summary>
    public static byte[] SuccessRequest(byte msChapV2Id, ReadOnlySpan<byte> authenticatorResponse, string message) =>
        Build(MsChapV2OpCode.Success, msChapV2Id, Encoding.ASCII.GetBytes($"S={Convert.ToHexString(authenticatorResponse)} M={message}"));

    /// <summary>RFC 2759 §6: "E=691 R=0 C=&lt;32 hex digits&gt; V=3 M=...": no retry, a fresh challenge as the format requires.</summary>
    public static byte[] FailureRequest(byte msChapV2Id, int error, ReadOnlySpan<byte> challenge, string message) =>
        Build(MsChapV2OpCode.Failure, msChapV2Id, Encoding.ASCII.GetBytes($"E={error} R=0 C={Convert.ToHexString(challenge)} V=3 M={message}"));

    /// <summary>The peer's Success-Response or Failure-Response: the OpCode alone (draft-kamath §2.4, §2.6).</summary>
    public static byte[] OpCodeOnly(MsChapV2OpCode opCode) => [(byte)opCode];

    /// <summary>
    /// The 20 octets of the "S=" field of a Success request body (RFC 2759 §5), or false if there is none or it is
    /// not 40 hex digits. Fields are separated by spaces; trailing NULs (strongSwan sends one) are ignored.
    /// </summary>
    public static bool TryReadAuthenticatorResponse(ReadOnlySpan<byte> body, Span<byte> authenticatorResponse)
    {
        foreach (var field in Fields(body))
        {
            var value = body.Slice(field.Start, field.Length);
            if (value.StartsWith("S="u8))
            {
                return TryParseHex(value[2..], authenticatorResponse);
            }
        }

        return false;
    }

    /// <summary>The decimal error code of the "E=" field of a Failure request body (RFC 2759 §6), or null.</summary>
    public static int? ReadErrorCode(ReadOnlySpan<byte> body)
    {
        foreach (var field in Fields(body))
        {
            var value = body.Slice(field.Start, field.Length);
            if (value.StartsWith("E="u8) && value.Length is > 2 and <= 11 && !value[2..].ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                var code = 0L;
                foreach (var digit in value[2..])
                {
                    code = (code * 10) + (digit - '0');
                }

                return code <= int.MaxValue ? (int)code : null;
            }
        }

        return null;
    }

    /// <summary>The space-separated fields of a Success or Failure body, without trailing NULs.</summary>
    private static List<(int Start, int Length)> Fields(ReadOnlySpan<byte> body)
    {
        var end = body.Length;
        while (end > 0 && body[end - 1] == 0)
        {
            end--;
        }

        var fields = new List<(int, int)>();
        var start = 0;
        for (var i = 0; i <= end; i++)
        {
            if (i == end || body[i] == (byte)' ')
            {
                if (i > start)
                {
                    fields.Add((start, i - start));
                }

                start = i + 1;
            }
        }

        return fields;
    }

    private static bool TryParseHex(ReadOnlySpan<byte> hex, Span<byte> destination)
    {
        if (hex.Length != destination.Length * 2)
        {
            return false;
        }

        for (var i = 0; i < destination.Length; i++)
        {
            var high = HexValue(hex[2 * i]);
            var low = HexValue(hex[(2 * i) + 1]);
            if (high < 0 || low < 0)
            {
                return false;
            }

            destination[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    // RFC 2759 §5 asks for uppercase; lowercase is accepted as strongSwan's peer does.
    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };
}
