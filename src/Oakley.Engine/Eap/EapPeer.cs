using Oakley.Crypto;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Eap;

/// <summary>
/// Oakley as EAP client (peer) in IKE_AUTH: it answers EAP-Identity with the local round's <c>eap_id</c> (or the IKE
/// identity), EAP-Notification with an empty response, and runs the method the server asks for with the
/// <c>secrets.eap-*</c> entry of that identity. When the round names a method (<c>auth = eap-mschapv2</c>), any other
/// request is answered with a Nak naming it (RFC 3748 §5.3.1).
/// </summary>
public sealed class EapPeer : IDisposable
{
    /// <summary>The methods this client runs when the round does not name one.</summary>
    private static readonly EapType[] Supported = [EapType.MsChapV2, EapType.Md5, EapType.Gtc];

    private readonly AuthConfig _round;
    private readonly Identity? _server;
    private readonly ISecretStore _secrets;
    private readonly IEntropySource _entropy;
    private readonly EapTlsOptions? _tls;
    private IEapPeerMethod? _method;

    /// <param name="tls">What EAP-TLS needs (the time, our certificates); null: EAP-TLS requests are refused.</param>
    public EapPeer(AuthConfig round, Identity ownIke, Identity? server, ISecretStore secrets, IEntropySource entropy, EapTlsOptions? tls = null)
    {
        ArgumentNullException.ThrowIfNull(round);
        _round = round;
        EapIdentity = round.EapId ?? ownIke;
        _server = server;
        _secrets = secrets;
        _entropy = entropy;
        _tls = tls;
    }

    /// <summary>The identity we authenticate as.</summary>
    public Identity EapIdentity { get; }

    /// <summary>The method that ran, once one did.</summary>
    public EapType? Method => _method?.Type;

    /// <summary>The MSK of the method, once it finished (null for methods without one).</summary>
    public byte[]? Msk => _method?.Msk;

    /// <summary>
    /// Whether the method authenticated the server in RFC 5998's sense (EAP-only needs it): it proved the server's
    /// credential and is one strongSwan counts as mutual (EAP-MSCHAPv2's S= check is not enough there).
    /// </summary>
    public bool ServerAuthenticated => _method is { ServerAuthenticated: true, Type: not EapType.MsChapV2 };

    /// <summary>An EAP message from the server: our response (a whole message), success (EAP-Success) or failure.</summary>
    public EapStep Process(ReadOnlySpan<byte> message)
    {
        if (message.Length < 4)
        {
            return EapStep.Fail("truncated EAP message");
        }

        var id = message[1];
        switch ((EapCode)message[0])
        {
            case EapCode.Success when _method is { Type: EapType.Tls, Msk: null }:
                // RFC 5216 §2.1.1: success before the handshake (and for TLS 1.3 the success indication) is a failure.
                return EapStep.Fail("EAP-Success before the EAP-TLS handshake finished");
            case EapCode.Success when _method is { Type: EapType.MsChapV2, Msk: null }:
                // RFC 2759 §5: the client trusts the server only after checking its authenticator response (S=).
                return EapStep.Fail("EAP-Success before EAP-MSCHAPv2 proved the server's knowledge of the password (no S= checked)");
            case EapCode.Success:
                return _method is null ? EapStep.Fail("EAP-Success before any method ran") : EapStep.Done;
            case EapCode.Failure:
                return EapStep.Fail($"the server sent EAP-Failure{(_method is null ? string.Empty : " after " + EapMessage.Name(_method.Type))}");
            case EapCode.Request when message.Length >= 5:
                break;
            default:
                return EapStep.Fail("expected an EAP request");
        }

        var type = (EapType)message[4];
        var data = EapMessage.TypeData(message);
        switch (type)
        {
            case EapType.Identity:
                return EapStep.Send(EapMessage.Response(id, EapType.Identity, EapIdentity.Value));
            case EapType.Notification:
                return EapStep.Send(EapMessage.Response(id, EapType.Notification, []));
        }

        if (_method is null || _method.Type != type)
        {
            if (Choose(type, id) is { } refusal)
            {
                return refusal;
            }
        }

        var step = _method!.Process(id, data);
        return step.Kind == EapStepKind.Send ? EapStep.Send(EapMessage.Response(id, type, step.Data)) : step;
    }

    /// <summary>Sets up the method the server asked for, or answers with a Nak or a failure (returned).</summary>
    private EapStep? Choose(EapType type, byte id)
    {
        var mine = _round.EapMethod is { } m ? [m] : Supported;
        if (!mine.Contains(type) || _method is not null)
        {
            // A Nak names the methods we would run instead (RFC 3748 §5.3.1); a second method after one ran is refused.
            return _method is not null
                ? EapStep.Fail($"the server switched from {EapMessage.Name(_method.Type)} to {EapMessage.Name(type)}")
                : EapStep.Send(EapMessage.Response(id, EapType.Nak, mine.Select(t => (byte)t).ToArray()));
        }

        if (type == EapType.Tls)
        {
            string? why = "EAP-TLS is not available here (no certificate context)";
            _method = _tls is null ? null : EapMethods.TlsPeer(EapIdentity, _server, _secrets, _tls, _entropy, out why);
            return _method is null ? EapStep.Fail(why!) : null;
        }

        var secret = _secrets.FindEapSecret(EapIdentity, _server);
        if (secret is not { Length: > 0 })
        {
            return EapStep.Fail($"no EAP secret found for '{EapIdentity}' - '{_server?.ToString() ?? "%any"}'");
        }

        _method = EapMethods.Peer(type, EapIdentity.ToString(), secret, _entropy);
        return _method is null ? EapStep.Fail($"{EapMessage.Name(type)} is not supported as EAP client") : null;
    }

    public void Dispose() => _method?.Dispose();
}
