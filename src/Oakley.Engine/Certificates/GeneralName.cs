using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Oakley.Engine.Certificates;

/// <summary>The GeneralName forms (RFC 5280 §4.2.1.6) that IKE identities and name constraints use.</summary>
public enum GeneralNameKind
{
    Email,
    Dns,
    Uri,

    /// <summary>An address (4 or 16 bytes), or in a name constraint an address and mask (8 or 32 bytes).</summary>
    IpAddress,
    DirectoryName,

    /// <summary>otherName, x400Address, ediPartyName, registeredID: kept, never matched.</summary>
    Other,
}

/// <summary>One GeneralName: its kind, its text (strongSwan's notation) and its raw value (address bytes, DN DER).</summary>
public sealed record GeneralName(GeneralNameKind Kind, string Text, byte[] Raw)
{
    private static readonly Asn1Tag Rfc822 = new(TagClass.ContextSpecific, 1);
    private static readonly Asn1Tag DnsName = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag Directory = new(TagClass.ContextSpecific, 4, true);
    private static readonly Asn1Tag UriName = new(TagClass.ContextSpecific, 6);
    private static readonly Asn1Tag IpName = new(TagClass.ContextSpecific, 7);

    /// <summary>Reads one GeneralName; <paramref name="constraint"/>: an iPAddress is address and mask (RFC 5280 §4.2.1.10).</summary>
    internal static GeneralName Read(AsnReader reader, bool constraint = false)
    {
        var tag = reader.PeekTag();
        if (tag.HasSameClassAndValue(Rfc822))
        {
            var text = reader.ReadCharacterString(UniversalTagNumber.IA5String, Rfc822);
            return new GeneralName(GeneralNameKind.Email, text, Encoding.ASCII.GetBytes(text));
        }

        if (tag.HasSameClassAndValue(DnsName))
        {
            var text = reader.ReadCharacterString(UniversalTagNumber.IA5String, DnsName);
            return new GeneralName(GeneralNameKind.Dns, text, Encoding.ASCII.GetBytes(text));
        }

        if (tag.HasSameClassAndValue(UriName))
        {
            var text = reader.ReadCharacterString(UniversalTagNumber.IA5String, UriName);
            return new GeneralName(GeneralNameKind.Uri, text, Encoding.ASCII.GetBytes(text));
        }

        if (tag.HasSameClassAndValue(IpName))
        {
            var raw = reader.ReadOctetString(IpName);
            return new GeneralName(GeneralNameKind.IpAddress, FormatIp(raw, constraint), raw);
        }

        if (tag.HasSameClassAndValue(Directory))
        {
            var inner = reader.ReadSequence(Directory);
            var dn = inner.ReadEncodedValue().ToArray();
            if (inner.HasData)
            {
                throw new AsnContentException("trailing data in a directoryName");
            }

            return new GeneralName(GeneralNameKind.DirectoryName, DistinguishedName.Format(new X500DistinguishedName(dn)), dn);
        }

        var other = reader.ReadEncodedValue().ToArray();
        return new GeneralName(GeneralNameKind.Other, $"[{tag.TagValue}]", other);
    }

    /// <summary>Reads GeneralNames (a SEQUENCE OF GeneralName), as in subjectAltName.</summary>
    internal static List<GeneralName> ReadAll(AsnReader reader)
    {
        var list = new List<GeneralName>();
        var seq = reader.ReadSequence();
        while (seq.HasData)
        {
            list.Add(Read(seq));
        }

        return list;
    }

    private static string FormatIp(byte[] raw, bool constraint)
    {
        switch (raw.Length)
        {
            case 4 or 16 when !constraint:
                return new IPAddress(raw).ToString();
            case 8 or 32 when constraint:
                var half = raw.Length / 2;
                var mask = raw.AsSpan(half);
                var bits = 0;
                foreach (var b in mask)
                {
                    bits += System.Numerics.BitOperations.PopCount(b);
                }

                return $"{new IPAddress(raw.AsSpan(0, half))}/{bits}";
            default:
                throw new AsnContentException($"an iPAddress of {raw.Length} bytes");
        }
    }

    /// <summary>strongSwan's notation: <c>DNS:moon.example</c>, <c>IP:192.0.2.1</c>, <c>email:a@b</c>, <c>DN:C=CH, CN=x</c>.</summary>
    public override string ToString() => Kind switch
    {
        GeneralNameKind.Email => "email:" + Text,
        GeneralNameKind.Dns => "DNS:" + Text,
        GeneralNameKind.Uri => "URI:" + Text,
        GeneralNameKind.IpAddress => "IP:" + Text,
        GeneralNameKind.DirectoryName => "DN:" + Text,
        _ => "other:" + Text,
    };
}
