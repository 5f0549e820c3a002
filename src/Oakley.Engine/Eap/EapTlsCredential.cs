using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;

namespace Oakley.Engine.Eap;

/// <summary>
/// Our side of EAP-TLS: the certificate, the chain sent with it (the certificate and its intermediates, never the root:
/// the peer must hold its trust anchor, as for IKE) and its private key, which the <see cref="ISecretStore"/> owns.
/// </summary>
public sealed record EapTlsCredential(Certificate Certificate, IReadOnlyList<Certificate> Chain, SignaturePrivateKey Key)
{
    /// <summary>
    /// The first of <paramref name="candidates"/>, or else the first end entity of the store that confirms
    /// <paramref name="identity"/>, with its key and chain; null with <paramref name="error"/> when there is none.
    /// </summary>
    public static EapTlsCredential? Find(IReadOnlyList<Certificate> candidates, Identity identity, ISecretStore secrets, DateTimeOffset now, out string? error)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(secrets);
        error = null;
        var store = secrets.Certificates;
        var cert = candidates.FirstOrDefault() ?? store.EndEntities.FirstOrDefault(c => !c.IsCa && CertificateIdentity.Confirms(c, identity));
        if (cert is null)
        {
            error = $"EAP-TLS needs a certificate: the round names none (certs) and none in x509/ confirms '{identity}'";
            return null;
        }

        var key = secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span);
        if (key is null)
        {
            error = $"no private key found for certificate '{cert.SubjectText}' (looked in private/, rsa/, ecdsa/, pkcs8/, pkcs12/)";
            return null;
        }

        var path = PathValidator.Validate(cert, [], store, now, toRoot: true).Chain ?? [cert];
        return new EapTlsCredential(cert, [cert, .. path.Skip(1).Where(c => !c.IsSelfIssued)], key);
    }
}
