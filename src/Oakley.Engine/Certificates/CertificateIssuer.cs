using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Oakley.Crypto.Signature;

namespace Oakley.Engine.Certificates;

/// <summary>What a certificate to issue says (its subject's key comes separately).</summary>
public sealed record CertificateProfile(string Subject)
{
    public bool IsCa { get; init; }

    public int? PathLength { get; init; }

    public IReadOnlyList<string> SubjectAltNames { get; init; } = [];

    /// <summary>extendedKeyUsage OIDs; null: no EKU extension.</summary>
    public IReadOnlyList<string>? ExtendedKeyUsage { get; init; }

    public required DateTimeOffset NotBefore { get; init; }

    public required DateTimeOffset NotAfter { get; init; }

    public byte[] Serial { get; init; } = [1];

    /// <summary>CRL distribution point URIs and OCSP responder URIs (authorityInfoAccess).</summary>
    public IReadOnlyList<string> CrlUris { get; init; } = [];

    public IReadOnlyList<string> OcspUris { get; init; } = [];
}

/// <summary>
/// Issues X.509 certificates from an in-memory CA key: the benchmark's and the tests' PKI, built at run time so no
/// private key is ever committed. The BCL's <see cref="CertificateRequest"/> encodes the certificate; the signature
/// goes through Oakley's own signature layer, so Ed25519 and Ed448 CAs work where the BCL has no such key type.
/// SANs are <c>DNS:</c>, <c>IP:</c> or <c>email:</c>, or bare (an IP address or a DNS name).
/// </summary>
public static class CertificateIssuer
{
    /// <summary>Issues a certificate for <paramref name="subjectSpki"/>, signed by <paramref name="issuerKey"/> under <paramref name="issuer"/> (null: self-signed).</summary>
    public static Certificate Issue(CertificateProfile profile, ReadOnlySpan<byte> subjectSpki, SignaturePrivateKey issuerKey, Certificate? issuer)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(issuerKey);
        var subject = new X500DistinguishedName(profile.Subject, X500DistinguishedNameFlags.None);
        var publicKey = PublicKey.CreateFromSubjectPublicKeyInfo(subjectSpki, out _);
        var request = new CertificateRequest(subject, publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(profile.IsCa, profile.PathLength is not null, profile.PathLength ?? 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            profile.IsCa ? X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign : X509KeyUsageFlags.DigitalSignature, true));
        var ski = new X509SubjectKeyIdentifierExtension(SHA1.HashData(subjectSpki), false);
        request.CertificateExtensions.Add(ski);
        if (issuer?.Extensions.SubjectKeyId is { } issuerSki)
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(issuerSki));
        }

        if (profile.SubjectAltNames.Count > 0)
        {
            request.CertificateExtensions.Add(AltNames(profile.SubjectAltNames));
        }

        if (profile.ExtendedKeyUsage is { } eku)
        {
            var oids = new OidCollection();
            foreach (var oid in eku)
            {
                oids.Add(new Oid(oid));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        }

        if (profile.CrlUris.Count > 0)
        {
            request.CertificateExtensions.Add(CertificateRevocationListBuilder.BuildCrlDistributionPointExtension(profile.CrlUris));
        }

        if (profile.OcspUris.Count > 0)
        {
            request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(profile.OcspUris, null));
        }

        var issuerName = issuer?.Subject ?? subject;
        using var created = request.Create(issuerName, new Signer(issuerKey), profile.NotBefore, profile.NotAfter, profile.Serial);
        return Certificate.Parse(created.RawData, out var error) ?? throw new InvalidOperationException("issued certificate does not parse: " + error);
    }

    /// <summary>The scheme a CA key signs certificates with: SHA-256 (SHA-384 for P-384, SHA-512 for P-521), or EdDSA.</summary>
    public static SignatureScheme SchemeFor(SignaturePrivateKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.KeyType switch
        {
            SignatureKeyType.Rsa => SignatureSchemes.RsaPkcs1Sha256,
            SignatureKeyType.Ecdsa => key.KeySize switch { 384 => SignatureSchemes.EcdsaSha384, 521 => SignatureSchemes.EcdsaSha512, _ => SignatureSchemes.EcdsaSha256 },
            SignatureKeyType.Ed25519 => SignatureSchemes.Ed25519,
            _ => SignatureSchemes.Ed448,
        };
    }

    private static X509Extension AltNames(IReadOnlyList<string> names)
    {
        var builder = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            var (kind, value) = name.IndexOf(':', StringComparison.Ordinal) is var colon and > 0 && !IPAddress.TryParse(name, out _)
                ? (name[..colon], name[(colon + 1)..]) : (IPAddress.TryParse(name, out _) ? "IP" : "DNS", name);
            switch (kind)
            {
                case "IP":
                    builder.AddIpAddress(IPAddress.Parse(value));
                    break;
                case "email":
                    builder.AddEmailAddress(value);
                    break;
                default:
                    builder.AddDnsName(value);
                    break;
            }
        }

        return builder.Build();
    }

    /// <summary>Signs the tbsCertificate with Oakley's signature layer.</summary>
    private sealed class Signer(SignaturePrivateKey key) : X509SignatureGenerator
    {
        private readonly SignatureScheme _scheme = SchemeFor(key);

        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm) => _scheme.AlgorithmIdentifier.ToArray();

        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) => key.Sign(_scheme, data);

        protected override PublicKey BuildPublicKey() => PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
    }
}
