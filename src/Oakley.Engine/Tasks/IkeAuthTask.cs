using Oakley.Crypto.KeyDerivation;
using Oakley.Engine.Authentication;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// IKE_AUTH's authentication (RFC 7296 §1.2, §2.15): identities, AUTH built and verified only through an
/// <see cref="IIkeAuthenticator"/> (PSK, or public-key signatures with CERT and CERTREQ payloads, chosen per side by
/// the connection's <c>local</c> and <c>remote</c> rounds; EAP joins behind the same interface), INITIAL_CONTACT and
/// swanctl <c>unique</c>, MOBIKE_SUPPORTED, and the SA's establishment. The first CHILD SA is a task of its own in the
/// same exchange.
/// </summary>
internal sealed class IkeAuthTask(IkeSa sa) : IInitiatorTask, IResponderTask
{
    private List<IkePayload>? _reply;

    /// <summary>The peer's verifier as <see cref="Accept"/> built it for this response, so that it is built once.</summary>
    private AuthenticatorResult? _accepted;

    public ExchangeType Exchange => ExchangeType.IkeAuth;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        var config = sa.Config;
        var idi = new IdentificationPayload(true, config.LocalId.Type, config.LocalId.Value);
        request.Add(idi);
        // No IKE_AUTH without our credential: a missing or empty key fails the SA here, before anything is sent.
        var local = LocalCredential(now, config.RemoteId);
        if (local.Result.Authenticator is not { } authenticator)
        {
            sa.Fail(now, local.Result.Error!);
            return TaskOutcome.Failed;
        }

        request.AddRange(local.Certificates);
        if (PublicKeyCredentials.CertificateRequest(sa) is { } certreq)
        {
            request.Add(certreq);
        }

        if (config.RemoteId is { } rid && !rid.IsWildcard)
        {
            request.Add(new IdentificationPayload(false, rid.Type, rid.Value));
        }

        request.Add(authenticator.Build(AuthInputOf(true, sa.InitRequest, sa.NonceR, idi)));
        if (config.SendInitialContact && sa.ReauthOf is null)
        {
            request.Add(new NotifyPayload(NotifyType.InitialContact));
        }

        if (config.Mobike)
        {
            request.Add(new NotifyPayload(NotifyType.MobikeSupported));
        }

