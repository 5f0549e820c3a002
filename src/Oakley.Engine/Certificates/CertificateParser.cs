using System.Formats.Asn1;
using System.Security.Cryptography;
using Oakley.Crypto.Signature;

namespace Oakley.Engine.Certificates;

/// <summary>The tbsCertificate fields besides the extensions and the key.</summary>
internal readonly record struct CertificateFields(
    byte[] Serial, ReadOnlyMemory<byte> Issuer, ReadOnlyMemory<byte> Subject, DateTimeOffset NotBefore, DateTimeOffset NotAfter,
    SignatureScheme? SignatureAlgorithm, string? SignatureAlgorithmError, byte[] SignatureValue);

/// <summary>
/// Decodes a DER X.509 certificate (RFC 5280 §4.1). Everything a peer can send ends here as an error string: the
/// BCL's ASN.1 reader throws <see cref="AsnContentException"/>/<see cref="CryptographicException"/>, which this
/// parser catches and names. A certificate whose signature algorithm Oakley cannot verify still parses (it may be a
/// trust anchor, whose own signature nobody checks); <see cref="Certificate.SignatureAlgorithmError"/> says why.
/// </summary>
internal static class CertificateParser
{
    private static readonly Asn1Tag Version = new(TagClass.ContextSpecific, 0, true);
    private static readonly Asn1Tag IssuerUid = new(TagClass.ContextSpecific, 1);
    private static readonly Asn1Tag SubjectUid = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag ExtensionsTag = new(TagClass.ContextSpecific, 3, true);

    public static Certificate? Parse(ReadOnlySpan<byte> der, out string error)
    {
        error = "";
        var copy = der.ToArray();
        try
        {
            var outer = new AsnReader(copy, AsnEncodingRules.DER);
            var cert = outer.ReadSequence();
            if (outer.HasData)
            {
                error = "trailing bytes after the certificate";
                return null;
            }

            var tbs = cert.ReadEncodedValue();
            var outerAlgorithm = cert.ReadEncodedValue();
            var signature = cert.ReadBitString(out var unused);
            if (unused != 0 || cert.HasData)
            {
                error = "malformed signature field";
                return null;
            }

            // The reader was given the copy, so tbs is a slice of it: what the issuer signed, byte for byte.
            return ReadTbs(copy, tbs, outerAlgorithm, signature, out error);
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException or ArgumentException or OverflowException or NotSupportedException)
        {
            error = "malformed certificate: " + e.Message;
            return null;
        }
    }

    private static Certificate? ReadTbs(byte[] der, ReadOnlyMemory<byte> tbsBytes, ReadOnlyMemory<byte> outerAlgorithm, byte[] signature, out string error)
    {
        error = "";
        var tbs = new AsnReader(tbsBytes, AsnEncodingRules.DER).ReadSequence();
        var version = 0;
        if (tbs.PeekTag().HasSameClassAndValue(Version))
        {
            var v = tbs.ReadSequence(Version);
            version = v.TryReadInt32(out var n) ? n : -1;
        }

        if (version is < 0 or > 2)
        {
            error = $"unsupported certificate version {version + 1}";
            return null;
        }

        var serial = tbs.ReadIntegerBytes().ToArray();
        var innerAlgorithm = tbs.ReadEncodedValue();
        // RFC 5280 §4.1.1.2: signatureAlgorithm MUST be the same as the tbsCertificate's signature field.
        if (!innerAlgorithm.Span.SequenceEqual(outerAlgorithm.Span))
        {
            error = "the signature algorithm differs between the certificate and its tbsCertificate";
            return null;
        }

        var issuer = tbs.ReadEncodedValue();
        var validity = tbs.ReadSequence();
        var notBefore = ReadTime(validity);
        var notAfter = ReadTime(validity);
        var subject = tbs.ReadEncodedValue();
        var spki = tbs.ReadEncodedValue();
        SkipOptional(tbs, IssuerUid);
        SkipOptional(tbs, SubjectUid);
        var extensions = tbs.HasData && tbs.PeekTag().HasSameClassAndValue(ExtensionsTag) ? tbs.ReadSequence(ExtensionsTag).ReadSequence() : null;
        if (tbs.HasData)
        {
            error = "trailing data in the tbsCertificate";
            return null;
        }

        var key = SignaturePublicKey.FromSubjectPublicKeyInfo(spki.Span, out var keyError);
        if (key is null)
        {
            error = "unsupported public key: " + keyError;
            return null;
        }

        var scheme = SignatureSchemes.FromAlgorithmIdentifier(innerAlgorithm.Span, out var schemeError);
        var fields = new CertificateFields(serial, issuer, subject, notBefore, notAfter, scheme, scheme is null ? schemeError : null, signature);
        return new Certificate(der, tbsBytes, fields, CertificateExtensions.Read(extensions), key);
    }

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime(2049) : reader.ReadGeneralizedTime();

    private static void SkipOptional(AsnReader reader, Asn1Tag tag)
    {
        if (reader.HasData && reader.PeekTag().HasSameClassAndValue(tag))
        {
            reader.ReadEncodedValue();
        }
    }
}
