using Oakley.Engine.Authentication;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// IKE_AUTH's authentication (RFC 7296 §1.2, §2.15, §2.16): identities, AUTH built and verified only through an
/// <see cref="IIkeAuthenticator"/> (PSK, or public-key signatures with CERT and CERTREQ payloads, chosen per side by
/// the connection's <c>local</c> and <c>remote</c> rounds), INITIAL_CONTACT and swanctl <c>unique</c>,
/// MOBIKE_SUPPORTED, and the SA's establishment. EAP takes further round trips of the same exchange:
/// <see cref="EapClientRounds"/> as client, <see cref="EapServerRounds"/> as gateway, with EAP-only (RFC 5998) when the
/// gateway's own round is EAP too. The first CHILD SA and the configuration payload are tasks of their own in the
/// same exchange; they wait for this task's last round.
/// </summary>
internal sealed partial class IkeAuthTask(IkeSa sa) : IInitiatorTask, IResponderTask, IDisposable
{
    private List<IkePayload>? _reply;

    /// <summary>The peer's verifier as <see cref="Accept"/> built it for this response, so that it is built once.</summary>
    private AuthenticatorResult? _accepted;

    private EapClientRounds? _eapClient;
    private EapServerRounds? _eapServer;

    public ExchangeType Exchange => ExchangeType.IkeAuth;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        if (_eapClient is { Started: true } eap)
        {
            eap.BuildRequest(request);
            return TaskOutcome.Done;
        }

        if (_round > 0)
        {
            return BuildLaterRound(now, request);
        }

        var config = sa.Config;
        if (config.MoreLocalAuth.Count > 0 && !sa.PeerMultipleAuth)
        {
            // RFC 4739 §3: ANOTHER_AUTH_FOLLOWS only to a responder that sent MULTIPLE_AUTH_SUPPORTED in IKE_SA_INIT.
            sa.Fail(now, $"connection '{config.Name}' has {1 + config.MoreLocalAuth.Count} authentication rounds, but the peer does not support multiple authentication (no MULTIPLE_AUTH_SUPPORTED, RFC 4739)");
            return TaskOutcome.Failed;
        }

        var idi = new IdentificationPayload(true, config.LocalId.Type, config.LocalId.Value);
        _idi = idi;
        request.Add(idi);
        IIkeAuthenticator? authenticator = null;
        if (config.LocalAuth.Class == AuthClass.Eap)
        {
            // No AUTH: the gateway starts EAP (§2.16). We also offer EAP-only (RFC 5998 §4), as strongSwan does.
            _eapClient = new EapClientRounds(sa, idi, now, config.LocalAuth, config.LocalId, eapOnly: config.RemoteAuth.Class == AuthClass.Eap);
        }
        else
        {
            // No IKE_AUTH without our credential: a missing or empty key fails the SA here, before anything is sent.
            var local = LocalCredential(now, config.RemoteId);
            if (local.Result.Authenticator is not { } built)
            {
                sa.Fail(now, local.Result.Error!);
                return TaskOutcome.Failed;
            }

            authenticator = built;
            request.AddRange(local.Certificates);
        }

        if (PublicKeyCredentials.CertificateRequest(sa) is { } certreq)
        {
            request.Add(certreq);
        }

        if (config.RemoteId is { } rid && !rid.IsWildcard)
        {
            request.Add(new IdentificationPayload(false, rid.Type, rid.Value));
        }

        if (authenticator is not null)
        {
            request.Add(authenticator.Build(AuthOctets.Of(sa, true, idi)));
        }

