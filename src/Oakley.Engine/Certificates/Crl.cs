using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Oakley.Crypto.Signature;

namespace Oakley.Engine.Certificates;

/// <summary>One revoked certificate of a CRL: when, and why (the reasonCode entry extension, RFC 5280 §5.3.1).</summary>
public readonly record struct RevokedEntry(DateTimeOffset Date, string? Reason);

/// <summary>
/// An X.509 v2 CRL (RFC 5280 §5), decoded with System.Formats.Asn1: issuer, thisUpdate/nextUpdate, the revoked
/// serial numbers and the issuer's signature over the tbsCertList. A malformed CRL is an error string.
/// </summary>
public sealed class Crl
{
    private static readonly string[] Reasons =
    [
        "unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation",
        "certificateHold", "(7)", "removeFromCRL", "privilegeWithdrawn", "aACompromise",
    ];

    private readonly Dictionary<string, RevokedEntry> _revoked;
    private readonly ReadOnlyMemory<byte> _tbs;
    private readonly byte[] _signature;
    private readonly SignatureScheme? _scheme;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _verifiedBy = new(StringComparer.Ordinal);

    private Crl(ReadOnlyMemory<byte> tbs, SignatureScheme? scheme, byte[] signature, byte[] issuer, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, Dictionary<string, RevokedEntry> revoked)
    {
        _tbs = tbs;
        _scheme = scheme;
        _signature = signature;
        Issuer = new X500DistinguishedName(issuer);
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        _revoked = revoked;
    }

    public X500DistinguishedName Issuer { get; }

    public string IssuerText => DistinguishedName.Format(Issuer);

    public DateTimeOffset ThisUpdate { get; }

    public DateTimeOffset? NextUpdate { get; }

    public int Count => _revoked.Count;

    /// <summary>Where it came from (a file or a URL), for messages.</summary>
    public string Source { get; init; } = "";

    /// <summary>Decodes a DER CRL; <paramref name="source"/> (a file or URL) is kept for messages.</summary>
    public static Crl? Parse(ReadOnlySpan<byte> der, out string error, string source = "")
    {
        error = "";
        var copy = der.ToArray();
        try
        {
            var outer = new AsnReader(copy, AsnEncodingRules.DER);
            var list = outer.ReadSequence();
            if (outer.HasData)
            {
                error = "trailing bytes after the CRL";
                return null;
            }

            var tbs = list.ReadEncodedValue();
            var algorithm = list.ReadEncodedValue();
            var signature = list.ReadBitString(out _);
            var scheme = SignatureSchemes.FromAlgorithmIdentifier(algorithm.Span, out _);
            var t = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
            if (t.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            {
                t.ReadInteger(); // version v2
            }

            t.ReadEncodedValue(); // signature (must equal the outer one; the outer is what we verify with)
            var issuer = t.ReadEncodedValue().ToArray();
            var thisUpdate = ReadTime(t);
            DateTimeOffset? nextUpdate = t.HasData && (t.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || t.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime)) ? ReadTime(t) : null;
            var revoked = new Dictionary<string, RevokedEntry>(StringComparer.Ordinal);
            if (t.HasData && t.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            {
                var entries = t.ReadSequence();
                while (entries.HasData)
                {
                    var entry = entries.ReadSequence();
                    var serial = Convert.ToHexStringLower(entry.ReadIntegerBytes().Span);
                    var date = ReadTime(entry);
                    revoked[serial] = new RevokedEntry(date, entry.HasData ? ReasonOf(entry.ReadSequence()) : null);
                }
            }

            return new Crl(tbs, scheme, signature, issuer, thisUpdate, nextUpdate, revoked) { Source = source };
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException or ArgumentException or OverflowException or NotSupportedException)
        {
            error = "malformed CRL: " + e.Message;
            return null;
        }
    }

    /// <summary>Whether <paramref name="issuer"/> issued this CRL: its name and a signature its key verifies.</summary>
    public bool IsIssuedBy(Certificate issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        if (!issuer.Subject.RawData.AsSpan().SequenceEqual(Issuer.RawData))
        {
            return false;
        }

        // Verified once per issuer: a CRL is checked on every handshake of every peer under its CA.
        return _verifiedBy.GetOrAdd(issuer.Fingerprint, _ => _scheme is { } scheme
            && scheme.KeyType == issuer.PublicKey.KeyType && issuer.PublicKey.Verify(scheme, _tbs.Span, _signature));
    }

    /// <summary>The entry for <paramref name="cert"/>'s serial number, if it is revoked.</summary>
    public RevokedEntry? Find(Certificate cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return _revoked.TryGetValue(cert.SerialHex, out var entry) ? entry : null;
    }

    private static DateTimeOffset ReadTime(AsnReader reader) =>
        reader.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? reader.ReadUtcTime(2049) : reader.ReadGeneralizedTime();

    private static string? ReasonOf(AsnReader extensions)
    {
        if (CertificateExtensions.ValueOf(extensions, "2.5.29.21") is not { } value)
        {
            return null;
        }

        var code = new AsnReader(value, AsnEncodingRules.DER).ReadEnumeratedBytes().Span;
        return code.Length == 1 && code[0] < Reasons.Length ? Reasons[code[0]] : "unknown reason";
    }
}
