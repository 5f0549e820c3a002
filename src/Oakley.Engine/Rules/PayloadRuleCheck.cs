using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Rules;

/// <summary>What is wrong with a message's payloads.</summary>
public enum PayloadViolation
{
    None,

    /// <summary>A required payload is absent (and no error notify stands in for it).</summary>
    Missing,

    /// <summary>A payload that may occur once occurs again.</summary>
    Repeated,

    /// <summary>A payload type that this kind of message does not carry.</summary>
    NotAllowed,

    /// <summary>A payload no IKEv2 message carries where it is: SK or SKF inside SK (RFC 7296 §3.14, RFC 7383 §2.5).</summary>
    Misplaced,
}

/// <summary>The RFC's answer to a violation.</summary>
public enum PayloadRuleAnswer
{
    /// <summary>The message follows the rules.</summary>
    None,

    /// <summary>
    /// A request: the response is INVALID_SYNTAX (RFC 7296 §3.10.1), protected except in IKE_SA_INIT, and the IKE SA
    /// of a protected request is deleted without a Delete (§2.21.2: malformed messages, like authentication failures,
    /// need no INFORMATIONAL exchange). strongSwan does the same.
    /// </summary>
    InvalidSyntax,

    /// <summary>An IKE_SA_INIT response: unauthenticated, so it is ignored (§2.21); the retransmissions go on.</summary>
    Drop,

    /// <summary>A protected response: the exchange fails as if the peer had refused it with INVALID_SYNTAX.</summary>
    FailExchange,
}

/// <summary>The outcome of <see cref="PayloadRuleCheck.Check"/>: ok, or which payload broke which rule, and the answer.</summary>
public readonly record struct PayloadRuleVerdict(MessageKind? Kind, bool Response, PayloadViolation Violation, PayloadType Payload)
{
    public bool IsOk => Violation == PayloadViolation.None;

    public PayloadRuleAnswer Answer => IsOk ? PayloadRuleAnswer.None
        : !Response ? PayloadRuleAnswer.InvalidSyntax
        : Kind == MessageKind.IkeSaInit ? PayloadRuleAnswer.Drop
        : PayloadRuleAnswer.FailExchange;

    /// <summary>The exception the endpoint's unprotected path turns into the answer (INVALID_SYNTAX, or a drop).</summary>
    public IkeProtocolException ToException() => Answer == PayloadRuleAnswer.InvalidSyntax
        ? IkeProtocolException.InvalidSyntax($"payload rules: {this}")
        : IkeProtocolException.Drop($"payload rules: {this}");

    public override string ToString()
    {
        var message = $"{Kind} {(Response ? "response" : "request")}";
        return Violation switch
        {
            PayloadViolation.None => $"{message} follows the payload rules",
            PayloadViolation.Missing => $"{message} lacks {Payload}",
            PayloadViolation.Repeated => $"{message} carries more than one {Payload}",
            PayloadViolation.NotAllowed => $"{message} carries {Payload}, which it may not",
            _ => $"{message} carries {Payload} inside the Encrypted payload",
        };
    }
}

/// <summary>
/// Checks a message's payloads against <see cref="PayloadRules"/>: the outer payloads of IKE_SA_INIT, the decrypted
/// (or reassembled) inner payloads of the others. It runs on every received message before the exchange code sees
/// it, and the engine tests run it on every message the endpoints build.
/// </summary>
public static class PayloadRuleCheck
{
    /// <summary>
    /// The verdict for one message. <paramref name="kind"/> overrides the classification from the payloads (a
    /// CREATE_CHILD_SA response is what its request was); exchanges without rules pass (their dispatch drops them).
    /// </summary>
    public static PayloadRuleVerdict Check(ExchangeType exchange, bool response, IReadOnlyList<IkePayload> payloads, MessageKind? kind = null)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        kind ??= PayloadRules.Classify(exchange, payloads);
        if (kind is not { } k)
        {
            return new(null, response, PayloadViolation.None, PayloadType.None);
        }

        var rules = PayloadRules.For(k, response);
        Span<int> counts = stackalloc int[256];
        var answered = false;
        foreach (var p in payloads)
        {
            var type = p.Type;
            if (k != MessageKind.IkeSaInit && type is PayloadType.EncryptedAndAuthenticated or PayloadType.EncryptedAndAuthenticatedFragment)
            {
                return new(k, response, PayloadViolation.Misplaced, type);
            }

            if (rules.Find(type) is not { } rule)
            {
                return new(k, response, PayloadViolation.NotAllowed, type);
            }

            if (++counts[(byte)type] > rule.Max)
            {
                return new(k, response, PayloadViolation.Repeated, type);
            }

            answered |= p is NotifyPayload n && ((rules.ErrorSuffices && n.NotifyType.IsError()) || (rules.CookieSuffices && n.NotifyType == NotifyType.Cookie));
        }

        if (!answered)
        {
            foreach (var rule in rules.Payloads)
            {
                if (counts[(byte)rule.Type] < rule.Min)
                {
                    return new(k, response, PayloadViolation.Missing, rule.Type);
                }
            }
        }

        return new(k, response, PayloadViolation.None, PayloadType.None);
    }

    /// <summary>Counts a violation in <see cref="EndpointStats.PayloadRuleViolations"/> and reports it through the (rate-limited) alert path.</summary>
    internal static void Report(ISaServices endpoint, DateTimeOffset now, long ikeSaId, PayloadRuleVerdict verdict)
    {
        endpoint.Stats.PayloadRuleViolations++;
        endpoint.Counters.Count(IkeCounter.Invalid, null);
        endpoint.EmitAlert(now, ikeSaId, $"payload rules: {verdict} ({PayloadRules.For(verdict.Kind!.Value, verdict.Response).Source})");
    }

    /// <summary>The unprotected path (IKE_SA_INIT): a violation is counted and thrown as its answer (see <see cref="PayloadRuleVerdict.ToException"/>).</summary>
    internal static void Enforce(ISaServices endpoint, DateTimeOffset now, long ikeSaId, IkeMessage message)
    {
        var verdict = Check(message.ExchangeType, message.IsResponse, message.Payloads);
        if (!verdict.IsOk)
        {
            Report(endpoint, now, ikeSaId, verdict);
            throw verdict.ToException();
        }
    }
}
