using Oakley.Crypto;
using Oakley.Crypto.Tls;
using Oakley.Engine.Certificates;

namespace Oakley.Engine.Eap;

/// <summary>
/// The authenticator side of EAP-TLS (RFC 5216, RFC 9190 for TLS 1.3), as strongSwan's eap-tls plugin runs it: a Start
/// request, then the handshake carried in fragments (<see cref="EapTlsFraming"/>); the client must present a
/// certificate that confirms its EAP identity and chains to a trusted CA (<see cref="EapTlsPeerCheck"/>). After the
/// client's Finished the server sends its last flight (TLS 1.2: ChangeCipherSpec and Finished; TLS 1.3: the protected
/// success indication, one octet 0x00 of application data, RFC 9190 §2.1.1), the client answers with an empty
/// response, and the method succeeds with the MSK.
/// </summary>
public sealed class EapTlsServer : IEapServerMethod
{
    private readonly EapTlsFraming _frames;
    private readonly TlsChannelOptions _tlsOptions;
    private readonly IEntropySource _entropy;
    private readonly int _maxMessages;
    private TlsChannel? _tls;
    private int _messages;
    private bool _final;
    private bool _succeeded;
    private bool _finished;

    /// <param name="credential">Our certificate, chain and key.</param>
    /// <param name="eapIdentity">The identity the client authenticates as; its certificate must confirm it.</param>
    /// <param name="store">The trust anchors and intermediates the client's chain is validated against.</param>
    /// <param name="options">The time of the checks, the fragment size and the TLS versions.</param>
    /// <param name="entropy">Every random byte of the handshake.</param>
    public EapTlsServer(EapTlsCredential credential, Identity eapIdentity, CertificateStore store, EapTlsOptions options, IEntropySource entropy)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(options);
        _frames = new EapTlsFraming(options.FragmentSize);
        _maxMessages = MaxMessages(options.FragmentSize);
        _entropy = entropy;
        _tlsOptions = options.Channel(credential, new EapTlsPeerCheck(store, options.Now, eapIdentity, "client", options.Revocation));
    }

    public EapType Type => EapType.Tls;

    /// <summary>EAP-TLS authenticates both sides with certificates (what strongSwan's is_mutual says too).</summary>
    public bool Mutual => true;

    /// <summary>The negotiated TLS version once the handshake completed.</summary>
    public TlsVersion? Version => _tls?.Version;

    /// <summary>RFC 5216 §2.3 / RFC 9190 §2.3: the first 64 octets of the key material, once the method succeeded (a copy).</summary>
    public byte[]? Msk => _succeeded ? _tls!.KeyMaterial?[..64] : null;

    public EapStep Start(byte identifier)
    {
        if (_tls is not null || _finished)
        {
            return Finish("EAP-TLS: the method was started twice");
        }

        _tls = TlsChannel.Server(_tlsOptions, _entropy);
        return EapStep.Send([EapTlsFraming.Start]);
    }

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        if (_finished || _tls is null)
        {
            return Finish(_finished ? "EAP-TLS: a response arrived after the method finished" : "EAP-TLS: a response arrived before the Start request");
        }

        if (++_messages > _maxMessages)
        {
            return Finish($"EAP-TLS: more than {_maxMessages} messages");
        }

        if (!typeData.IsEmpty && (typeData[0] & EapTlsFraming.Start) != 0)
        {
            return Finish("EAP-TLS: the client sent a Start");
        }

        if (EapTlsFraming.IsAck(typeData))
        {
            return Acknowledged();
        }

        if (_frames.Sending || _final)
        {
            return Finish(_final ? "EAP-TLS: the client sent TLS data after the handshake completed" : "EAP-TLS: the client sent data instead of acknowledging our fragment");
        }

        switch (_frames.Receive(typeData, out var message, out var error))
        {
            case EapTlsFragment.Failed:
                return Finish("EAP-TLS: " + error);
            case EapTlsFragment.More:
                return EapStep.Send(EapTlsFraming.Ack);
        }

        return Handshake(message!);
    }

    public void Dispose() => _tls?.Dispose();

    /// <summary>An ACK: the next fragment, or, after our last flight, the client's final empty response.</summary>
    private EapStep Acknowledged()
    {
        if (_frames.Sending)
        {
            return EapStep.Send(_frames.Next());
        }

        if (_final && _tls!.IsComplete)
        {
            _succeeded = true;
            _finished = true;
            return EapStep.Done;
        }

        return Finish("EAP-TLS: the client acknowledged, but nothing was sent to it");
    }

    /// <summary>A whole TLS message from the client: feed it to TLS and send what TLS answers.</summary>
    private EapStep Handshake(byte[] message)
    {
        if (!_tls!.Receive(message))
        {
            return Finish("EAP-TLS: " + _tls.Error);
        }

        var output = _tls.TakeOutput();
        if (_tls.IsComplete)
        {
            if (_tls.Version == TlsVersion.Tls13)
            {
                // RFC 9190 §2.1.1: the protected success indication, after the client's Finished was verified.
                _tls.SendApplicationData([0]);
                output = [.. output, .. _tls.TakeOutput()];
            }

            _final = true;
        }

        return output.Length == 0
            ? Finish("EAP-TLS: the client's TLS data did not complete a flight")
            : EapStep.Send(_frames.Send(output));
    }

    private EapStep Finish(string error)
    {
        _finished = true;
        _succeeded = false;
        return EapStep.Fail(error);
    }

    /// <summary>
    /// A bound on the conversation (strongSwan's max_message_count is 32 at 1024 octets): room for two flights of the
    /// largest reassembly each way at this fragment size, plus the few unfragmented messages.
    /// </summary>
    internal static int MaxMessages(int fragmentSize) => 16 + (4 * EapTlsFraming.MaxMessage / (fragmentSize - 10));
}
