using System.Buffers.Binary;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Eap;

/// <summary>Builds whole EAP messages (RFC 3748 §4): Code, Identifier, Length, and for requests and responses the Type and its data.</summary>
public static class EapMessage
{
    public static byte[] Request(byte identifier, EapType type, ReadOnlySpan<byte> typeData) => Build(EapCode.Request, identifier, (byte)type, typeData);

    public static byte[] Response(byte identifier, EapType type, ReadOnlySpan<byte> typeData) => Build(EapCode.Response, identifier, (byte)type, typeData);

    public static byte[] Success(byte identifier) => [(byte)EapCode.Success, identifier, 0, 4];

    public static byte[] Failure(byte identifier) => [(byte)EapCode.Failure, identifier, 0, 4];

    /// <summary>The type data of a request or response (after the Type octet); empty for success and failure.</summary>
    public static ReadOnlySpan<byte> TypeData(ReadOnlySpan<byte> message) => message.Length > 5 ? message[5..] : [];

    /// <summary>"EAP-MSCHAPV2", "EAP-MD5", … for logs, or the number.</summary>
    public static string Name(EapType type) => Enum.IsDefined(type) ? "EAP-" + type.ToString().ToUpperInvariant() : $"EAP type {(byte)type}";

    private static byte[] Build(EapCode code, byte identifier, byte type, ReadOnlySpan<byte> typeData)
    {
        var m = new byte[5 + typeData.Length];
        m[0] = (byte)code;
        m[1] = identifier;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), checked((ushort)m.Length));
        m[4] = type;
        typeData.CopyTo(m.AsSpan(5));
        return m;
    }
}
