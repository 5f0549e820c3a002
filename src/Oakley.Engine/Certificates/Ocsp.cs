using System.Formats.Asn1;
using System.Security.Cryptography;
using Oakley.Crypto.Signature;

namespace Oakley.Engine.Certificates;

/// <summary>
/// OCSP (RFC 6960) as a client needs it: a request for one certificate (CertID with SHA-1, a nonce extension,
/// RFC 8954), and the check of the answer: a successful basic response, signed by the issuing CA or by a responder
/// certificate that CA issued for OCSP signing (id-kp-OCSPSigning), carrying our nonce, current
/// (thisUpdate ≤ now ≤ nextUpdate), for our CertID. Everything else is an error string.
/// </summary>
public static class Ocsp
{
    private const string Sha1Oid = "1.3.14.3.2.26";
    private const string NonceOid = "1.3.6.1.5.5.7.48.1.2";
    private const string BasicOid = "1.3.6.1.5.5.7.48.1.1";
    private const string OcspSigning = "1.3.6.1.5.5.7.3.9";
    private static readonly Asn1Tag Ctx0 = new(TagClass.ContextSpecific, 0, true);
    private static readonly Asn1Tag Ctx1 = new(TagClass.ContextSpecific, 1, true);
    private static readonly Asn1Tag Ctx2 = new(TagClass.ContextSpecific, 2, true);

    /// <summary>The DER OCSPRequest for <paramref name="cert"/> issued by <paramref name="issuer"/>, with <paramref name="nonce"/>.</summary>
    public static byte[] Request(Certificate cert, Certificate issuer, ReadOnlySpan<byte> nonce)
    {
        ArgumentNullException.ThrowIfNull(cert);
        ArgumentNullException.ThrowIfNull(issuer);
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        using (w.PushSequence())
        {
            using (w.PushSequence())
            using (w.PushSequence())
            {
                WriteCertId(w, cert, issuer);
            }

            using (w.PushSequence(Ctx2))
            using (w.PushSequence())
            using (w.PushSequence())
            {
                w.WriteObjectIdentifier(NonceOid);
                var inner = new AsnWriter(AsnEncodingRules.DER);
                inner.WriteOctetString(nonce);
                w.WriteOctetString(inner.Encode());
            }
        }

        return w.Encode();
    }

    /// <summary>What the response says about <paramref name="cert"/>: good, revoked (with date and reason) or unknown, or why it cannot be used.</summary>
    public static RevocationStatus Check(ReadOnlySpan<byte> response, Certificate cert, Certificate issuer, ReadOnlySpan<byte> nonce, DateTimeOffset now, string source)
    {
        ArgumentNullException.ThrowIfNull(cert);
        ArgumentNullException.ThrowIfNull(issuer);
        try
        {
            var outer = new AsnReader(response.ToArray(), AsnEncodingRules.DER).ReadSequence();
            var status = outer.ReadEnumeratedBytes().Span;
            if (status is not [0])
            {
                return Unknown($"OCSP responder {source} answered status {(status.Length == 1 ? status[0] : -1)} (not successful)");
            }

            var bytes = outer.ReadSequence(Ctx0).ReadSequence();
            if (bytes.ReadObjectIdentifier() != BasicOid)
            {
                return Unknown($"OCSP responder {source} sent a response type other than basic");
            }

            return CheckBasic(bytes.ReadOctetString(), cert, issuer, nonce, now, source);
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException or ArgumentException or OverflowException or NotSupportedException)
        {
            return Unknown($"malformed OCSP response from {source}: {e.Message}");
        }
    }

    private static RevocationStatus CheckBasic(byte[] basic, Certificate cert, Certificate issuer, ReadOnlySpan<byte> nonce, DateTimeOffset now, string source)
    {
        var seq = new AsnReader(basic, AsnEncodingRules.DER).ReadSequence();
        var tbs = seq.ReadEncodedValue();
        var scheme = SignatureSchemes.FromAlgorithmIdentifier(seq.ReadEncodedValue().Span, out var why);
        var signature = seq.ReadBitString(out _);
        var certs = new List<Certificate>();
        if (seq.HasData && seq.PeekTag().HasSameClassAndValue(Ctx0))
        {
            var list = seq.ReadSequence(Ctx0).ReadSequence();
            while (list.HasData)
            {
                if (Certificate.Parse(list.ReadEncodedValue().Span, out _) is { } c)
                {
                    certs.Add(c);
                }
            }
        }

        if (scheme is null)
        {
            return Unknown($"OCSP response from {source} is signed with an unknown algorithm ({why})");
        }

        var signer = SignerOf(issuer, certs, scheme, tbs.Span, signature, now);
        if (signer is null)
        {
            return Unknown($"OCSP response from {source} is not signed by '{issuer.SubjectText}' or a responder it authorized");
        }

        return ReadResponseData(tbs, cert, issuer, nonce, now, source);
    }

