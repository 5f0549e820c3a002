using Oakley.Engine.Authentication;
using Oakley.Engine.Certificates;

namespace Oakley.Engine.Eap;

/// <summary>
/// How EAP-TLS judges the other side's certificate chain, with Oakley's own X.509 code (BouncyCastle only verifies the
/// handshake signatures with the key): every certificate parses, the end entity confirms the expected identity (the
/// server: the client's EAP identity, as strongSwan checks it against the subject and subjectAltNames; the client: the
/// gateway's IKE identity when one is configured), its key usage allows authentication by the same rule as IKE
/// (<see cref="CertificateUsage"/>), and it chains to a trusted CA at <c>now</c> (<see cref="PathValidator"/>).
/// </summary>
/// <remarks>
/// Revocation is checked as for IKE certificates (CRLs and OCSP through the store's <see cref="RevocationChecker"/>,
/// under <paramref name="policy"/>), except that a TLS handshake cannot wait: an answer still being fetched fails
/// the handshake with a reason that says so, and the client's next attempt finds the answer cached.
/// </remarks>
internal sealed class EapTlsPeerCheck(CertificateStore store, DateTimeOffset now, Identity? expected, string role, RevocationPolicy policy = RevocationPolicy.Relaxed)
{
    public string? Check(IReadOnlyList<byte[]> chain)
    {
        var parsed = new List<Certificate>(chain.Count);
        for (var i = 0; i < chain.Count; i++)
        {
            if (store.Parse(chain[i], out var error) is not { } cert)
            {
                return $"certificate {i + 1} the {role} sent is not a usable X.509 certificate: {error}";
            }

            parsed.Add(cert);
        }

        var endEntity = parsed[0];
        if (expected is { } id && !(id.IsWildcard ? MatchesPattern(endEntity, id) : CertificateIdentity.Confirms(endEntity, id)))
        {
            return CertificateIdentity.NotConfirmed(endEntity, id);
        }

        if (CertificateUsage.Check(endEntity) is { } unusable)
        {
            return unusable;
        }

        var path = PathValidator.Validate(endEntity, parsed.Skip(1).ToList(), store, now);
        if (path.Error is not null)
        {
            return path.Error;
        }

        var revocation = PublicKeyCredentials.Revocation(policy, store.Revocation, path.Chain, now);
        return revocation.Deferred ? $"{revocation.Error}; EAP-TLS cannot wait for it, the next attempt will find it" : revocation.Error;
    }

    /// <summary>A configured pattern (<c>*.example.com</c>, <c>CN=*</c>) matches the subject or one of the subjectAltNames.</summary>
    private static bool MatchesPattern(Certificate cert, Identity pattern) =>
        pattern.Matches(Identity.OfSubject(cert)) || cert.Extensions.SubjectAltNames.Any(san => san.Kind switch
        {
            GeneralNameKind.Dns => pattern.Matches(new Identity(Protocol.Ikev2.IdentificationType.Fqdn, san.Raw)),
            GeneralNameKind.Email => pattern.Matches(new Identity(Protocol.Ikev2.IdentificationType.Rfc822Address, san.Raw)),
            _ => false,
        });
}
