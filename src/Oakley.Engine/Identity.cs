using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Oakley.Engine.Certificates;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine;

/// <summary>
/// An IKE identity: type and value (RFC 7296 §3.5). As a configured pattern it may hold strongSwan's wildcards: a
/// leading <c>*</c> in an FQDN or email (<c>*.example.com</c>, <c>*@example.com</c>) and <c>*</c> as an RDN value of a
/// DN (<c>C=CH, O=Lab, CN=*</c>).
/// </summary>
public sealed record Identity(IdentificationType Type, byte[] Value)
{
    /// <summary>
    /// Parses swanctl's id syntax: an IP address, <c>@fqdn</c> or a bare FQDN, <c>user@domain</c> (RFC822), <c>@#hex</c>
    /// (KEY_ID), a distinguished name <c>C=CH, O=Lab, CN=moon</c> (DER_ASN1_DN, RDNs in the order written), or
    /// <c>asn1dn:#hex</c>.
    /// </summary>
    public static Identity Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IPAddress.TryParse(text, out var ip))
        {
            var bytes = ip.GetAddressBytes();
            return new Identity(bytes.Length == 4 ? IdentificationType.Ipv4Address : IdentificationType.Ipv6Address, bytes);
        }

        if (text.StartsWith("@#", StringComparison.Ordinal))
        {
            return new Identity(IdentificationType.KeyId, Convert.FromHexString(text[2..]));
        }

        if (text.StartsWith("asn1dn:#", StringComparison.OrdinalIgnoreCase))
        {
            return new Identity(IdentificationType.DerAsn1Dn, Convert.FromHexString(text[8..]));
        }

        if (text.StartsWith('@'))
        {
            return new Identity(IdentificationType.Fqdn, Encoding.ASCII.GetBytes(text[1..]));
        }

        if (text.Contains('=', StringComparison.Ordinal) && DistinguishedName.TryParse(text) is { } dn)
        {
            return new Identity(IdentificationType.DerAsn1Dn, dn);
        }

        return text.Contains('@', StringComparison.Ordinal)
            ? new Identity(IdentificationType.Rfc822Address, Encoding.ASCII.GetBytes(text))
            : new Identity(IdentificationType.Fqdn, Encoding.ASCII.GetBytes(text));
    }

    /// <summary>The DN identity of a certificate's subject.</summary>
    public static Identity OfSubject(Certificate cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return new Identity(IdentificationType.DerAsn1Dn, cert.Subject.RawData);
    }

    /// <summary>A pattern with strongSwan wildcards (<c>*.example.com</c>, <c>*@example.com</c>, <c>CN=*</c>): matched, never sent as an IDr.</summary>
    public bool IsWildcard => Type switch
    {
        IdentificationType.Fqdn or IdentificationType.Rfc822Address => Value.Length > 0 && Value[0] == (byte)'*',
        IdentificationType.DerAsn1Dn => DistinguishedName.HasWildcard(Value),
        _ => false,
    };

    /// <summary>strongSwan's <c>%any</c> (and <c>%any6</c>): any identity.</summary>
    public bool IsAny => Type == IdentificationType.Fqdn && Value is [(byte)'%', (byte)'a', (byte)'n', (byte)'y', ..] && Value.Length <= 5;

    /// <summary>Whether <paramref name="other"/> (a peer's concrete identity) matches this one, with this one's wildcards.</summary>
    public bool Matches(Identity other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Equals(other))
        {
            return true;
        }

        if (Type != other.Type)
        {
            return false;
        }

        switch (Type)
        {
            case IdentificationType.Fqdn or IdentificationType.Rfc822Address when Value.Length > 0 && Value[0] == (byte)'*':
                var suffix = Encoding.ASCII.GetString(Value, 1, Value.Length - 1);
                return Encoding.ASCII.GetString(other.Value).EndsWith(suffix, StringComparison.OrdinalIgnoreCase);
            case IdentificationType.Fqdn or IdentificationType.Rfc822Address:
                return Encoding.ASCII.GetString(Value).Equals(Encoding.ASCII.GetString(other.Value), StringComparison.OrdinalIgnoreCase);
            case IdentificationType.DerAsn1Dn:
                return DistinguishedName.Matches(Value, other.Value);
            default:
                return false;
        }
    }

    /// <summary>Identities are equal when type and value bytes are (the record default would compare the arrays by reference).</summary>
    public bool Equals(Identity? other) => other is not null && other.Type == Type && other.Value.AsSpan().SequenceEqual(Value);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        hash.AddBytes(Value);
        return hash.ToHashCode();
    }

    public override string ToString() => Type switch
    {
        IdentificationType.Ipv4Address or IdentificationType.Ipv6Address => new IPAddress(Value).ToString(),
        IdentificationType.KeyId => "@#" + Convert.ToHexStringLower(Value),
        IdentificationType.DerAsn1Dn => DistinguishedName.Format(new X500DistinguishedName(Value)),
        _ => Encoding.ASCII.GetString(Value),
    };
}
