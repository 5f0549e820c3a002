using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Oakley.Crypto.Signature;

namespace Oakley.Engine.Certificates;

/// <summary>
/// An X.509 v3 certificate (RFC 5280) as IKE authentication needs it: names, validity, the public key, the
/// extensions that decide whether it may be used (basic constraints, key usage, extended key usage, name
/// constraints, subjectAltNames) and what its issuer signed. Decoded by <see cref="CertificateParser"/> from DER
/// with System.Formats.Asn1, so a malformed certificate from a peer is an error string, never an exception, and no
/// native handle is held per certificate (a gateway caches thousands of them).
/// </summary>
public sealed class Certificate
{
    internal Certificate(byte[] der, ReadOnlyMemory<byte> tbs, CertificateFields fields, CertificateExtensions extensions, SignaturePublicKey publicKey)
    {
        Der = der;
        Tbs = tbs;
        Serial = fields.Serial;
        Subject = new X500DistinguishedName(fields.Subject.Span);
        Issuer = new X500DistinguishedName(fields.Issuer.Span);
        NotBefore = fields.NotBefore;
        NotAfter = fields.NotAfter;
        SignatureAlgorithm = fields.SignatureAlgorithm;
        SignatureAlgorithmError = fields.SignatureAlgorithmError;
        SignatureValue = fields.SignatureValue;
        Extensions = extensions;
        PublicKey = publicKey;
        SpkiSha1 = SHA1.HashData(publicKey.SubjectPublicKeyInfo.Span);
        SubjectText = DistinguishedName.Format(Subject);
        IssuerText = DistinguishedName.Format(Issuer);
        IsSelfIssued = fields.Subject.Span.SequenceEqual(fields.Issuer.Span);
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData(der));
    }

    /// <summary>The whole certificate, as it goes into a CERT payload.</summary>
    public byte[] Der { get; }

    /// <summary>The tbsCertificate its issuer signed.</summary>
    public ReadOnlyMemory<byte> Tbs { get; }

    /// <summary>The serial number, big-endian as encoded.</summary>
    public byte[] Serial { get; }

    public string SerialHex => Convert.ToHexStringLower(Serial);

    public X500DistinguishedName Subject { get; }

    public X500DistinguishedName Issuer { get; }

    /// <summary>The subject in strongSwan's notation (RDNs in encoded order): <c>C=CH, O=Lab, CN=moon</c>.</summary>
    public string SubjectText { get; }

    public string IssuerText { get; }

    public DateTimeOffset NotBefore { get; }

    public DateTimeOffset NotAfter { get; }

    /// <summary>The scheme the issuer signed with; null when it is not one Oakley verifies (<see cref="SignatureAlgorithmError"/> says which).</summary>
    public SignatureScheme? SignatureAlgorithm { get; }

    public string? SignatureAlgorithmError { get; }

    public byte[] SignatureValue { get; }

    public CertificateExtensions Extensions { get; }

    public SignaturePublicKey PublicKey { get; }

    /// <summary>SHA-1 of the SubjectPublicKeyInfo: how a CERTREQ names this certificate as a CA (RFC 7296 §3.7).</summary>
    public byte[] SpkiSha1 { get; }

    /// <summary>Subject and issuer are the same name (a root, or a self-issued key rollover certificate).</summary>
    public bool IsSelfIssued { get; }

    /// <summary>SHA-256 of the DER, lower-case hex: the key of every cache.</summary>
    public string Fingerprint { get; }

    public bool IsCa => Extensions.IsCa;

    /// <summary>Decodes a DER certificate; null with <paramref name="error"/> saying what is wrong.</summary>
    public static Certificate? Parse(ReadOnlySpan<byte> der, out string error) => CertificateParser.Parse(der, out error);

    /// <summary>Whether <paramref name="issuer"/>'s key verifies this certificate's signature.</summary>
    public bool IsSignedBy(Certificate issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        return IsSignedBy(issuer.PublicKey);
    }

    public bool IsSignedBy(SignaturePublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SignatureAlgorithm is { } scheme && scheme.KeyType == key.KeyType && key.Verify(scheme, Tbs.Span, SignatureValue);
    }

    /// <summary>Valid at <paramref name="now"/>, or why not (the wording of Oakley's errors).</summary>
    public string? CheckValidity(DateTimeOffset now)
    {
        if (now < NotBefore)
        {
            return $"certificate '{SubjectText}' is not valid before {NotBefore:yyyy-MM-dd HH:mm:ss}Z (now {now.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z)";
        }

        return now > NotAfter ? $"certificate '{SubjectText}' expired on {NotAfter:yyyy-MM-dd} (now {now.UtcDateTime:yyyy-MM-dd})" : null;
    }

    /// <summary>The subjectAltNames as <c>DNS:moon.example, IP:192.0.2.1</c> (or "none").</summary>
    public string DescribeAltNames() => Extensions.SubjectAltNames.Count == 0 ? "none" : string.Join(", ", Extensions.SubjectAltNames);

    public override string ToString() => SubjectText;
}
