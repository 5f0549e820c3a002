using Org.BouncyCastle.Tls;

namespace Oakley.Crypto.Tls;

/// <summary>
/// BouncyCastle's client policy for EAP-TLS: our versions, suites and signature algorithms, the server's chain judged
/// by <see cref="TlsChannel.CheckPeer"/>, our certificate for the server's CertificateRequest, no SNI, no resumption and
/// no TLS 1.3 middlebox compatibility mode (RFC 8446 §D.4 makes it optional; EAP has no middleboxes to please), and a
/// server without RFC 5746 secure renegotiation is accepted (<see cref="NotifySecureRenegotiation"/>).
/// </summary>
internal sealed class OakleyTlsClient(EntropyTlsCrypto crypto, TlsChannel channel) : AbstractTlsClient(crypto)
{
    private readonly TlsChannel _channel = channel;

    protected override ProtocolVersion[] GetSupportedVersions() => _channel.Versions();

    protected override int[] GetSupportedCipherSuites() => TlsCipherSuites.Client();

    protected override IList<SignatureAndHashAlgorithm> GetSupportedSignatureAlgorithms() => TlsSignatureSchemes.Offered();

    public override bool ShouldCheckSigAlgOfPeerCerts() => false;

    public override bool ShouldUseCompatibilityMode() => false;

    /// <summary>
    /// BouncyCastle's default aborts with handshake_failure when the ServerHello lacks renegotiation_info, as
    /// strongSwan 5.9.8's does. RFC 5746 §4.2 leaves it to the client whether to continue; we never renegotiate
    /// (BouncyCastle refuses a HelloRequest with no_renegotiation, §4.5), so the splicing attack of §1 has no second
    /// handshake to work with.
    /// </summary>
    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    public override TlsAuthentication GetAuthentication() => new Authentication(_channel, m_context);

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        _channel.Completed(m_context);
    }

    private sealed class Authentication(TlsChannel channel, TlsClientContext context) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate) => channel.CheckPeer(serverCertificate?.Certificate);

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) =>
            channel.Signer(context, certificateRequest.SupportedSignatureAlgorithms, certificateRequest.GetCertificateRequestContext());
    }
}
