using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Oakley.Host.Radius;

/// <summary>
/// The authenticators of RADIUS packets: the Request Authenticator of Access-Requests (random, RFC 2865 §3) and of
/// Accounting-Requests (an MD5 over the packet, RFC 2866 §3), the Response Authenticator (RFC 2865 §3), and the
/// Message-Authenticator attribute (HMAC-MD5, RFC 3579 §3.2). Verification compares in constant time and never
/// throws; the secret never leaves these methods.
/// </summary>
public static class RadiusSigning
{
    private const int AuthenticatorOffset = 4;
    private const int AuthenticatorLength = 16;

    /// <summary>
    /// Encodes an Access-Request: a fresh random Request Authenticator (RFC 2865 §3: unpredictable and unique over
    /// the secret's lifetime) and a Message-Authenticator last (RFC 3579 §3.2: required with EAP-Message; always sent).
    /// </summary>
    public static byte[] EncodeAccessRequest(RadiusPacket packet, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(packet);
        RandomNumberGenerator.Fill(packet.Authenticator);
        var bytes = WithZeroMessageAuthenticator(packet, out var mac);
        HMACMD5.HashData(secret, bytes, bytes.AsSpan(mac, AuthenticatorLength));
        SetMessageAuthenticator(packet, bytes.AsSpan(mac, AuthenticatorLength));
        return bytes;
    }

    /// <summary>
    /// Encodes an Accounting-Request. RFC 2866 §3: the Request Authenticator is MD5(Code + Identifier + Length +
    /// 16 zero octets + attributes + secret). No Message-Authenticator (strongSwan sends none either).
    /// </summary>
    public static byte[] EncodeAccountingRequest(RadiusPacket packet, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(packet);
        packet.Authenticator.AsSpan().Clear();
        var bytes = packet.Encode();
        Md5With(bytes, secret, bytes.AsSpan(AuthenticatorOffset, AuthenticatorLength));
        bytes.AsSpan(AuthenticatorOffset, AuthenticatorLength).CopyTo(packet.Authenticator);
        return bytes;
    }

    /// <summary>
    /// Encodes a response to a request with <paramref name="requestAuthenticator"/> (a server's side; the tests'
    /// fake server uses it). RFC 3579 §3.2: the Message-Authenticator of a response is computed with the Request
    /// Authenticator in place; RFC 2865 §3: the Response Authenticator is MD5(Code + ID + Length + RequestAuth +
    /// attributes + secret).
    /// </summary>
    public static byte[] EncodeResponse(RadiusPacket packet, ReadOnlySpan<byte> requestAuthenticator, ReadOnlySpan<byte> secret, bool messageAuthenticator)
    {
        ArgumentNullException.ThrowIfNull(packet);
        requestAuthenticator.CopyTo(packet.Authenticator);
        byte[] bytes;
        if (messageAuthenticator)
        {
            bytes = WithZeroMessageAuthenticator(packet, out var mac);
            HMACMD5.HashData(secret, bytes, bytes.AsSpan(mac, AuthenticatorLength));
            SetMessageAuthenticator(packet, bytes.AsSpan(mac, AuthenticatorLength));
        }
        else
        {
            bytes = packet.Encode();
        }

        Md5With(bytes, secret, bytes.AsSpan(AuthenticatorOffset, AuthenticatorLength));
        bytes.AsSpan(AuthenticatorOffset, AuthenticatorLength).CopyTo(packet.Authenticator);
        return bytes;
    }

    /// <summary>
    /// Checks a response datagram against the request it answers: the Response Authenticator (RFC 2865 §3), and the
    /// Message-Authenticator (RFC 3579 §3.2), which must be present when the response carries EAP-Message (or always,
    /// with <paramref name="requireMessageAuthenticator"/>) and must be right whenever present. False for anything
    /// that is not a well-formed packet.
    /// </summary>
    public static bool VerifyResponse(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> requestAuthenticator, ReadOnlySpan<byte> secret, bool requireMessageAuthenticator = false)
    {
        if (Framed(datagram) is not { } copy || requestAuthenticator.Length != AuthenticatorLength)
        {
            return false;
        }

        Span<byte> received = stackalloc byte[AuthenticatorLength];
        copy.AsSpan(AuthenticatorOffset, AuthenticatorLength).CopyTo(received);
        requestAuthenticator.CopyTo(copy.AsSpan(AuthenticatorOffset));
        Span<byte> expected = stackalloc byte[AuthenticatorLength];
        Md5With(copy, secret, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, received))
        {
            return false;
        }

