using Org.BouncyCastle.Tls;
using BcCertificate = Org.BouncyCastle.Tls.Certificate;

namespace Oakley.Crypto.Tls;

/// <summary>
/// BouncyCastle's server policy for EAP-TLS: our versions and suites, a CertificateRequest on every handshake (RFC 5216
/// §2.1.1: the client must authenticate), the client's chain judged by <see cref="TlsChannel.CheckPeer"/>, no session
/// resumption. The chain's signature algorithms are not checked here (<see cref="ShouldCheckSigAlgOfPeerCerts"/>): the
/// caller's path validation decides which certificate signatures are acceptable. A client without RFC 5746 secure
/// renegotiation (strongSwan's libtls sends neither renegotiation_info nor the SCSV) is accepted:
/// <see cref="NotifySecureRenegotiation"/>.
/// </summary>
internal sealed class OakleyTlsServer(EntropyTlsCrypto crypto, TlsChannelOptions options, TlsChannel channel) : AbstractTlsServer(crypto)
{
    protected override ProtocolVersion[] GetSupportedVersions() => channel.Versions();

    protected override int[] GetSupportedCipherSuites() => TlsCipherSuites.Server(options.PrivateKey.KeyType);

    public override bool ShouldCheckSigAlgOfPeerCerts() => false;

    public override TlsSession? GetSessionToResume(byte[] sessionID) => null;

    /// <summary>
    /// BouncyCastle's default aborts with handshake_failure when the client does not indicate RFC 5746 support, which
    /// strongSwan 5.9.8 never does. RFC 5746 §4.4 lets a server that never renegotiates talk to such clients: the
    /// attack it prevents (§1) splices a renegotiation onto the victim's connection, and BouncyCastle answers every
    /// renegotiation attempt with no_renegotiation (RFC 5746 §4.5), so there is no second handshake to splice.
    /// </summary>
    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

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
