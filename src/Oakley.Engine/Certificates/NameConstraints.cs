using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Oakley.Engine.Certificates;

/// <summary>
/// nameConstraints of a CA (RFC 5280 §4.2.1.10) applied to the certificates below it: for each name form with
/// permitted subtrees, every name of that form must be inside one; no name may be inside an excluded subtree. The
/// subject DN counts as a directoryName. Forms: DNS (a name and its subdomains; a leading dot, subdomains only),
/// email (a mailbox, a host, or a leading-dot domain), IP (address and mask), directoryName (an RDN prefix).
/// </summary>
internal static class NameConstraints
{
    public static string? Check(Certificate ca, IReadOnlyList<Certificate> below)
    {
        var permitted = ca.Extensions.PermittedSubtrees;
        var excluded = ca.Extensions.ExcludedSubtrees;
        if (permitted is null && excluded.Count == 0)
        {
            return null;
        }

        foreach (var cert in below)
        {
            foreach (var name in NamesOf(cert))
            {
                if (excluded.FirstOrDefault(c => Within(name, c)) is { } bad)
                {
                    return $"certificate '{cert.SubjectText}' has name {name}, which CA '{ca.SubjectText}' excludes ({bad})";
                }

                var sameKind = permitted?.Where(c => c.Kind == name.Kind).ToList();
                if (sameKind is { Count: > 0 } && !sameKind.Any(c => Within(name, c)))
                {
                    return $"certificate '{cert.SubjectText}' has name {name}, outside what CA '{ca.SubjectText}' permits ({string.Join(", ", sameKind)})";
                }
            }
        }

        return null;
    }

    private static IEnumerable<GeneralName> NamesOf(Certificate cert)
    {
        if (cert.Subject.RawData.Length > 2)
        {
            yield return new GeneralName(GeneralNameKind.DirectoryName, cert.SubjectText, cert.Subject.RawData);
        }

        foreach (var san in cert.Extensions.SubjectAltNames)
        {
            yield return san;
        }
    }

    internal static bool Within(GeneralName name, GeneralName constraint)
    {
        if (name.Kind != constraint.Kind)
        {
            return false;
        }

        return name.Kind switch
        {
            GeneralNameKind.Dns => DnsWithin(name.Text, constraint.Text),
            GeneralNameKind.Email => EmailWithin(name.Text, constraint.Text),
            GeneralNameKind.IpAddress => IpWithin(name.Raw, constraint.Raw),
            GeneralNameKind.DirectoryName => DnWithin(name.Raw, constraint.Raw),
            _ => false,
        };
    }

    private static bool DnsWithin(string name, string constraint)
    {
        if (constraint.Length == 0)
        {
            return true;
        }

        return constraint.StartsWith('.')
            ? name.EndsWith(constraint, StringComparison.OrdinalIgnoreCase)
            : name.Equals(constraint, StringComparison.OrdinalIgnoreCase) || name.EndsWith("." + constraint, StringComparison.OrdinalIgnoreCase);
    }

    private static bool EmailWithin(string name, string constraint)
    {
        if (constraint.Contains('@', StringComparison.Ordinal))
        {
            return name.Equals(constraint, StringComparison.OrdinalIgnoreCase);
        }

        var host = name[(name.LastIndexOf('@') + 1)..];
        return constraint.StartsWith('.') ? host.EndsWith(constraint, StringComparison.OrdinalIgnoreCase) : host.Equals(constraint, StringComparison.OrdinalIgnoreCase);
    }

    private static bool IpWithin(byte[] address, byte[] constraint)
    {
        if (constraint.Length != address.Length * 2)
        {
            return false;
        }

        for (var i = 0; i < address.Length; i++)
        {
            var mask = constraint[address.Length + i];
            if ((address[i] & mask) != (constraint[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    private static bool DnWithin(byte[] name, byte[] constraint)
    {
        try
        {
            var n = new X500DistinguishedName(name).EnumerateRelativeDistinguishedNames(false).ToList();
            var c = new X500DistinguishedName(constraint).EnumerateRelativeDistinguishedNames(false).ToList();
            return c.Count <= n.Count && c.Select((rdn, i) => rdn.RawData.Span.SequenceEqual(n[i].RawData.Span)).All(x => x);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
