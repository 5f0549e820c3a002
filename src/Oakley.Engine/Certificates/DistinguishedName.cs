using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Oakley.Engine.Certificates;

/// <summary>
/// X.500 distinguished names in strongSwan's notation: RDNs in encoded order, <c>C=CH, O=Lab, CN=moon</c> (the BCL's
/// default, <see cref="X500DistinguishedName.Name"/>, prints them reversed). Matching follows strongSwan's: the same
/// RDNs in the same order, values compared case-insensitively, and a value of <c>*</c> in the pattern matches any value.
/// </summary>
public static class DistinguishedName
{
    public static string Format(X500DistinguishedName dn)
    {
        ArgumentNullException.ThrowIfNull(dn);
        try
        {
            return dn.Decode(X500DistinguishedNameFlags.None);
        }
        catch (CryptographicException)
        {
            return "#" + Convert.ToHexStringLower(dn.RawData);
        }
    }

    /// <summary>Parses <c>C=CH, O=Lab, CN=moon</c> into DER (RDNs in the order written); null if it is not a DN.</summary>
    public static byte[]? TryParse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return new X500DistinguishedName(text, X500DistinguishedNameFlags.None).RawData;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/> (both DER), with <c>*</c> wildcards in the pattern.</summary>
    public static bool Matches(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> name)
    {
        if (pattern.SequenceEqual(name))
        {
            return true;
        }

        try
        {
            var p = new X500DistinguishedName(pattern).EnumerateRelativeDistinguishedNames(false).ToList();
            var n = new X500DistinguishedName(name).EnumerateRelativeDistinguishedNames(false).ToList();
            if (p.Count != n.Count)
            {
                return false;
            }

            for (var i = 0; i < p.Count; i++)
            {
                if (!RdnMatches(p[i], n[i]))
                {
                    return false;
                }
            }

            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Whether some RDN value of <paramref name="dn"/> is the wildcard <c>*</c>.</summary>
    public static bool HasWildcard(ReadOnlySpan<byte> dn)
    {
        try
        {
            return new X500DistinguishedName(dn).EnumerateRelativeDistinguishedNames(false)
                .Any(r => !r.HasMultipleElements && r.GetSingleElementValue() == "*");
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool RdnMatches(X500RelativeDistinguishedName pattern, X500RelativeDistinguishedName name)
    {
        if (pattern.HasMultipleElements || name.HasMultipleElements)
        {
            return pattern.RawData.Span.SequenceEqual(name.RawData.Span);
        }

        if (pattern.GetSingleElementType().Value != name.GetSingleElementType().Value)
        {
            return false;
        }

        var want = pattern.GetSingleElementValue();
        var have = name.GetSingleElementValue();
        return want == "*" || (want is not null && have is not null && string.Equals(want.Trim(), have.Trim(), StringComparison.OrdinalIgnoreCase));
    }
}
