using Oakley.Crypto;
using Oakley.Crypto.Tls;
using Oakley.Engine.Certificates;

namespace Oakley.Engine.Eap;

/// <summary>
/// The peer side of EAP-TLS (RFC 5216, RFC 9190): the Start request starts the handshake; requests carry the server's
/// flights in fragments, answered with ACKs or our own fragments. The server's certificate must chain to a trusted CA
/// and, when the gateway's identity is configured, confirm it. The method is finished when the handshake is (TLS 1.2)
/// or when the protected success indication arrived (TLS 1.3, RFC 9190 §2.1.1: one octet 0x00, anything else fails);
/// only then is there an MSK.
/// </summary>
public sealed class EapTlsPeer : IEapPeerMethod
{
    private readonly EapTlsFraming _frames;
    private readonly TlsChannelOptions _tlsOptions;
    private readonly IEntropySource _entropy;
    private readonly int _maxMessages;
    private TlsChannel? _tls;
    private int _messages;
    private bool _indication;
    private bool _failed;

    /// <param name="credential">Our certificate, chain and key.</param>
    /// <param name="server">The identity the server's certificate must confirm (the IKE remote identity); null or %any: any.</param>
    /// <param name="store">The trust anchors and intermediates the server's chain is validated against.</param>
    /// <param name="options">The time of the checks, the fragment size and the TLS versions.</param>
    /// <param name="entropy">Every random byte of the handshake.</param>
    public EapTlsPeer(EapTlsCredential credential, Identity? server, CertificateStore store, EapTlsOptions options, IEntropySource entropy)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(options);
        _frames = new EapTlsFraming(options.FragmentSize);
        _maxMessages = EapTlsServer.MaxMessages(options.FragmentSize);
        _entropy = entropy;
        _tlsOptions = options.Channel(credential, new EapTlsPeerCheck(store, options.Now, server, "server", options.Revocation));
    }

    public EapType Type => EapType.Tls;

    /// <summary>The negotiated TLS version once the handshake completed.</summary>
    public TlsVersion? Version => _tls?.Version;

    /// <summary>The server's certificate was validated and the handshake (and for TLS 1.3 the success indication) is done.</summary>
    public bool ServerAuthenticated => Finished;

    public byte[]? Msk => Finished ? _tls!.KeyMaterial?[..64] : null;

    private bool Finished => !_failed && _tls is { IsComplete: true } tls && (tls.Version == TlsVersion.Tls12 || _indication);

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        if (_failed)
        {
            return EapStep.Fail("EAP-TLS: a request arrived after the method failed");
        }

        if (typeData.IsEmpty)
        {
            return Fail("EAP-TLS: the request has no Flags octet");
        }

        if (++_messages > _maxMessages)
        {
            return Fail($"EAP-TLS: more than {_maxMessages} messages");
        }

        if ((typeData[0] & EapTlsFraming.Start) != 0)
        {
            if (_tls is not null || typeData.Length > 1)
            {
                // RFC 5216 §3.1: the Start request carries no data, and comes once.
                return Fail(_tls is null ? "EAP-TLS: the Start request carries data" : "EAP-TLS: a second Start request");
            }

            _tls = TlsChannel.Client(_tlsOptions, _entropy);
            return EapStep.Send(_frames.Send(_tls.TakeOutput()));
        }

        if (_tls is null)
        {
            return Fail("EAP-TLS: a request before the Start request");
        }

        if (EapTlsFraming.IsAck(typeData))
        {
            return _frames.Sending ? EapStep.Send(_frames.Next()) : Fail("EAP-TLS: the server acknowledged, but nothing was sent to it");
        }

        if (_frames.Sending)
        {
            return Fail("EAP-TLS: the server sent data instead of acknowledging our fragment");
        }

        switch (_frames.Receive(typeData, out var message, out var error))
        {
            case EapTlsFragment.Failed:
                return Fail("EAP-TLS: " + error);
            case EapTlsFragment.More:
                return EapStep.Send(EapTlsFraming.Ack);
        }

        return Handshake(message!);
    }

    public void Dispose() => _tls?.Dispose();

    /// <summary>A whole TLS message from the server; our answer (an empty response when TLS has nothing to send).</summary>
    private EapStep Handshake(byte[] message)
    {
        if (Finished)
        {
            return Fail("EAP-TLS: the server sent TLS data after the method finished");
        }

        if (!_tls!.Receive(message))
        {
            return Fail("EAP-TLS: " + _tls.Error);
        }

        var data = _tls.TakeApplicationData();
        if (data.Length > 0)
        {
            // RFC 9190 §2.1.1 / §2.5: the only application data of EAP-TLS 1.3 is the single octet 0x00.
            if (!_tls.IsComplete || _tls.Version != TlsVersion.Tls13 || data is not [0])
            {
                return Fail("EAP-TLS: the server sent application data other than the protected success indication");
            }

            _indication = true;
        }

        return EapStep.Send(_frames.Send(_tls.TakeOutput()));
    }

    private EapStep Fail(string error)
    {
        _failed = true;
        return EapStep.Fail(error);
    }
}
