using System.Text.Json.Nodes;
using Oakley.Config;
using Oakley.Engine.Certificates;

namespace Oakley.Host;

/// <summary>
/// <c>list-certs</c> and <c>list-authorities</c> (swanctl --list-certs / --list-authorities): every certificate the
/// daemon holds, with subject, subjectAltNames, issuer, validity, key type and size, whether we hold its private key,
/// and the connections that use it. Private keys never appear; revocation status is reported as not checked.
/// </summary>
internal static class CertificateViews
{
    public static JsonObject ListCerts(SwanctlConfig config, DateTimeOffset now)
    {
        var store = config.Secrets.Certificates;
        var all = store.Authorities.Select(c => (Cert: c, Trusted: true))
            .Concat(store.EndEntities.Select(c => (Cert: c, Trusted: false)))
            .Concat(config.Connections.SelectMany(c => c.Ike.LocalAuth.Certificates.Concat(c.Ike.RemoteAuth.Certificates).Concat(c.Ike.RemoteAuth.CaCertificates)).Select(c => (Cert: c, Trusted: false)))
            .DistinctBy(c => c.Cert.Fingerprint);
        return new JsonObject
        {
            ["ok"] = true,
            ["certificates"] = new JsonArray(all.Select(c => (JsonNode)Describe(c.Cert, c.Trusted, config, now)).ToArray()),
        };
    }

    public static JsonObject ListAuthorities(SwanctlConfig config) => new()
    {
        ["ok"] = true,
        ["authorities"] = new JsonArray(config.Credentials.NamedAuthorities.Select(a => (JsonNode)new JsonObject
        {
            ["name"] = a.Name,
            ["cacert"] = a.Certificate.SubjectText,
            ["fingerprint"] = a.Certificate.Fingerprint,
            ["crl-uris"] = new JsonArray(Uris(config, a.Certificate).Crl.Select(u => (JsonNode)u).ToArray()),
            ["ocsp-uris"] = new JsonArray(Uris(config, a.Certificate).Ocsp.Select(u => (JsonNode)u).ToArray()),
        }).ToArray()),
    };

    /// <summary>The <c>crl_uris</c> and <c>ocsp_uris</c> configured for a CA.</summary>
    private static (IReadOnlyList<string> Crl, IReadOnlyList<string> Ocsp) Uris(SwanctlConfig config, Certificate ca) =>
        config.Credentials.AuthorityUris.TryGetValue(ca.Fingerprint, out var uris) ? uris : ([], []);

    private static JsonObject Describe(Certificate cert, bool trusted, SwanctlConfig config, DateTimeOffset now)
    {
        var flags = new List<string>();
        if (cert.IsCa)
        {
            flags.Add("CA");
        }

        if (cert.IsSelfIssued)
        {
            flags.Add("self-signed");
        }

        flags.AddRange(cert.Extensions.ExtendedKeyUsage?.Select(Eku) ?? []);
        return new JsonObject
        {
            ["type"] = cert.IsCa ? "X509_CA" : "X509",
            ["trusted"] = trusted,
            ["subject"] = cert.SubjectText,
            ["issuer"] = cert.IssuerText,
            ["serial"] = cert.SerialHex,
            ["alt-names"] = new JsonArray(cert.Extensions.SubjectAltNames.Select(n => (JsonNode)n.ToString()).ToArray()),
            ["not-before"] = cert.NotBefore.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["not-after"] = cert.NotAfter.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["validity"] = cert.CheckValidity(now) ?? "ok",
            ["key-type"] = cert.PublicKey.KeyType.ToString().ToUpperInvariant(),
            ["key-size"] = cert.PublicKey.KeySize,
            ["has-private-key"] = config.Secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span) is not null,
            ["flags"] = new JsonArray(flags.Select(f => (JsonNode)f).ToArray()),
            ["subject-key-id"] = cert.Extensions.SubjectKeyId is { } ski ? Convert.ToHexStringLower(ski) : null,
            ["fingerprint"] = cert.Fingerprint,
            ["crl-uris"] = new JsonArray(cert.Extensions.CrlDistributionPoints.Select(u => (JsonNode)u).ToArray()),
            ["ocsp-uris"] = new JsonArray(cert.Extensions.OcspResponders.Select(u => (JsonNode)u).ToArray()),
            ["revocation"] = RevocationOf(cert, config.Secrets.Certificates, now),
            ["used-by"] = new JsonArray(UsedBy(cert, config).Select(u => (JsonNode)u).ToArray()),
        };
    }

    /// <summary>
    /// What the CRLs of x509crl/ say of the certificate, checked with its issuer (nothing is fetched for a listing;
    /// distribution points and OCSP are asked when the certificate authenticates a peer).
    /// </summary>
    private static string RevocationOf(Certificate cert, CertificateStore store, DateTimeOffset now)
    {
        if (cert.IsSelfIssued || store.IsAnchor(cert))
        {
            return "not checked (a trust anchor)";
        }

        if (PathValidator.Validate(cert, [], store, now).Chain is not [_, var issuer, ..])
        {
            return "unknown (no trusted path to check it on)";
        }

        var status = new RevocationChecker(store.Revocation.LocalCrls, null, null).Check(cert, issuer, now);
        return status.State switch
        {
            RevocationState.Good => $"good ({status.Detail})",
            RevocationState.Revoked => status.Detail,
            _ => "unknown from x509crl/ (distribution points and OCSP are asked when it authenticates a peer)",
        };
    }

    private static IEnumerable<string> UsedBy(Certificate cert, SwanctlConfig config)
    {
        foreach (var c in config.Connections)
        {
            var ike = c.Ike;
            if (ike.LocalAuth.Certificates.Any(x => x.Fingerprint == cert.Fingerprint))
            {
                yield return $"{ike.Name} (local)";
            }

            if (ike.RemoteAuth.Certificates.Any(x => x.Fingerprint == cert.Fingerprint) || ike.RemoteAuth.CaCertificates.Any(x => x.Fingerprint == cert.Fingerprint))
            {
                yield return $"{ike.Name} (remote)";
            }
        }
    }

    private static string Eku(string oid) => oid switch
    {
        CertificateExtensions.ServerAuth => "serverAuth",
        CertificateExtensions.ClientAuth => "clientAuth",
        CertificateExtensions.IpsecIke => "ipsecIKE",
        CertificateExtensions.IkeIntermediate => "ikeIntermediate",
        CertificateExtensions.AnyExtendedKeyUsage => "anyExtendedKeyUsage",
        _ => oid,
    };
}
