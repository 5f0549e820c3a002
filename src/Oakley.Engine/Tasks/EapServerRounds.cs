using Oakley.Engine.Authentication;
using Oakley.Engine.Eap;
using Oakley.Iana;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// Our EAP rounds as gateway (RFC 7296 §2.16, the remote round is EAP): the first response carries our IDr and AUTH
/// (none with EAP-only, RFC 5998) and the first EAP request; each following request carries the client's EAP response,
/// answered by the EAP server (ours, <see cref="EapServer"/>, or the RADIUS relay, <see cref="IEapAaa"/>); after
/// EAP-Success the client's AUTH keyed with the MSK is verified and ours answers it. A server that is still working
/// (RADIUS) holds the request: the host resumes the SA when the answer is in (<see cref="Endpoint.Resume"/>).
/// </summary>
/// <param name="round">The peer's round (the connection's <c>remote</c>, or a later one, RFC 4739) and <paramref name="peer"/> the IDi it sent in it.</param>
internal sealed class EapServerRounds(IkeSa sa, IdentificationPayload idi, IdentificationPayload idr, bool eapOnly, AuthConfig round, Identity peer) : IDisposable
{
    private IEapAuthenticator? _server;
    private bool _final;

    /// <summary>The first EAP request went out: the following requests are the EAP rounds.</summary>
    public bool Started { get; private set; }

    /// <summary>The first round: builds the EAP server and adds its first request to <paramref name="reply"/>.</summary>
    public TaskOutcome Start(DateTimeOffset now, Received request, List<IkePayload> reply, out string? refusal)
    {
        refusal = null;
        if (_server is null && Build(now, out refusal) is null)
        {
            return TaskOutcome.Failed;
        }

        var step = _server!.Start();
        switch (step.Kind)
        {
            case EapStepKind.Send:
                Started = true;
                reply.Add(new EapPayload(step.Data!));
                return TaskOutcome.Continue;
            case EapStepKind.Pending:
                throw Hold(request);
            default:
                refusal = step.Error ?? "the EAP server did not start";
                return TaskOutcome.Failed;
        }
    }

    private IEapAuthenticator? Build(DateTimeOffset now, out string? refusal)
    {
        refusal = null;
        if (round.EapRadius && eapOnly)
        {
            // strongSwan counts no method relayed to RADIUS as mutual (it cannot see which one ran): no EAP-only then.
            refusal = "EAP-only authentication needs a mutual method, and eap-radius cannot assure one";
            return null;
        }

        if (round.EapRadius)
        {
            // eap_id = %any (or a pattern): the relay asks with EAP-Identity; unset: the IKE identity is the EAP identity.
            var eapId = round.EapId is { } id && (id.IsAny || id.IsWildcard) ? null : round.EapId ?? peer;
            var context = new EapContext(sa.Id, sa.Config.Name, peer, eapId, sa.Local, sa.Remote);
            _server = sa.Services.EapAaa is { } aaa ? aaa.Create(context, out refusal) : null;
            refusal ??= _server is null ? "remote auth = eap-radius, but no RADIUS server is configured (charon.plugins.eap-radius)" : null;
            return _server;
        }

        // EAP-TLS presents the certificate of our local round (also with EAP-only, whose local round is EAP).
        var tls = new EapTlsOptions { Now = now, Certificates = sa.Config.LocalAuth.Certificates, FragmentSize = sa.Services.Settings.EapTlsFragmentSize,
            MinVersion = sa.Services.Settings.EapTlsMinVersion, MaxVersion = sa.Services.Settings.EapTlsMaxVersion, Revocation = round.Revocation };
        return _server = new EapServer(round, sa.Config.LocalId, peer, sa.Services.Secrets, sa.Services.Entropy, eapOnly, tls);
    }

    /// <summary>A later round: the client's EAP response, or its AUTH after EAP-Success. <paramref name="refusal"/>: the SA fails.</summary>
    public TaskOutcome Process(DateTimeOffset now, Received request, List<IkePayload> reply, out string? refusal)
    {
        refusal = null;
        var payloads = request.Payloads;
        if (_final)
        {
            return Finish(now, request, reply, out refusal);
        }

        if (payloads.OfType<EapPayload>().FirstOrDefault() is not { } eap)
        {
            refusal = "IKE_AUTH request lacks the EAP response";
            return TaskOutcome.Failed;
        }

        var step = _server!.Process(eap.Message);
        switch (step.Kind)
        {
            case EapStepKind.Send:
                reply.Add(new EapPayload(step.Data!));
                return TaskOutcome.Continue;
            case EapStepKind.Success:
                return Succeeded(eap, step, reply, out refusal);
            case EapStepKind.Pending:
                throw Hold(request);
            default:
                reply.Add(new EapPayload(step.Data ?? EapMessage.Failure(eap.Identifier)));
                refusal = $"EAP authentication of '{peer}' failed: {step.Error ?? "rejected"}";
                return TaskOutcome.Failed;
        }
    }

    private TaskOutcome Succeeded(EapPayload eap, EapStep step, List<IkePayload> reply, out string? refusal)
    {
        refusal = null;
        var outcome = _server!.Outcome;
        if (outcome?.Msk is null && (round.EapMethod is null || round.EapRadius))
        {
            // A method without an MSK runs only when the round names it (auth = eap-md5): the AUTH would be keyed with SK_p only.
            reply.Add(new EapPayload(EapMessage.Failure(eap.Identifier)));
            refusal = round.EapRadius
                ? $"{outcome?.Method ?? "the EAP method"} established no MSK (the RADIUS server sent no MS-MPPE keys): use a key-generating method such as EAP-MSCHAPv2, EAP-TLS or PEAP"
                : $"{outcome?.Method ?? "the EAP method"} established no MSK; name the method in the remote round (auth = eap-md5) to allow it";
            return TaskOutcome.Failed;
        }

        sa.EapIdentity = outcome?.EapIdentity ?? peer;
        sa.AaaAddresses = outcome?.FramedAddresses ?? [];
        reply.Add(new EapPayload(step.Data ?? EapMessage.Success(eap.Identifier)));
        _final = true;
        return TaskOutcome.Continue;
    }

    /// <summary>The client's AUTH keyed with the MSK, then ours: the round is complete.</summary>
    private TaskOutcome Finish(DateTimeOffset now, Received request, List<IkePayload> reply, out string? refusal)
    {
        var msk = _server!.Outcome?.Msk;
        if (request.Payloads.OfType<AuthenticationPayload>().FirstOrDefault() is not { } auth)
        {
            refusal = "IKE_AUTH request after EAP-Success lacks AUTH";
            return TaskOutcome.Failed;
        }

        if (MskAuthenticator.For(msk, sa.Keys!, initiatorSide: true).Check(AuthOctets.Of(sa, true, idi), auth) is { } bad)
        {
            refusal = $"AUTH payload of '{peer}' after EAP did not verify: {bad}";
            return TaskOutcome.Failed;
        }

        reply.Add(MskAuthenticator.For(msk, sa.Keys!, initiatorSide: false).Build(AuthOctets.Of(sa, false, idr)));
        refusal = null;
        return TaskOutcome.Done; // the round is complete: the task starts waiting for the next one or establishes the SA
    }

    /// <summary>The EAP server is still working: the request is held for <see cref="Endpoint.Resume"/> and dropped for now.</summary>
    private IkeProtocolException Hold(Received request)
    {
        sa.HeldRequest = request;
        sa.Services.NoteHeld(sa);
        return IkeProtocolException.Drop("awaiting the EAP server (RADIUS)");
    }

    public void Dispose() => (_server as IDisposable)?.Dispose();
}