        // The Message-Authenticator is computed with the Request Authenticator in place, which copy now holds.
        return CheckMessageAuthenticator(copy, secret, requireMessageAuthenticator);
    }

    /// <summary>
    /// Checks a request datagram (a server's side): an Access-Request's Message-Authenticator (required with
    /// EAP-Message), an Accounting-Request's authenticator (RFC 2866 §3).
    /// </summary>
    public static bool VerifyRequest(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> secret)
    {
        if (Framed(datagram) is not { } copy)
        {
            return false;
        }

        if ((RadiusCode)copy[0] != RadiusCode.AccountingRequest)
        {
            return CheckMessageAuthenticator(copy, secret, false);
        }

        Span<byte> received = stackalloc byte[AuthenticatorLength];
        copy.AsSpan(AuthenticatorOffset, AuthenticatorLength).CopyTo(received);
        copy.AsSpan(AuthenticatorOffset, AuthenticatorLength).Clear();
        Span<byte> expected = stackalloc byte[AuthenticatorLength];
        Md5With(copy, secret, expected);
        return CryptographicOperations.FixedTimeEquals(expected, received);
    }

    /// <summary>The datagram up to its Length field, when it parses as a packet; null otherwise.</summary>
    private static byte[]? Framed(ReadOnlySpan<byte> datagram)
    {
        if (RadiusPacket.Parse(datagram) is null)
        {
            return null;
        }

        return datagram[..BinaryPrimitives.ReadUInt16BigEndian(datagram[2..])].ToArray();
    }

    /// <summary>
    /// RFC 3579 §3.2 over a framed packet whose authenticator field already holds what the HMAC covers: one
    /// Message-Authenticator of 16 bytes must match; without one, the packet must carry no EAP-Message.
    /// </summary>
    private static bool CheckMessageAuthenticator(byte[] packet, ReadOnlySpan<byte> secret, bool required)
    {
        var mac = -1;
        var eap = false;
        for (var at = RadiusPacket.HeaderLength; at < packet.Length; at += packet[at + 1])
        {
            switch ((RadiusAttributeType)packet[at])
            {
                case RadiusAttributeType.MessageAuthenticator when mac >= 0 || packet[at + 1] != 2 + AuthenticatorLength:
                    return false; // RFC 3579 §3.2: at most one, of 16 bytes
                case RadiusAttributeType.MessageAuthenticator:
                    mac = at + 2;
                    break;
                case RadiusAttributeType.EapMessage:
                    eap = true;
                    break;
            }
        }

        if (mac < 0)
        {
            return !eap && !required;
        }

        Span<byte> received = stackalloc byte[AuthenticatorLength];
        packet.AsSpan(mac, AuthenticatorLength).CopyTo(received);
        packet.AsSpan(mac, AuthenticatorLength).Clear();
        Span<byte> expected = stackalloc byte[AuthenticatorLength];
        HMACMD5.HashData(secret, packet, expected);
        return CryptographicOperations.FixedTimeEquals(expected, received);
    }

    /// <summary>The packet's bytes with one zeroed Message-Authenticator as the last attribute; <paramref name="mac"/> is its value's offset.</summary>
    private static byte[] WithZeroMessageAuthenticator(RadiusPacket packet, out int mac)
    {
        packet.Attributes.RemoveAll(a => a.Type == RadiusAttributeType.MessageAuthenticator);
        packet.Attributes.Add(new RadiusAttribute(RadiusAttributeType.MessageAuthenticator, new byte[AuthenticatorLength]));
        var bytes = packet.Encode();
        mac = bytes.Length - AuthenticatorLength;
        return bytes;
    }

    private static void SetMessageAuthenticator(RadiusPacket packet, ReadOnlySpan<byte> value)
    {
        packet.Attributes[^1] = new RadiusAttribute(RadiusAttributeType.MessageAuthenticator, value.ToArray());
    }

    /// <summary>MD5(<paramref name="data"/> + <paramref name="secret"/>).</summary>
    private static void Md5With(ReadOnlySpan<byte> data, ReadOnlySpan<byte> secret, Span<byte> destination)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        md5.AppendData(data);
        md5.AppendData(secret);
        md5.GetHashAndReset(destination);
    }
}
