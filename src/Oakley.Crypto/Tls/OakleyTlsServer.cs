using Org.BouncyCastle.Tls;
using BcCertificate = Org.BouncyCastle.Tls.Certificate;

namespace Oakley.Crypto.Tls;

/// <summary>
/// BouncyCastle's server policy for EAP-TLS: our versions and suites, a CertificateRequest on every handshake (RFC 5216
/// §2.1.1: the client must authenticate), the client's chain judged by <see cref="TlsChannel.CheckPeer"/>, no session
/// resumption. The chain's signature algorithms are not checked here (<see cref="ShouldCheckSigAlgOfPeerCerts"/>): the
/// caller's path validation decides which certificate signatures are acceptable.
/// </summary>
internal sealed class OakleyTlsServer(EntropyTlsCrypto crypto, TlsChannelOptions options, TlsChannel channel) : AbstractTlsServer(crypto)
{
    protected override ProtocolVersion[] GetSupportedVersions() => channel.Versions();

    protected override int[] GetSupportedCipherSuites() => TlsCipherSuites.Server(options.PrivateKey.KeyType);

    public override bool ShouldCheckSigAlgOfPeerCerts() => false;

    public override TlsSession? GetSessionToResume(byte[] sessionID) => null;

    public override CertificateRequest GetCertificateRequest()
    {
        var algorithms = TlsSignatureSchemes.Offered();
        return TlsUtilities.IsTlsV13(m_context)
            ? new CertificateRequest(TlsUtilities.EmptyBytes, algorithms, null, null)
            : new CertificateRequest([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign], algorithms, null);
    }

    public override void NotifyClientCertificate(BcCertificate clientCertificate) => channel.CheckPeer(clientCertificate);

    public override TlsCredentials GetCredentials() => channel.Signer(m_context, m_context.SecurityParameters.ClientSigAlgs, null);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        channel.Completed(m_context);
    }
}
