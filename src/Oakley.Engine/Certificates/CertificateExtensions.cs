using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Oakley.Engine.Certificates;

/// <summary>
/// The v3 extensions that decide how a certificate may be used (RFC 5280 §4.2). A critical extension Oakley does not
/// know refuses the certificate (RFC 5280 §4.2: "MUST reject"); so does a second instance of any extension.
/// </summary>
public sealed class CertificateExtensions
{
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    public const string IpsecIke = "1.3.6.1.5.5.7.3.17";
    public const string IkeIntermediate = "1.3.6.1.5.5.8.2.2";
    public const string AnyExtendedKeyUsage = "2.5.29.37.0";

    private const string OcspMethod = "1.3.6.1.5.5.7.48.1";

    public bool HasBasicConstraints { get; private set; }

    public bool IsCa { get; private set; }

    /// <summary>basicConstraints pathLenConstraint: how many intermediates may follow this CA; null: no limit.</summary>
    public int? PathLength { get; private set; }

    /// <summary>keyUsage; null when the extension is absent (any use).</summary>
    public X509KeyUsageFlags? KeyUsage { get; private set; }

    /// <summary>extendedKeyUsage OIDs; null when the extension is absent.</summary>
    public IReadOnlyList<string>? ExtendedKeyUsage { get; private set; }

    public IReadOnlyList<GeneralName> SubjectAltNames { get; private set; } = [];

    public byte[]? SubjectKeyId { get; private set; }

    public byte[]? AuthorityKeyId { get; private set; }

    /// <summary>nameConstraints permittedSubtrees (null: none given) and excludedSubtrees.</summary>
    public IReadOnlyList<GeneralName>? PermittedSubtrees { get; private set; }

    public IReadOnlyList<GeneralName> ExcludedSubtrees { get; private set; } = [];

    /// <summary>HTTP(S) URIs of the CRL distribution points.</summary>
    public IReadOnlyList<string> CrlDistributionPoints { get; private set; } = [];

    /// <summary>OCSP responder URIs from authorityInfoAccess.</summary>
    public IReadOnlyList<string> OcspResponders { get; private set; } = [];

    /// <summary>Reads <c>Extensions ::= SEQUENCE OF Extension</c>; throws <see cref="AsnContentException"/> with the reason.</summary>
    internal static CertificateExtensions Read(AsnReader? extensions)
    {
        var result = new CertificateExtensions();
        if (extensions is null)
        {
            return result;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (extensions.HasData)
        {
            var ext = extensions.ReadSequence();
            var oid = ext.ReadObjectIdentifier();
            var critical = ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && ext.ReadBoolean();
            var value = ext.ReadOctetString();
            if (ext.HasData)
            {
                throw new AsnContentException($"trailing data in extension {oid}");
            }

            if (!seen.Add(oid))
            {
                throw new AsnContentException($"extension {oid} appears twice");
            }

            if (!result.Apply(oid, new AsnReader(value, AsnEncodingRules.DER)) && critical)
            {
                throw new AsnContentException($"unknown critical extension {oid}");
            }
        }

        return result;
    }

    /// <summary>Decodes one known extension; false for an extension Oakley does not interpret.</summary>
    private bool Apply(string oid, AsnReader value)
    {
        switch (oid)
        {
            case "2.5.29.19":
                ReadBasicConstraints(value.ReadSequence());
                break;
            case "2.5.29.15":
                var bits = value.ReadBitString(out _);
                var flags = bits.Length > 0 ? ReverseBits(bits[0]) : 0;
                flags |= bits.Length > 1 ? ReverseBits(bits[1]) << 8 : 0;
                KeyUsage = (X509KeyUsageFlags)MapKeyUsage(flags);
                break;
            case "2.5.29.37":
                var eku = new List<string>();
                var seq = value.ReadSequence();
                while (seq.HasData)
                {
                    eku.Add(seq.ReadObjectIdentifier());
                }

                ExtendedKeyUsage = eku;
                break;
            case "2.5.29.17":
                SubjectAltNames = GeneralName.ReadAll(value);
                break;
            case "2.5.29.14":
                SubjectKeyId = value.ReadOctetString();
                break;
            case "2.5.29.35":
                var aki = value.ReadSequence();
                var keyIdTag = new Asn1Tag(TagClass.ContextSpecific, 0);
                AuthorityKeyId = aki.HasData && aki.PeekTag().HasSameClassAndValue(keyIdTag) ? aki.ReadOctetString(keyIdTag) : null;
                break;
            case "2.5.29.30":
                ReadNameConstraints(value.ReadSequence());
                break;
            case "2.5.29.31":
                CrlDistributionPoints = ReadDistributionPoints(value.ReadSequence());
                break;
            case "1.3.6.1.5.5.7.1.1":
                OcspResponders = ReadOcspResponders(value.ReadSequence());
                break;
            case "2.5.29.32":
                // certificatePolicies: recognised (RFC 5280 §4.2.1.4 lets an application without policy requirements accept any).
                value.ReadSequence();
                break;
            default:
                return false;
        }

        if (value.HasData)
        {
            throw new AsnContentException($"trailing data in extension {oid}");
        }

        return true;
    }

    private void ReadBasicConstraints(AsnReader bc)
    {
        HasBasicConstraints = true;
        if (bc.HasData && bc.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean))
        {
            IsCa = bc.ReadBoolean();
        }

        if (bc.HasData)
        {
            PathLength = bc.TryReadInt32(out var n) && n >= 0 ? n : throw new AsnContentException("basicConstraints pathLenConstraint out of range");
        }
    }

