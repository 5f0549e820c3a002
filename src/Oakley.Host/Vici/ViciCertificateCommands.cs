using Microsoft.Extensions.Logging;
using Oakley.Config.Credentials;

namespace Oakley.Host.Vici;

/// <summary>
/// load-cert and flush-certs (charon's vici_cred.c). swanctl names its directories' certificates by type and flag:
/// x509/ is <c>X509</c> with flag <c>NONE</c> (an end entity, as Oakley reads x509/), x509ca/ is <c>X509</c> with
/// <c>CA</c> (a trust anchor, refused without the CA basic constraint as charon refuses it), x509crl/ is
/// <c>X509_CRL</c>, pubkey/ is <c>PUBKEY</c>; the directory names themselves (<c>x509ca</c>, …) are accepted as types
/// too (vici_cert_info.c). Attribute certificates, AA and OCSP signer certificates are refused: Oakley reads neither
/// x509ac/, x509aa/ nor x509ocsp/ from a swanctl directory either.
/// </summary>
internal static class ViciCertificateCommands
{
    public static async Task<ViciSection> LoadAsync(IConfigStore store, ViciSection request, ILogger log)
    {
        if (request.Text("type") is not { } type)
        {
            return ViciCommands.Failure("certificate type missing");
        }

        if (Kind(type, request.Text("flag")) is not { } kind)
        {
            return ViciCommands.Failure(type.ToUpperInvariant() is "X509" ? $"invalid certificate flag '{request.Text("flag")}'" : $"invalid certificate type '{type}'");
        }

        if (request.Value("data") is not { Length: > 0 } data)
        {
            return ViciCommands.Failure("certificate data missing");
        }

        switch (kind)
        {
            case "NONE" or "CA":
            {
                var certs = CredentialBlobs.Certificates(data, out var error);
                if (certs.Count == 0)
                {
                    return ViciCommands.Failure($"parsing X509 certificate failed ({error})");
                }

                if (kind == "CA" && certs.FirstOrDefault(c => !c.IsCa) is { } notCa)
                {
                    return ViciCommands.Failure($"ca certificate lacks CA basic constraint, rejected ('{notCa.SubjectText}')");
                }

                await store.ChangeAsync(s =>
                {
                    certs.ToList().ForEach(c => s.AddCertificate(c, kind == "CA", "vici"));
                    return 0;
                }).ConfigureAwait(false);
                log.LogInformation("vici: loaded certificate '{Subject}'", certs[0].SubjectText);
                return ViciCommands.Success();
            }

            case "CRL":
            {
                var crl = CredentialBlobs.Crl(data, out var error);
                if (crl is null)
                {
                    return ViciCommands.Failure(error!);
                }

                await store.ChangeAsync(s =>
                {
                    s.AddCrl(crl);
                    return 0;
                }).ConfigureAwait(false);
                log.LogInformation("vici: loaded CRL of '{Issuer}'", crl.IssuerText);
                return ViciCommands.Success();
            }

            case "PUBKEY":
            {
                var key = CredentialBlobs.PublicKey(data, out var error);
                if (key is null)
                {
                    return ViciCommands.Failure($"parsing PUBKEY certificate failed ({error})");
                }

                await store.ChangeAsync(s =>
                {
                    s.AddTrustedKey(key);
                    return 0;
                }).ConfigureAwait(false);
                return ViciCommands.Success();
            }

            default:
                return ViciCommands.Failure(kind);
        }
    }

    /// <summary>
    /// flush-certs empties charon's cache of fetched certificates and CRLs. Oakley keeps no such cache beyond one
    /// authentication (revocation answers are fetched per check), so there is nothing to flush; the type is checked.
    /// </summary>
    public static ViciSection Flush(ViciSection request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var type = request.Text("type");
        return type is null || type.ToUpperInvariant() is "ANY" or "X509" or "X509_AC" or "X509_CRL" or "OCSP_RESPONSE" or "PUBKEY" || Kind(type, null) is not null
            ? ViciCommands.Success()
            : ViciCommands.Failure($"invalid certificate type '{type}'");
    }

    /// <summary>NONE, CA, CRL, PUBKEY, a refusal sentence (a kind Oakley does not load), or null (not a valid type or flag).</summary>
    private static string? Kind(string type, string? flag) => type.ToUpperInvariant() switch
    {
        "X509" => (flag ?? "NONE").ToUpperInvariant() switch
        {
            "NONE" => "NONE",
            "CA" => "CA",
            "AA" => "attribute authority certificates (flag AA) are not supported",
            "OCSP" => "OCSP signer certificates (flag OCSP) are not supported",
            _ => null,
        },
        "X509CA" => "CA",
        "X509_CRL" or "X509CRL" => "CRL",
        "PUBKEY" => "PUBKEY",
        "X509_AC" or "X509AC" => "attribute certificates (X509_AC) are not supported",
        "X509AA" => "attribute authority certificates (x509aa) are not supported",
        "X509OCSP" => "OCSP signer certificates (x509ocsp) are not supported",
        _ => null,
    };
}
