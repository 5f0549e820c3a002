using System.Security.Cryptography;

namespace Oakley.Config.Import;

/// <summary>
/// Libreswan's <c>leftrsasigkey=0sAwEAA…</c>: an RSA public key in the DNS KEY format of RFC 3110 §2 (an exponent
/// length octet, or a zero octet and a two-octet length for longer exponents, then the exponent and the modulus),
/// base64 after <c>0s</c> or hex after <c>0x</c>. swanctl reads raw public keys from <c>pubkey/</c> files, so the
/// importer turns each into a PEM SubjectPublicKeyInfo file.
/// </summary>
public static class RawRsaKey
{
    /// <summary>The PEM <c>PUBLIC KEY</c> of <paramref name="value"/>, or null with <paramref name="why"/>.</summary>
    public static string? ToPem(string value, out string why)
    {
        ArgumentNullException.ThrowIfNull(value);
        byte[] bytes;
        try
        {
            bytes = value.StartsWith("0s", StringComparison.Ordinal) ? Convert.FromBase64String(value[2..])
                : value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? Convert.FromHexString(value[2..]) : throw new FormatException("neither 0s (base64) nor 0x (hex)");
        }
        catch (FormatException e)
        {
            why = e.Message;
            return null;
        }

        // RFC 3110 §2: exponent length in one octet, or 0 followed by a two-octet length.
        var (length, offset) = bytes.Length > 0 && bytes[0] != 0 ? (bytes[0], 1) : bytes.Length >= 3 ? ((bytes[1] << 8) | bytes[2], 3) : (0, 0);
        if (length == 0 || bytes.Length < offset + length + 64)
        {
            why = "too short for an RSA key (RFC 3110)";
            return null;
        }

        using var rsa = RSA.Create();
        try
        {
            rsa.ImportParameters(new RSAParameters { Exponent = bytes[offset..(offset + length)], Modulus = bytes[(offset + length)..] });
        }
        catch (CryptographicException e)
        {
            why = e.Message;
            return null;
        }

        why = string.Empty;
        return rsa.ExportSubjectPublicKeyInfoPem() + "\n";
    }
}
