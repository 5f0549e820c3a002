using Oakley.Engine.Authentication;
using Oakley.Engine.Eap;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// Our EAP rounds as client (RFC 7296 §2.16, the local round is EAP): each IKE_AUTH response carries an EAP request
/// that <see cref="EapPeer"/> answers in the next request; after EAP-Success we send our AUTH keyed with the MSK, and
/// the gateway's last response carries its own, which we verify. With EAP-only (RFC 5998, remote round EAP too) that
/// AUTH is the gateway's only authentication, so the method must have been mutual.
/// </summary>
/// <param name="round">Our round (the connection's <c>local</c>, or a later one, RFC 4739) and <paramref name="id"/> its IDi.</param>
/// <param name="eapOnly">The gateway authenticates only with this EAP method's MSK (RFC 5998): it must be mutual.</param>
internal sealed class EapClientRounds(IkeSa sa, IdentificationPayload idi, DateTimeOffset now, AuthConfig round, Identity id, bool eapOnly) : IDisposable
{
    private readonly EapPeer _peer = new(round, id, sa.Config.RemoteId, sa.Services.Secrets, sa.Services.Entropy,
        new EapTlsOptions { Now = now, Certificates = round.Certificates, FragmentSize = sa.Services.Settings.EapTlsFragmentSize,
            MinVersion = sa.Services.Settings.EapTlsMinVersion, MaxVersion = sa.Services.Settings.EapTlsMaxVersion,
            Revocation = sa.Config.RemoteAuth.Revocation });
    private IdentificationPayload? _idr;
    private byte[]? _next;
    private bool _final;

    /// <summary>The gateway answered the first request: the EAP rounds are on.</summary>
    public bool Started => _idr is not null;

    /// <summary>
    /// The round's first response: IDr and the gateway's AUTH already verified with the first EAP request, or (a later
    /// round, RFC 4739) the EAP request alone; <paramref name="idr"/> is the gateway's IDr of the first round.
    /// </summary>
    public TaskOutcome Begin(DateTimeOffset now, Received response, IdentificationPayload idr)
    {
        _idr = idr;
        return Step(now, response.Payloads);
    }

    public void BuildRequest(List<IkePayload> request)
    {
        if (_final)
        {
            request.Add(MskAuthenticator.For(_peer.Msk, sa.Keys!, initiatorSide: true).Build(AuthOctets.Of(sa, true, idi)));
        }
        else
        {
            request.Add(new EapPayload(_next!));
        }
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        if (!_final)
        {
            return Step(now, response.Payloads);
        }

        if (response.Payloads.OfType<AuthenticationPayload>().FirstOrDefault() is not { } auth)
        {
            return Fail(now, "the last IKE_AUTH response after EAP lacks the gateway's AUTH");
        }

        if (MskAuthenticator.For(_peer.Msk, sa.Keys!, initiatorSide: false).Check(AuthOctets.Of(sa, false, _idr!), auth) is { } bad)
        {
            return Fail(now, $"AUTH payload of '{sa.RemoteIdentity}' after EAP did not verify: {bad}");
        }

        if (eapOnly && !_peer.ServerAuthenticated)
        {
            return Fail(now, $"EAP-only authentication needs a mutual method, and {EapMessage.Name(_peer.Method!.Value)} did not authenticate the gateway");
        }

        sa.EapIdentity = _peer.EapIdentity;
        IkeAuthTask.NoteMobike(sa, response.Payloads);
        return TaskOutcome.Done; // the round is complete: the task starts the next one or establishes the SA
    }

    private TaskOutcome Step(DateTimeOffset now, List<IkePayload> payloads)
    {
        if (payloads.OfType<EapPayload>().FirstOrDefault() is not { } eap)
        {
            return Fail(now, "IKE_AUTH response lacks the EAP payload the gateway must send (our round is EAP)");
        }

        var step = _peer.Process(eap.Message.Span);
        switch (step.Kind)
        {
            case EapStepKind.Send:
                _next = step.Data;
                return TaskOutcome.Continue;
            case EapStepKind.Success when _peer.Msk is null && round.EapMethod is null:
                return Fail(now, $"{EapMessage.Name(_peer.Method!.Value)} established no MSK; name the method in the local round (auth = eap-md5) to allow it");
            case EapStepKind.Success:
                _final = true;
                return TaskOutcome.Continue;
            default:
                return Fail(now, $"EAP authentication as '{_peer.EapIdentity}' failed: {step.Error ?? "no answer"}");
        }
    }

    private TaskOutcome Fail(DateTimeOffset now, string reason)
    {
        sa.Fail(now, reason);
        return TaskOutcome.Failed;
    }

    public void Dispose() => _peer.Dispose();
}
