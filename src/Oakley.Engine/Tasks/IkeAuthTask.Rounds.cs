using Oakley.Engine.Authentication;
using Oakley.Iana;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// Multiple authentication rounds (RFC 4739, swanctl <c>local-2</c> / <c>remote-2</c>): after the first round each
/// further one is another IKE_AUTH round trip (or several, for EAP) with the round's own IDi and AUTH, announced with
/// ANOTHER_AUTH_FOLLOWS. The responder authenticates itself in the first round only (its MSK-keyed AUTH ends an EAP
/// round). The CHILD SA and the configuration payload come with the last round's response.
/// </summary>
internal sealed partial class IkeAuthTask
{
    /// <summary>The round under way: 0 is the connection's <c>local</c>/<c>remote</c>, 1 its <c>local-2</c>/<c>remote-2</c>, ….</summary>
    private int _round;

    /// <summary>The IDi of the round under way (the AUTH covers it).</summary>
    private IdentificationPayload? _idi;

    /// <summary>The responder's IDr of the first round (the AUTH of a later EAP round covers it, as strongSwan computes it).</summary>
    private IdentificationPayload? _idr;

    /// <summary>Our IDr as responder.</summary>
    private IdentificationPayload? _ourIdr;

    /// <summary>The initiator announced ANOTHER_AUTH_FOLLOWS in the round under way.</summary>
    private bool _anotherFollows;

    /// <summary>The initiator's round is complete (<paramref name="outcome"/> Done): the next one, or the SA is up.</summary>
    private TaskOutcome RoundOutcome(DateTimeOffset now, TaskOutcome outcome, Received response)
    {
        if (outcome != TaskOutcome.Done)
        {
            return outcome;
        }

        if (_round < sa.Config.MoreLocalAuth.Count)
        {
            _round++;
            _eapClient?.Dispose();
            _eapClient = null;
            return TaskOutcome.Continue;
        }

        NoteMobike(sa, response.Payloads);
        return EstablishInitiator(now, sa);
    }

    /// <summary>A later round's first request: its IDi, and its certificates and AUTH (or nothing: EAP follows).</summary>
    private TaskOutcome BuildLaterRound(DateTimeOffset now, List<IkePayload> request)
    {
        var config = sa.Config;
        var round = config.MoreLocalAuth[_round - 1];
        var id = round.RoundId ?? config.LocalId;
        _idi = new IdentificationPayload(true, id.Type, id.Value);
        request.Add(_idi);
        if (round.Class == AuthClass.Eap)
        {
            _eapClient = new EapClientRounds(sa, _idi, now, round, id, eapOnly: false);
        }
        else
        {
            var local = LocalCredential(now, sa.RemoteIdentity, round, id);
            if (local.Result.Authenticator is not { } authenticator)
            {
                sa.Fail(now, $"authentication round {_round + 1}: {local.Result.Error}");
                return TaskOutcome.Failed;
            }

            request.AddRange(local.Certificates);
            request.Add(authenticator.Build(AuthOctets.Of(sa, true, _idi)));
        }

        if (_round < config.MoreLocalAuth.Count)
        {
            request.Add(new NotifyPayload(NotifyType.AnotherAuthFollows));
        }

        return TaskOutcome.Done;
    }

    /// <summary>The response to a later round's first request: EAP begins, or (a non-EAP round) the round is done.</summary>
    private TaskOutcome LaterRoundResponse(DateTimeOffset now, Received response)
    {
        if (_eapClient is { } client)
        {
            return RoundOutcome(now, client.Begin(now, response, _idr!), response);
        }

        return RoundOutcome(now, TaskOutcome.Done, response);
    }

    private void NoteAnotherAuth(Received request)
    {
        _anotherFollows |= request.Payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.AnotherAuthFollows);
        sa.PeerMultipleAuth |= request.Payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MultipleAuthSupported);
    }

    /// <summary>
    /// The peer's round is complete (our reply so far is in <see cref="_reply"/>): wait for its next round if it announced
    /// one, else the SA is up, once every round the connection requires is done.
    /// </summary>
    private TaskOutcome ResponderRoundDone(DateTimeOffset now, Received request)
    {
        var config = sa.Config;
        var rounds = 1 + config.MoreRemoteAuth.Count;
        if (_anotherFollows)
        {
            if (_round + 1 >= rounds)
            {
                return Refuse(now, $"'{sa.RemoteIdentity}' announced another authentication round (RFC 4739), but connection '{config.Name}' has {rounds}");
            }

            _round++;
            _anotherFollows = false;
            _eapServer?.Dispose();
            _eapServer = null;
            return TaskOutcome.Continue;
        }

        if (_round + 1 < rounds)
        {
            return Refuse(now, $"connection '{config.Name}' requires {rounds} authentication rounds (RFC 4739), and '{sa.RemoteIdentity}' completed {_round + 1}");
        }

        var first = sa.Tasks.FirstAuthRequest?.Payloads ?? request.Payloads;
        return EstablishResponder(now, sa, first, _reply!, out var refusal) ? TaskOutcome.Done : Refuse(now, refusal!);
    }

    /// <summary>A later round's first request: the round's IDi, then its AUTH verified, or EAP started.</summary>
    private TaskOutcome LaterRoundRequest(DateTimeOffset now, Received request)
    {
        var round = sa.Config.MoreRemoteAuth[_round - 1];
        if (request.Payloads.OfType<IdentificationPayload>().FirstOrDefault(i => i.IsInitiator) is not { } idi)
        {
            return Refuse(now, $"authentication round {_round + 1} of '{sa.RemoteIdentity}' lacks IDi");
        }

        var peer = new Identity(idi.IdType, idi.Data.ToArray());
        if (round.RoundId is { } expected && !expected.IsAny && !expected.Matches(peer))
        {
            return Refuse(now, $"authentication round {_round + 1}: identity '{peer}' does not match the configured '{expected}'");
        }

        if (request.Payloads.OfType<AuthenticationPayload>().FirstOrDefault() is not { } auth)
        {
            if (round.Class != AuthClass.Eap)
            {
                return Refuse(now, $"authentication round {_round + 1}: '{peer}' asked for EAP, but the round expects {round.Class.ToString().ToLowerInvariant()}");
            }

            _eapServer ??= new EapServerRounds(sa, idi, _ourIdr!, eapOnly: false, round, peer); // kept when a held request comes back
            var outcome = _eapServer.Start(now, request, _reply = [], out var eapRefusal);
            return eapRefusal is null ? outcome : Refuse(now, eapRefusal, keep: _reply);
        }

        var verifier = RemoteVerifier(now, request.Payloads, round, peer);
        if (verifier.Deferred)
        {
            throw IkeProtocolException.Drop(verifier.Error!);
        }

        var refusal = verifier.Authenticator is null ? verifier.Error
            : verifier.Authenticator.Check(AuthOctets.Of(sa, true, idi), auth) is { } bad ? $"AUTH payload of '{peer}' in round {_round + 1} did not verify: {bad}" : null;
        if (refusal is not null)
        {
            return Refuse(now, refusal);
        }

        _reply = [];
        return ResponderRoundDone(now, request);
    }
}