        AddNotifies(config, request);
        return TaskOutcome.Done;
    }

    private void AddNotifies(IkeConfig config, List<IkePayload> request)
    {
        if (config.SendInitialContact && sa.ReauthOf is null)
        {
            request.Add(new NotifyPayload(NotifyType.InitialContact));
        }

        if (_eapClient is not null)
        {
            request.Add(new NotifyPayload(NotifyType.EapOnlyAuthentication));
        }

        if (config.MoreLocalAuth.Count > 0)
        {
            // RFC 4739 §3: both announcements go in the first IKE_AUTH request; BuildRequest checked the responder's.
            request.Add(new NotifyPayload(NotifyType.MultipleAuthSupported));
            request.Add(new NotifyPayload(NotifyType.AnotherAuthFollows));
        }

        if (config.Mobike)
        {
            request.Add(new NotifyPayload(NotifyType.MobikeSupported));
        }
    }

    /// <summary>
    /// A response whose verification waits for revocation information being fetched is dropped before anything
    /// changes: the request stays pending, our retransmission brings the response back, and by then the answer is in.
    /// </summary>
    public void Accept(DateTimeOffset now, Received response)
    {
        _accepted = null;
        if (_eapClient is { Started: true } || sa.Config.RemoteAuth.Class != AuthClass.PublicKey
            || response.Payloads.OfType<IdentificationPayload>().FirstOrDefault(i => !i.IsInitiator) is not { } idr)
        {
            return;
        }

        var verifier = PublicKeyCredentials.Remote(sa, now, new Identity(idr.IdType, idr.Data.ToArray()), response.Payloads);
        if (verifier.Deferred)
        {
            throw IkeProtocolException.Drop(verifier.Error!);
        }

        _accepted = verifier;
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        var payloads = response.Payloads;
        if (_eapClient is { Started: true } eap && payloads.OfType<EapPayload>().Any())
        {
            // an EAP-Failure says more than the AUTHENTICATION_FAILED beside it
            return RoundOutcome(now, eap.ProcessResponse(now, response), response);
        }

        if (payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.AuthenticationFailed) is not null)
        {
            return Fail(now, "peer reported AUTHENTICATION_FAILED");
        }

        if (_eapClient is { Started: true } started)
        {
            return RoundOutcome(now, started.ProcessResponse(now, response), response);
        }

        if (_round > 0)
        {
            return LaterRoundResponse(now, response);
        }

        var idr = payloads.OfType<IdentificationPayload>().FirstOrDefault(i => !i.IsInitiator);
        var auth = payloads.OfType<AuthenticationPayload>().FirstOrDefault();
        var eapOnly = sa.Config.RemoteAuth.Class == AuthClass.Eap;
        if (idr is null || (auth is null && !eapOnly))
        {
            return Fail(now, "IKE_AUTH response lacks IDr or AUTH");
        }

        sa.RemoteIdentity = new Identity(idr.IdType, idr.Data.ToArray());
        if (sa.Config.RemoteId is { } expected && !expected.Matches(sa.RemoteIdentity))
        {
            NoticeUnlessEap(now);
            return Fail(now, $"peer identity '{sa.RemoteIdentity}' does not match the configured '{expected}'");
        }

        if (RefuseResponder(now, payloads, idr, auth, eapOnly) is { } refusal)
        {
            NoticeUnlessEap(now);
            return Fail(now, refusal);
        }

        NoteMobike(sa, payloads);
        _idr = idr;
        if (_eapClient is { } client)
        {
            return RoundOutcome(now, client.Begin(now, response, idr), response);
        }

        return RoundOutcome(now, TaskOutcome.Done, response);
    }

    /// <summary>Why the responder's first AUTH is not acceptable (null: it is, or EAP-only authenticates it later).</summary>
    private string? RefuseResponder(DateTimeOffset now, List<IkePayload> payloads, IdentificationPayload idr, AuthenticationPayload? auth, bool eapOnly)
    {
        if (eapOnly)
        {
            // RFC 5998: with EAP-only the gateway sends no AUTH before EAP; its MSK-keyed AUTH at the end authenticates it.
            return auth is null ? null : "the gateway sent an AUTH payload, but this connection expects EAP-only authentication (remote auth = eap)";
        }

        var verifier = _accepted ?? RemoteVerifier(now, payloads);
        return verifier.Authenticator is null ? verifier.Error
            : verifier.Authenticator.Check(AuthOctets.Of(sa, false, idr), auth!) is { } bad ? $"AUTH payload of '{sa.RemoteIdentity}' did not verify: {bad}" : null;
    }

    /// <summary>
    /// RFC 7296 §2.21.2: the responder has established its side; an INFORMATIONAL with AUTHENTICATION_FAILED tells it
    /// (as strongSwan does). A gateway in the middle of EAP has established nothing: the SA simply goes.
    /// </summary>
    private void NoticeUnlessEap(DateTimeOffset now)
    {
        if (_eapClient is null)
        {
            AuthFailedNoticeTask.Send(now, sa);
        }
    }

    /// <summary>The initiator's last IKE_AUTH response was accepted: swanctl <c>unique</c>, then the SA is up.</summary>
    internal static TaskOutcome EstablishInitiator(DateTimeOffset now, IkeSa sa)
    {
        if (!sa.Services.EnforceUniqueness(now, sa, initialContact: false))
        {
            sa.Fail(now, $"an IKE SA with '{sa.RemoteIdentity}' exists (unique = keep): not keeping this one");
            return TaskOutcome.Failed;
        }

        sa.Establish(now);
        return TaskOutcome.Done;
    }

    /// <summary>RFC 4555: MOBIKE is used when both sides say MOBIKE_SUPPORTED in IKE_AUTH (in any of its rounds).</summary>
    internal static void NoteMobike(IkeSa sa, List<IkePayload> payloads)
    {
        sa.Path.MobikeNegotiated |= sa.Config.Mobike && payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported);
        MobikeTask.StoreAdditionalAddresses(sa, payloads);
    }

    private TaskOutcome Fail(DateTimeOffset now, string reason)
    {
        sa.Fail(now, reason);
        return TaskOutcome.Failed;
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        NoteAnotherAuth(request);
        if (_eapServer is { Started: true } eap)
        {
            var outcome = eap.Process(now, request, _reply = [], out var eapRefusal);
            return eapRefusal is not null ? Refuse(now, eapRefusal, keep: _reply)
                : outcome == TaskOutcome.Done ? ResponderRoundDone(now, request) : outcome;
        }

        if (_round > 0)
        {
            return LaterRoundRequest(now, request);
        }

        var payloads = request.Payloads;
        var idi = payloads.OfType<IdentificationPayload>().FirstOrDefault(i => i.IsInitiator);
        var auth = payloads.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idi is null)
        {
            return Refuse(now, "IKE_AUTH request without IDi");
        }

        sa.RemoteIdentity = new Identity(idi.IdType, idi.Data.ToArray());
        var config = sa.Services.FindConfigForIdentity(sa.Config, sa.RemoteIdentity, sa.Remote);
        if (config is null)
        {
            return Refuse(now, $"no connection matches peer identity '{sa.RemoteIdentity}'");
        }

        sa.Config = config;
        sa.PeerCertificateRequests = PublicKeyCredentials.Requested(payloads);
        if (auth is null)
        {
            return StartEap(now, request, idi);
        }

        // The peer is verified first; then our own credential must exist too, or the answer is AUTHENTICATION_FAILED.
        var verifier = RemoteVerifier(now, payloads);
        if (verifier.Deferred)
        {
            // Revocation information is being fetched: no answer yet; the initiator's retransmission is taken anew.
            throw IkeProtocolException.Drop(verifier.Error!);
        }

        var refusal = verifier.Authenticator is null ? verifier.Error
            : verifier.Authenticator.Check(AuthOctets.Of(sa, true, idi), auth) is { } bad ? $"AUTH payload of '{sa.RemoteIdentity}' did not verify: {bad}" : null;
        var idr = new IdentificationPayload(false, config.LocalId.Type, config.LocalId.Value);
        var own = refusal is null ? OwnAuth(now, idr) : null;
        if (refusal is not null || own is null)
        {
            return Refuse(now, refusal ?? _refusal!);
        }

        _reply = own;
        _ourIdr = idr;
        return ResponderRoundDone(now, request);
    }

    private string? _refusal;

    /// <summary>IDr, our certificates and our AUTH, or null (<see cref="_refusal"/> says why: our credential is missing).</summary>
    private List<IkePayload>? OwnAuth(DateTimeOffset now, IdentificationPayload idr)
    {
        var local = LocalCredential(now, sa.RemoteIdentity);
        if (local.Result.Authenticator is not { } authenticator)
        {
            _refusal = local.Result.Error;
            return null;
        }

        return [idr, .. local.Certificates, authenticator.Build(AuthOctets.Of(sa, false, idr))];
    }

    /// <summary>An IKE_AUTH request without AUTH: the client wants EAP (§2.16), which the connection must ask for.</summary>
    private TaskOutcome StartEap(DateTimeOffset now, Received request, IdentificationPayload idi)
    {
        var config = sa.Config;
        if (config.RemoteAuth.Class != AuthClass.Eap)
        {
            return Refuse(now, $"'{sa.RemoteIdentity}' asked for EAP (no AUTH payload), but connection '{config.Name}' expects {config.RemoteAuth.Class.ToString().ToLowerInvariant()} authentication");
        }

        var eapOnly = config.LocalAuth.Class == AuthClass.Eap;
        if (eapOnly && !request.Payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.EapOnlyAuthentication))
        {
            return Refuse(now, "configured EAP-only authentication, but the peer does not support it (no EAP_ONLY_AUTHENTICATION)");
        }

        var idr = new IdentificationPayload(false, config.LocalId.Type, config.LocalId.Value);
        var reply = eapOnly ? [idr] : OwnAuth(now, idr);
        if (reply is null)
        {
            return Refuse(now, _refusal!);
        }

        _ourIdr = idr;
        _eapServer ??= new EapServerRounds(sa, idi, idr, eapOnly, config.RemoteAuth, sa.RemoteIdentity!);
        var outcome = _eapServer.Start(now, request, reply, out var refusal);
        _reply = reply;
        return refusal is null ? outcome : Refuse(now, refusal, keep: reply.OfType<EapPayload>().ToList<IkePayload>());
    }

    /// <summary>The responder's last IKE_AUTH round succeeded: swanctl <c>unique</c>, MOBIKE, then the SA is up. False: <paramref name="refusal"/>.</summary>
    internal static bool EstablishResponder(DateTimeOffset now, IkeSa sa, List<IkePayload> request, List<IkePayload> reply, out string? refusal)
    {
        refusal = null;
        if (!sa.Services.EnforceUniqueness(now, sa, request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.InitialContact)))
        {
            // unique = keep: an IKE SA with this peer exists; this one is refused.
            refusal = $"refusing a second IKE SA with '{sa.RemoteIdentity}' (unique = keep)";
            return false;
        }

        // RFC 4555: MOBIKE is used when both sides say MOBIKE_SUPPORTED in IKE_AUTH.
        if (sa.Config.Mobike && request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported))
        {
            sa.Path.MobikeNegotiated = true;
            reply.Add(new NotifyPayload(NotifyType.MobikeSupported));
        }

        MobikeTask.StoreAdditionalAddresses(sa, request);
        sa.Establish(now);
        return true;
    }

    /// <summary>The responder refuses the authentication: AUTHENTICATION_FAILED (after <paramref name="keep"/>, e.g. an EAP-Failure) is the answer and the SA goes.</summary>
    private TaskOutcome Refuse(DateTimeOffset now, string reason, List<IkePayload>? keep = null)
    {
        sa.Services.EmitAlert(now, sa.Id, reason, sa.Config.Name);
        _reply = [.. keep ?? [], new NotifyPayload(NotifyType.AuthenticationFailed)];
        return TaskOutcome.Failed;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.AddRange(_reply ?? []);

    /// <summary>What we authenticate with (the <c>local</c> round): a PSK for our identity and <paramref name="remote"/> (null: %any), or our signing key and certificates.</summary>
    private LocalCredential LocalCredential(DateTimeOffset now, Identity? remote, AuthConfig? round = null, Identity? id = null) => (round ?? sa.Config.LocalAuth).Class switch
    {
        AuthClass.Psk => new LocalCredential(PskAuthenticator.Create(sa.Services.Secrets, id ?? sa.Config.LocalId, remote is { } r && !r.IsWildcard ? r : sa.RemoteIdentity), []),
        AuthClass.PublicKey => PublicKeyCredentials.Local(sa, now, sa.PeerCertificateRequests, round),
        _ => new LocalCredential(AuthenticatorResult.Missing($"connection '{sa.Config.Name}': our round is EAP, which authenticates us only after EAP"), []),
    };

    /// <summary>What verifies the peer (the <c>remote</c> round), or why nothing can.</summary>
    private AuthenticatorResult RemoteVerifier(DateTimeOffset now, IReadOnlyList<IkePayload> payloads, AuthConfig? round = null, Identity? peer = null) => (round ?? sa.Config.RemoteAuth).Class switch
    {
        AuthClass.Psk => PskAuthenticator.Create(sa.Services.Secrets, sa.Config.LocalId, peer ?? sa.RemoteIdentity),
        AuthClass.PublicKey => PublicKeyCredentials.Remote(sa, now, peer ?? sa.RemoteIdentity!, payloads, round),
        _ => AuthenticatorResult.Missing($"connection '{sa.Config.Name}' expects EAP, but '{sa.RemoteIdentity}' sent an AUTH payload instead"),
    };

    public void Dispose()
    {
        _eapClient?.Dispose();
        _eapServer?.Dispose();
    }
}