    private void ReadNameConstraints(AsnReader nc)
    {
        var permitted = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        var excluded = new Asn1Tag(TagClass.ContextSpecific, 1, true);
        if (nc.HasData && nc.PeekTag().HasSameClassAndValue(permitted))
        {
            PermittedSubtrees = ReadSubtrees(nc.ReadSequence(permitted));
        }

        if (nc.HasData && nc.PeekTag().HasSameClassAndValue(excluded))
        {
            ExcludedSubtrees = ReadSubtrees(nc.ReadSequence(excluded));
        }
    }

    private static List<GeneralName> ReadSubtrees(AsnReader subtrees)
    {
        var list = new List<GeneralName>();
        while (subtrees.HasData)
        {
            // GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }: RFC 5280 fixes minimum 0, no maximum.
            var subtree = subtrees.ReadSequence();
            list.Add(GeneralName.Read(subtree, constraint: true));
        }

        return list;
    }

    private static List<string> ReadDistributionPoints(AsnReader points)
    {
        var uris = new List<string>();
        while (points.HasData)
        {
            var point = points.ReadSequence();
            var nameTag = new Asn1Tag(TagClass.ContextSpecific, 0, true);
            if (!point.HasData || !point.PeekTag().HasSameClassAndValue(nameTag))
            {
                continue;
            }

            var name = point.ReadSequence(nameTag);
            var fullName = new Asn1Tag(TagClass.ContextSpecific, 0, true);
            if (name.HasData && name.PeekTag().HasSameClassAndValue(fullName))
            {
                var names = name.ReadSequence(fullName);
                while (names.HasData)
                {
                    if (GeneralName.Read(names) is { Kind: GeneralNameKind.Uri } uri)
                    {
                        uris.Add(uri.Text);
                    }
                }
            }
        }

        return uris;
    }

    private static List<string> ReadOcspResponders(AsnReader access)
    {
        var uris = new List<string>();
        while (access.HasData)
        {
            var description = access.ReadSequence();
            var method = description.ReadObjectIdentifier();
            var location = GeneralName.Read(description);
            if (method == OcspMethod && location.Kind == GeneralNameKind.Uri)
            {
                uris.Add(location.Text);
            }
        }

        return uris;
    }

    /// <summary>The extnValue of the extension <paramref name="oid"/> in an Extensions SEQUENCE (of a CRL entry, an OCSP response), or null.</summary>
    internal static byte[]? ValueOf(AsnReader extensions, string oid)
    {
        while (extensions.HasData)
        {
            var ext = extensions.ReadSequence();
            var id = ext.ReadObjectIdentifier();
            if (ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean))
            {
                ext.ReadBoolean();
            }

            var value = ext.ReadOctetString();
            if (id == oid)
            {
                return value;
            }
        }

        return null;
    }

    private static int ReverseBits(byte b)
    {
        var r = 0;
        for (var i = 0; i < 8; i++)
        {
            r |= ((b >> i) & 1) << (7 - i);
        }

        return r;
    }

    /// <summary>RFC 5280 bit n (digitalSignature = 0 … decipherOnly = 8) to the BCL's flag values.</summary>
    private static int MapKeyUsage(int bits)
    {
        X509KeyUsageFlags[] order =
        [
            X509KeyUsageFlags.DigitalSignature, X509KeyUsageFlags.NonRepudiation, X509KeyUsageFlags.KeyEncipherment,
            X509KeyUsageFlags.DataEncipherment, X509KeyUsageFlags.KeyAgreement, X509KeyUsageFlags.KeyCertSign,
            X509KeyUsageFlags.CrlSign, X509KeyUsageFlags.EncipherOnly, X509KeyUsageFlags.DecipherOnly,
        ];
        var flags = 0;
        for (var i = 0; i < order.Length; i++)
        {
            if ((bits & (1 << i)) != 0)
            {
                flags |= (int)order[i];
            }
        }

        return flags;
    }
}
