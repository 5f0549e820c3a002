using System.Text;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine.Certificates;

/// <summary>
/// Whether a certificate confirms an IKE identity (strongSwan's <c>has_subject</c>): a DN identity must match the
/// subject or a directoryName subjectAltName; an FQDN, email or IP identity must be one of the subjectAltNames of that
/// form; a KEY_ID must be the subjectKeyIdentifier or the SHA-1 of the public key.
/// </summary>
public static class CertificateIdentity
{
    public static bool Confirms(Certificate cert, Identity id)
    {
        ArgumentNullException.ThrowIfNull(cert);
        ArgumentNullException.ThrowIfNull(id);
        var sans = cert.Extensions.SubjectAltNames;
        switch (id.Type)
        {
            case IdentificationType.DerAsn1Dn:
                return DistinguishedName.Matches(id.Value, cert.Subject.RawData)
                    || sans.Any(s => s.Kind == GeneralNameKind.DirectoryName && DistinguishedName.Matches(id.Value, s.Raw));
            case IdentificationType.Fqdn:
                return sans.Any(s => s.Kind == GeneralNameKind.Dns && s.Text.Equals(Encoding.ASCII.GetString(id.Value), StringComparison.OrdinalIgnoreCase));
            case IdentificationType.Rfc822Address:
                return sans.Any(s => s.Kind == GeneralNameKind.Email && s.Text.Equals(Encoding.ASCII.GetString(id.Value), StringComparison.OrdinalIgnoreCase));
            case IdentificationType.Ipv4Address or IdentificationType.Ipv6Address:
                return sans.Any(s => s.Kind == GeneralNameKind.IpAddress && s.Raw.AsSpan().SequenceEqual(id.Value));
            case IdentificationType.KeyId:
                return (cert.Extensions.SubjectKeyId is { } ski && ski.AsSpan().SequenceEqual(id.Value)) || cert.SpkiSha1.AsSpan().SequenceEqual(id.Value);
            default:
                return false;
        }
    }

    /// <summary>The error when it does not, in the words users asked for.</summary>
    public static string NotConfirmed(Certificate cert, Identity id) =>
        $"ID '{id}' not confirmed by certificate '{cert.SubjectText}'; its subjectAltNames are {cert.DescribeAltNames()}";

}
