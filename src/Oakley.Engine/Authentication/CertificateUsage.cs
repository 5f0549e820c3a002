using System.Security.Cryptography.X509Certificates;
using Oakley.Engine.Certificates;

namespace Oakley.Engine.Authentication;

/// <summary>
/// Whether an end-entity certificate may authenticate an IKE peer. keyUsage, when present, must allow signing
/// (digitalSignature or nonRepudiation, RFC 4945 §5.1.3.2). extendedKeyUsage follows RFC 4945 §5.1.3.12 widened as
/// strongSwan deployments need it: no EKU, anyExtendedKeyUsage, id-kp-ipsecIKE, serverAuth, clientAuth (what
/// strongSwan's <c>pki --flag</c> issues for Windows, macOS and Android clients) or the IKE intermediate EKU
/// (1.3.6.1.5.5.8.2.2) are accepted; an EKU with none of them (only codeSigning, emailProtection, OCSP signing, …)
/// refuses the certificate.
/// </summary>
internal static class CertificateUsage
{
    private static readonly string[] IkeUsages =
    [
        CertificateExtensions.AnyExtendedKeyUsage, CertificateExtensions.IpsecIke, CertificateExtensions.ServerAuth,
        CertificateExtensions.ClientAuth, CertificateExtensions.IkeIntermediate,
    ];

    public static string? Check(Certificate cert)
    {
        if (cert.Extensions.KeyUsage is { } usage && (usage & (X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation)) == 0)
        {
            return $"certificate '{cert.SubjectText}' may not sign (keyUsage has neither digitalSignature nor nonRepudiation)";
        }

        if (cert.Extensions.ExtendedKeyUsage is { } eku && !eku.Any(IkeUsages.Contains))
        {
            return $"certificate '{cert.SubjectText}' has extendedKeyUsage {string.Join(", ", eku.Select(Name))}, which does not allow IKE " +
                "(accepted: none, serverAuth, clientAuth, ipsecIKE, ikeIntermediate, anyExtendedKeyUsage)";
        }

        return null;
    }

    private static string Name(string oid) => oid switch
    {
        CertificateExtensions.ServerAuth => "serverAuth",
        CertificateExtensions.ClientAuth => "clientAuth",
        "1.3.6.1.5.5.7.3.3" => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        _ => oid,
    };
}