    /// <summary>The issuer itself, or a responder certificate the issuer signed with the OCSPSigning EKU (RFC 6960 §4.2.2.2).</summary>
    private static Certificate? SignerOf(Certificate issuer, List<Certificate> certs, SignatureScheme scheme, ReadOnlySpan<byte> tbs, byte[] signature, DateTimeOffset now)
    {
        foreach (var candidate in certs.Prepend(issuer))
        {
            var delegated = candidate != issuer;
            if (delegated && (!candidate.IsSignedBy(issuer) || candidate.CheckValidity(now) is not null || candidate.Extensions.ExtendedKeyUsage?.Contains(OcspSigning) != true))
            {
                continue;
            }

            if (scheme.KeyType == candidate.PublicKey.KeyType && candidate.PublicKey.Verify(scheme, tbs, signature))
            {
                return candidate;
            }
        }

        return null;
    }

    private static RevocationStatus ReadResponseData(ReadOnlyMemory<byte> tbs, Certificate cert, Certificate issuer, ReadOnlySpan<byte> nonce, DateTimeOffset now, string source)
    {
        var data = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
        if (data.PeekTag().HasSameClassAndValue(Ctx0))
        {
            data.ReadEncodedValue(); // version
        }

        data.ReadEncodedValue(); // responderID
        data.ReadGeneralizedTime(); // producedAt
        var responses = data.ReadSequence();
        byte[]? gotNonce = null;
        if (data.HasData && data.PeekTag().HasSameClassAndValue(Ctx1))
        {
            gotNonce = NonceIn(data.ReadSequence(Ctx1).ReadSequence());
        }

        if (gotNonce is null || !gotNonce.AsSpan().SequenceEqual(nonce))
        {
            return Unknown($"OCSP response from {source} does not carry our nonce");
        }

        var wanted = CertIdOf(cert, issuer);
        while (responses.HasData)
        {
            var single = responses.ReadSequence();
            var id = single.ReadEncodedValue();
            if (!id.Span.SequenceEqual(wanted))
            {
                continue;
            }

            return SingleStatus(single, cert, now, source);
        }

        return Unknown($"OCSP response from {source} says nothing about '{cert.SubjectText}'");
    }

    private static RevocationStatus SingleStatus(AsnReader single, Certificate cert, DateTimeOffset now, string source)
    {
        var tag = single.PeekTag();
        RevocationStatus status;
        if (tag.TagValue == 0 && tag.TagClass == TagClass.ContextSpecific)
        {
            single.ReadEncodedValue();
            status = new RevocationStatus(RevocationState.Good, $"OCSP from {source}");
        }
        else if (tag.TagValue == 1 && tag.TagClass == TagClass.ContextSpecific)
        {
            var revoked = single.ReadSequence(Ctx1);
            var date = revoked.ReadGeneralizedTime();
            status = new RevocationStatus(RevocationState.Revoked, $"certificate '{cert.SubjectText}' revoked on {date:yyyy-MM-dd} (OCSP from {source})");
        }
        else
        {
            single.ReadEncodedValue();
            return Unknown($"OCSP responder {source} does not know '{cert.SubjectText}'");
        }

        var thisUpdate = single.ReadGeneralizedTime();
        DateTimeOffset? nextUpdate = single.HasData && single.PeekTag().HasSameClassAndValue(Ctx0) ? single.ReadSequence(Ctx0).ReadGeneralizedTime() : null;
        // RFC 6960 §3.2: thisUpdate not in the future (a few minutes of clock skew allowed), nextUpdate not past.
        if (thisUpdate > now.AddMinutes(5) || (nextUpdate is { } next && next < now))
        {
            return Unknown($"OCSP response from {source} is not current (thisUpdate {thisUpdate:u}, nextUpdate {nextUpdate?.ToString("u") ?? "none"})");
        }

        return status;
    }

    private static byte[]? NonceIn(AsnReader extensions)
    {
        if (CertificateExtensions.ValueOf(extensions, NonceOid) is not { } value)
        {
            return null;
        }

        // RFC 8954: the value is an OCTET STRING; some responders put the bare nonce there.
        var inner = new AsnReader(value, AsnEncodingRules.DER);
        return inner.PeekTag().HasSameClassAndValue(Asn1Tag.PrimitiveOctetString) ? inner.ReadOctetString() : value;
    }

    /// <summary>CertID ::= SEQUENCE { hashAlgorithm (SHA-1), issuerNameHash, issuerKeyHash, serialNumber }.</summary>
    internal static byte[] CertIdOf(Certificate cert, Certificate issuer)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        WriteCertId(w, cert, issuer);
        return w.Encode();
    }

    private static void WriteCertId(AsnWriter w, Certificate cert, Certificate issuer)
    {
        using (w.PushSequence())
        {
            using (w.PushSequence())
            {
                w.WriteObjectIdentifier(Sha1Oid);
                w.WriteNull();
            }

            w.WriteOctetString(SHA1.HashData(issuer.Subject.RawData));
            w.WriteOctetString(SHA1.HashData(SubjectPublicKey(issuer)));
            w.WriteInteger(cert.Serial);
        }
    }

    /// <summary>The subjectPublicKey BIT STRING's content (RFC 6960 §4.1.1's issuerKeyHash input).</summary>
    private static byte[] SubjectPublicKey(Certificate issuer)
    {
        var spki = new AsnReader(issuer.PublicKey.SubjectPublicKeyInfo, AsnEncodingRules.DER).ReadSequence();
        spki.ReadEncodedValue();
        return spki.ReadBitString(out _);
    }

    private static RevocationStatus Unknown(string why) => new(RevocationState.Unknown, why);
}
