using Oakley.Config;
using Oakley.Crypto.Signature;
using Oakley.Engine;
using Oakley.Engine.Certificates;
using Oakley.Host;

namespace Oakley.Cli;

/// <summary>
/// The credentials of <c>oakley bench handshake --auth</c>, in the daemon's own <see cref="CredentialStore"/>: a
/// pre-shared key, or a CA made at start-up (nothing is read from disk or committed) that issues the initiator's and
/// the responder's certificates, with keys of the kind asked for: <c>rsa3072</c>, <c>rsa2048</c>, <c>ecdsa256</c>,
/// <c>ecdsa384</c>, <c>ed25519</c>.
/// </summary>
internal static class BenchCredentials
{
    public static readonly string[] Kinds = ["psk", "rsa2048", "rsa3072", "ecdsa256", "ecdsa384", "ed25519"];

    public static (CredentialStore Store, AuthConfig Initiator, AuthConfig Responder) Create(string auth)
    {
        var store = new CredentialStore();
        if (auth == "psk")
        {
            store.Add([], "benchmark pre-shared key"u8.ToArray()); // no ids: a wildcard entry
            return (store, AuthConfig.Psk, AuthConfig.Psk);
        }

        var (type, bits) = auth switch
        {
            "rsa2048" => (SignatureKeyType.Rsa, 2048),
            "rsa3072" => (SignatureKeyType.Rsa, 3072),
            "ecdsa256" => (SignatureKeyType.Ecdsa, 256),
            "ecdsa384" => (SignatureKeyType.Ecdsa, 384),
            "ed25519" => (SignatureKeyType.Ed25519, 256),
            _ => throw new ArgumentException($"unknown --auth '{auth}' ({string.Join(", ", Kinds)})", nameof(auth)),
        };
        var entropy = new SystemEntropy();
        var now = DateTimeOffset.UtcNow;
        var caKey = SignaturePrivateKey.Generate(type, bits, entropy);
        var root = CertificateIssuer.Issue(new CertificateProfile("C=CH, O=Oakley Bench, CN=Bench CA") { IsCa = true, NotBefore = now.AddDays(-1), NotAfter = now.AddDays(30) },
            caKey.ExportSubjectPublicKeyInfo(), caKey, null);
        store.Certificates = new CertificateStore([root], []);
        AuthConfig Side(string name, byte serial)
        {
            var key = SignaturePrivateKey.Generate(type, bits, entropy);
            store.AddPrivateKey(key, "(bench)");
            var cert = CertificateIssuer.Issue(new CertificateProfile($"C=CH, O=Oakley Bench, CN={name}")
            {
                SubjectAltNames = [name], NotBefore = now.AddDays(-1), NotAfter = now.AddDays(30), Serial = [serial],
            }, key.ExportSubjectPublicKeyInfo(), caKey, root);
            return new AuthConfig { Class = AuthClass.PublicKey, Certificates = [cert] };
        }

        return (store, Side("initiator.example", 2), Side("responder.example", 3));
    }
}
