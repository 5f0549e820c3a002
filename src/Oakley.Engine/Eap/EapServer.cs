using System.Text;
using Oakley.Crypto;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Eap;

/// <summary>
/// Oakley's own EAP server (RFC 3748 as IKEv2 carries it, RFC 7296 §2.16): EAP-Identity first when the remote round's
/// <c>eap_id</c> is <c>%any</c> (an empty answer means the IKE identity, as strongSwan assumes), then the configured
/// method keyed with the client's <c>secrets.eap-*</c> entry. For <c>eap</c>/<c>eap-dynamic</c> the server proposes
/// its key-generating methods in order and a Nak may pick another of them; a method without an MSK (MD5, GTC) runs
/// only when the round names it (<c>auth = eap-md5</c>), so that no client can steer the gateway to it.
/// </summary>
public sealed class EapServer : IEapAuthenticator
{
    /// <summary>The methods proposed for <c>eap</c> and <c>eap-dynamic</c>, best first: those that establish an MSK and are mutual.</summary>
    private static readonly EapType[] Negotiable = [EapType.MsChapV2];

    private readonly AuthConfig _round;
    private readonly Identity _server;
    private readonly Identity _peerIke;
    private readonly ISecretStore _secrets;
    private readonly IEntropySource _entropy;
    private readonly bool _requireMutual;
    private readonly EapTlsOptions? _tls;
    private readonly Queue<EapType> _candidates;
    private Identity? _identity;
    private IEapServerMethod? _method;
    private byte _id;

    /// <param name="round">The remote round (its method, <c>eap_id</c>).</param>
    /// <param name="server">Our IKE identity (the other side of the client's EAP secret).</param>
    /// <param name="peerIke">The client's IKE identity (IDi).</param>
    /// <param name="requireMutual">EAP-only (RFC 5998): the method must authenticate us too.</param>
    /// <param name="tls">What EAP-TLS needs (the time, our certificates); null: EAP-TLS is not offered.</param>
    public EapServer(AuthConfig round, Identity server, Identity peerIke, ISecretStore secrets, IEntropySource entropy, bool requireMutual, EapTlsOptions? tls = null)
    {
        ArgumentNullException.ThrowIfNull(round);
        _round = round;
        _server = server;
        _peerIke = peerIke;
        _secrets = secrets;
        _entropy = entropy;
        _requireMutual = requireMutual;
        _tls = tls;
        _candidates = new Queue<EapType>(round.EapMethod is { } m ? [m] : Negotiable);
    }

    public EapOutcome? Outcome { get; private set; }

    public EapStep Start()
    {
        Span<byte> id = stackalloc byte[1];
        _entropy.Fill(id);
        _id = id[0];
        if (_round.EapId is { } pattern && (pattern.IsAny || pattern.IsWildcard))
        {
            return EapStep.Send(EapMessage.Request(_id, EapType.Identity, []));
        }

        _identity = _round.EapId ?? _peerIke;
        return StartMethod();
    }

    public EapStep Process(ReadOnlyMemory<byte> response)
    {
        var m = response.Span;
        if (m.Length < 5 || (EapCode)m[0] != EapCode.Response)
        {
            return EapStep.Fail("expected an EAP response");
        }

        if (m[1] != _id)
        {
            return EapStep.Fail($"EAP response with identifier {m[1]}, expected {_id}");
        }

        var type = (EapType)m[4];
        var data = EapMessage.TypeData(m);
        if (_identity is null)
        {
            if (type != EapType.Identity)
            {
                return EapStep.Fail($"expected an EAP-Identity response, got {EapMessage.Name(type)}");
            }

            var received = data.IsEmpty ? _peerIke : Identity.Parse(Encoding.UTF8.GetString(data));
            if (_round.EapId is { IsAny: false } pattern && !pattern.Matches(received))
            {
                return EapStep.Fail($"EAP identity '{received}' does not match eap_id '{pattern}'");
            }

            _identity = received;
            return StartMethod();
        }

        if (type == EapType.Nak && _method is not null)
        {
            return Nak(data);
        }

        if (_method is null || type != _method.Type)
        {
            return EapStep.Fail($"expected a response of {(_method is null ? "EAP" : EapMessage.Name(_method.Type))}, got {EapMessage.Name(type)}");
        }

        var step = _method.Process(_id, data);
        return Continue(step);
    }

    private EapStep Continue(EapStep step)
    {
        switch (step.Kind)
        {
            case EapStepKind.Send:
                _id++;
                return EapStep.Send(EapMessage.Request(_id, _method!.Type, step.Data));
            case EapStepKind.Success:
                Outcome = new EapOutcome(_method!.Msk, _identity, [], EapMessage.Name(_method.Type));
                return new EapStep(EapStepKind.Success, EapMessage.Success(_id));
            case EapStepKind.Failure:
                return EapStep.Fail($"{EapMessage.Name(_method!.Type)} for '{_identity}' failed: {step.Error}");
            default:
                return step;
        }
    }

    /// <summary>RFC 3748 §5.3.1: the client wants another method; take the first it names that we may run.</summary>
    private EapStep Nak(ReadOnlySpan<byte> desired)
    {
        var refused = _method!.Type;
        var wanted = desired.ToArray().Select(b => (EapType)b).ToList();
        var allowed = _round.EapDynamic ? Negotiable.Where(wanted.Contains).ToList() : [];
        if (allowed.Count == 0)
        {
            var names = string.Join(", ", wanted.Select(EapMessage.Name));
            var why = wanted.Any(t => t is EapType.Md5 or EapType.Gtc) ? " (a method without an MSK runs only when remote.auth names it)" : string.Empty;
            return EapStep.Fail($"the client refused {EapMessage.Name(refused)} and asked for {(names.Length == 0 ? "nothing" : names)}{why}");
        }

        _method.Dispose();
        _method = null;
        _candidates.Clear();
        foreach (var t in allowed)
        {
            _candidates.Enqueue(t);
        }

        return StartMethod();
    }

    private EapStep StartMethod()
    {
        var type = _candidates.Dequeue();
        if (Create(type, out var why) is not { } method)
        {
            return EapStep.Fail(why!);
        }

        if (_requireMutual && !method.Mutual)
        {
            method.Dispose();
            return EapStep.Fail($"EAP-only authentication needs a mutual method, and {EapMessage.Name(type)} is not");
        }

        _method = method;
        _id++;
        var first = method.Start(_id);
        return first.Kind == EapStepKind.Send ? EapStep.Send(EapMessage.Request(_id, type, first.Data)) : Continue(first);
    }

    /// <summary>The method keyed for the identity: EAP-TLS with our certificate, the others with the client's EAP secret.</summary>
    private IEapServerMethod? Create(EapType type, out string? error)
    {
        if (type == EapType.Tls)
        {
            error = _tls is null ? "EAP-TLS is not available here (no certificate context)" : null;
            return _tls is null ? null : EapMethods.TlsServer(_server, _identity!, _secrets, _tls, _entropy, out error);
        }

        var secret = _secrets.FindEapSecret(_identity!, _server);
        if (secret is not { Length: > 0 })
        {
            error = $"no EAP secret found for '{_identity}' - '{_server}'";
            return null;
        }

        error = $"{EapMessage.Name(type)} is not supported as EAP server";
        return EapMethods.Server(type, _identity!.ToString(), secret, _entropy);
    }

    public void Dispose() => _method?.Dispose();
}
