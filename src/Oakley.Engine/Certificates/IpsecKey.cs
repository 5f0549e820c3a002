using System.Buffers.Binary;
using System.Security.Cryptography;
using Oakley.Crypto.Signature;

namespace Oakley.Engine.Certificates;

/// <summary>The answer of a public-key lookup in DNS, or why there is none, or still in flight.</summary>
public sealed record KeyLookup(IReadOnlyList<SignaturePublicKey> Keys, string? Error, bool InFlight);

/// <summary>
/// Public keys published in DNS (strongSwan's ipseckey plugin): the host looks up the IPSECKEY records of a peer's
/// FQDN off the engine thread and hands out only answers its validating resolver marked DNSSEC-authenticated. Every
/// call returns at once: what is cached, or <see cref="KeyLookup.InFlight"/> after starting a lookup.
/// </summary>
public interface IPublicKeyDirectory
{
    KeyLookup Lookup(string fqdn);
}

/// <summary>
/// IPSECKEY RDATA (RFC 4025 §2): precedence, gateway type, algorithm, gateway, public key. Algorithm 2 is an RSA key
/// in RFC 3110's format (exponent length, exponent, modulus), the one strongSwan's ipseckey plugin reads too.
/// </summary>
public static class IpsecKey
{
    public static SignaturePublicKey? Parse(ReadOnlySpan<byte> rdata, out string error)
    {
        error = "";
        if (rdata.Length < 3)
        {
            error = "IPSECKEY record shorter than its header";
            return null;
        }

        var gatewayType = rdata[1];
        var algorithm = rdata[2];
        var at = 3 + gatewayType switch { 0 => 0, 1 => 4, 2 => 16, _ => NameLength(rdata[3..]) };
        if (at > rdata.Length || gatewayType > 3)
        {
            error = $"IPSECKEY record with a bad gateway (type {gatewayType})";
            return null;
        }

        if (algorithm != 2)
        {
            error = $"IPSECKEY algorithm {algorithm} is not supported (2, RSA, is)";
            return null;
        }

        var key = rdata[at..];
        var (exponentLength, skip) = key.Length > 0 && key[0] != 0 ? (key[0], 1) : (key.Length >= 3 ? BinaryPrimitives.ReadUInt16BigEndian(key[1..]) : -1, 3);
        if (exponentLength <= 0 || key.Length <= skip + exponentLength)
        {
            error = "IPSECKEY RSA key malformed (RFC 3110)";
            return null;
        }

        using var rsa = RSA.Create();
        try
        {
            rsa.ImportParameters(new RSAParameters { Exponent = key.Slice(skip, exponentLength).ToArray(), Modulus = key[(skip + exponentLength)..].ToArray() });
            return SignaturePublicKey.FromSubjectPublicKeyInfo(rsa.ExportSubjectPublicKeyInfo(), out error);
        }
        catch (CryptographicException e)
        {
            error = "IPSECKEY RSA key unusable: " + e.Message;
            return null;
        }
    }

    /// <summary>The length of an uncompressed wire-format domain name (RFC 1035 §3.1); past the end if it does not end.</summary>
    private static int NameLength(ReadOnlySpan<byte> name)
    {
        var i = 0;
        while (i < name.Length && name[i] != 0)
        {
            i += 1 + name[i];
        }

        return i + 1;
    }
}
