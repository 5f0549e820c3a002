using System.Security.Cryptography;

namespace Oakley.Engine.Eap;

/// <summary>
/// The CHAP computation and framing EAP-MD5 uses (RFC 3748 §5.4, RFC 1994 §4.1): Value-Size, Value, then an
/// optional Name; the response Value is MD5(Identifier | secret | challenge).
/// </summary>
internal static class ChapMd5
{
    /// <summary>The MD5 output, and so the only Value-Size a response may have.</summary>
    public const int ResponseLength = 16;

    /// <summary>RFC 1994 §4.1: MD5 over the identifier of the Challenge, the secret and the challenge value.</summary>
    public static void Response(byte identifier, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> challenge, Span<byte> response)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        md5.AppendData([identifier]);
        md5.AppendData(secret);
        md5.AppendData(challenge);
        md5.GetHashAndReset(response);
    }

    /// <summary>Value-Size, the value, and the name (may be empty).</summary>
    public static byte[] Build(ReadOnlySpan<byte> value, ReadOnlySpan<byte> name)
    {
        var typeData = new byte[1 + value.Length + name.Length];
        typeData[0] = checked((byte)value.Length);
        value.CopyTo(typeData.AsSpan(1));
        name.CopyTo(typeData.AsSpan(1 + value.Length));
        return typeData;
    }

    /// <summary>The Value of a Value-Size/Value/Name type data, or false if Value-Size is 0 or runs past the data.</summary>
    public static bool TryReadValue(ReadOnlySpan<byte> typeData, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (typeData.IsEmpty || typeData[0] == 0 || 1 + typeData[0] > typeData.Length)
        {
            return false;
        }

        value = typeData.Slice(1, typeData[0]);
        return true;
    }
}