        return TaskOutcome.Done;
    }

    /// <summary>
    /// A response whose verification waits for revocation information being fetched is dropped before anything
    /// changes: the request stays pending, our retransmission brings the response back, and by then the answer is in.
    /// </summary>
    public void Accept(DateTimeOffset now, Received response)
    {
        _accepted = null;
        if (sa.Config.RemoteAuth.Class != AuthClass.PublicKey
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
        if (payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.AuthenticationFailed) is not null)
        {
            return Fail(now, "peer reported AUTHENTICATION_FAILED");
        }

        var idr = payloads.OfType<IdentificationPayload>().FirstOrDefault(i => !i.IsInitiator);
        var auth = payloads.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idr is null || auth is null)
        {
            return Fail(now, "IKE_AUTH response lacks IDr or AUTH");
        }

        sa.RemoteIdentity = new Identity(idr.IdType, idr.Data.ToArray());
        if (sa.Config.RemoteId is { } expected && !expected.Matches(sa.RemoteIdentity))
        {
            AuthFailedNoticeTask.Send(now, sa); // the responder established its side: tell it (RFC 7296 §2.21.2)
            return Fail(now, $"peer identity '{sa.RemoteIdentity}' does not match the configured '{expected}'");
        }

        var verifier = _accepted ?? RemoteVerifier(now, payloads);
        var refusal = verifier.Authenticator is null ? verifier.Error
            : verifier.Authenticator.Check(AuthInputOf(false, sa.InitResponse, sa.NonceI, idr), auth) is { } bad ? $"AUTH payload of '{sa.RemoteIdentity}' did not verify: {bad}" : null;
        if (refusal is not null)
        {
            // RFC 7296 §2.21.2: the responder has established its side; an INFORMATIONAL with AUTHENTICATION_FAILED
            // tells it (as strongSwan does), and the initiator deletes the IKE SA.
            AuthFailedNoticeTask.Send(now, sa);
            return Fail(now, refusal);
        }

        if (!sa.Services.EnforceUniqueness(now, sa, initialContact: false))
        {
            return Fail(now, $"an IKE SA with '{sa.RemoteIdentity}' exists (unique = keep): not keeping this one");
        }

        sa.Path.MobikeNegotiated = sa.Config.Mobike && payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported);
        MobikeTask.StoreAdditionalAddresses(sa, payloads);
        sa.Establish(now);
        return TaskOutcome.Done;
    }

    private TaskOutcome Fail(DateTimeOffset now, string reason)
    {
        sa.Fail(now, reason);
        return TaskOutcome.Failed;
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        var payloads = request.Payloads;
        var idi = payloads.OfType<IdentificationPayload>().FirstOrDefault(i => i.IsInitiator);
        var auth = payloads.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idi is null || auth is null)
        {
            // EAP (no AUTH from the initiator) is not implemented yet: answer as RFC 7296 §2.21.2 asks.
            return Refuse(now, "IKE_AUTH request without IDi/AUTH (EAP is not supported yet)");
        }

        sa.RemoteIdentity = new Identity(idi.IdType, idi.Data.ToArray());
        var config = sa.Services.FindConfigForIdentity(sa.Config, sa.RemoteIdentity, sa.Remote);
        if (config is null)
        {
            return Refuse(now, $"no connection matches peer identity '{sa.RemoteIdentity}'");
        }

        sa.Config = config;
        sa.PeerCertificateRequests = PublicKeyCredentials.Requested(payloads);
        // The peer is verified first; then our own credential must exist too, or the answer is AUTHENTICATION_FAILED.
        var verifier = RemoteVerifier(now, payloads);
        if (verifier.Deferred)
        {
            // Revocation information is being fetched: no answer yet; the initiator's retransmission is taken anew.
            throw IkeProtocolException.Drop(verifier.Error!);
        }

        var refusal = verifier.Authenticator is null ? verifier.Error
            : verifier.Authenticator.Check(AuthInputOf(true, sa.InitRequest, sa.NonceR, idi), auth) is { } bad ? $"AUTH payload of '{sa.RemoteIdentity}' did not verify: {bad}" : null;
        var local = refusal is null ? LocalCredential(now, sa.RemoteIdentity) : default;
        refusal ??= local.Result.Error;
        if (refusal is not null || local.Result.Authenticator is not { } authenticator)
        {
            return Refuse(now, refusal!);
        }

        var idr = new IdentificationPayload(false, config.LocalId.Type, config.LocalId.Value);
        _reply = [idr, .. local.Certificates, authenticator.Build(AuthInputOf(false, sa.InitResponse, sa.NonceI, idr))];
        if (!sa.Services.EnforceUniqueness(now, sa, payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.InitialContact)))
        {
            // unique = keep: an IKE SA with this peer exists; this one is refused.
            return Refuse(now, $"refusing a second IKE SA with '{sa.RemoteIdentity}' (unique = keep)");
        }

        // RFC 4555: MOBIKE is used when both sides say MOBIKE_SUPPORTED in IKE_AUTH.
        if (config.Mobike && payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported))
        {
            sa.Path.MobikeNegotiated = true;
            _reply!.Add(new NotifyPayload(NotifyType.MobikeSupported));
        }

        MobikeTask.StoreAdditionalAddresses(sa, payloads);
        sa.Establish(now);
        return TaskOutcome.Done;
    }

    /// <summary>The responder refuses the authentication: AUTHENTICATION_FAILED is the whole answer and the SA goes.</summary>
    private TaskOutcome Refuse(DateTimeOffset now, string reason)
    {
        sa.Services.EmitAlert(now, sa.Id, reason, sa.Config.Name);
        _reply = [new NotifyPayload(NotifyType.AuthenticationFailed)];
        return TaskOutcome.Failed;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.AddRange(_reply ?? []);

    /// <summary>RFC 7296 §2.15: what one side's AUTH covers, RealMessage | peer's nonce | prf(SK_p, ID body).</summary>
    private AuthInput AuthInputOf(bool initiatorSide, byte[] realMessage, byte[] peerNonce, IdentificationPayload id)
    {
        var keys = sa.Keys!;
        var prf = keys.Suite.Prf!;
        return new AuthInput(prf, Ikev2Auth.SignedOctets(prf, realMessage, peerNonce, initiatorSide ? keys.Keys.SK_pi : keys.Keys.SK_pr, id.GetBodyBytes()));
    }

    /// <summary>What we authenticate with (the <c>local</c> round): a PSK for our identity and <paramref name="remote"/> (null: %any), or our signing key and certificates.</summary>
    private LocalCredential LocalCredential(DateTimeOffset now, Identity? remote) => sa.Config.LocalAuth.Class == AuthClass.Psk
        ? new LocalCredential(PskAuthenticator.Create(sa.Services.Secrets, sa.Config.LocalId, remote is { } r && !r.IsWildcard ? r : sa.RemoteIdentity), [])
        : PublicKeyCredentials.Local(sa, now, sa.PeerCertificateRequests);

    /// <summary>What verifies the peer (the <c>remote</c> round), or why nothing can.</summary>
    private AuthenticatorResult RemoteVerifier(DateTimeOffset now, IReadOnlyList<IkePayload> payloads) => sa.Config.RemoteAuth.Class == AuthClass.Psk
        ? PskAuthenticator.Create(sa.Services.Secrets, sa.Config.LocalId, sa.RemoteIdentity)
        : PublicKeyCredentials.Remote(sa, now, sa.RemoteIdentity!, payloads);

}
