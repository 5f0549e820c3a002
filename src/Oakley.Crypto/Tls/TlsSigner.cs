using Oakley.Crypto.Signature;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using BcScheme = Org.BouncyCastle.Tls.SignatureScheme;
using OakleyScheme = Oakley.Crypto.Signature.SignatureScheme;

namespace Oakley.Crypto.Tls;

/// <summary>
/// Our TLS credential: the certificate chain BouncyCastle sends and a signer over Oakley's own private key (BCL/OpenSSL,
/// libsodium for Ed25519), so the key never has to be converted into BouncyCastle's form. BouncyCastle streams the
/// signed content (ServerKeyExchange params, the CertificateVerify content) into <see cref="GetStreamSigner"/>, which
/// signs it whole with the chosen scheme.
/// </summary>
internal sealed class TlsSigner(Certificate chain, SignaturePrivateKey key, int scheme, OakleyScheme oakley) : TlsCredentialedSigner
{
    public Certificate Certificate => chain;

    public SignatureAndHashAlgorithm SignatureAndHashAlgorithm => BcScheme.GetSignatureAndHashAlgorithm(scheme);

    /// <summary>Never used: <see cref="GetStreamSigner"/> always answers, and BouncyCastle prefers it.</summary>
    public byte[] GenerateRawSignature(byte[] hash) =>
        throw new TlsFatalAlert(AlertDescription.internal_error, "Oakley's TLS signer signs messages, not hashes");

    public TlsStreamSigner GetStreamSigner() => new Streaming(key, oakley);

    private sealed class Streaming(SignaturePrivateKey key, OakleyScheme scheme) : TlsStreamSigner
    {
        private readonly MemoryStream _data = new();

        public Stream Stream => _data;

        public byte[] GetSignature() => key.Sign(scheme, _data.ToArray());
    }
}
