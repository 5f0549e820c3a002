using System.Net;
using Oakley.Engine.Rules;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>The payload rules (<see cref="PayloadRuleCheck"/>) on the protected receive paths (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    /// <summary>
    /// A protected request whose payloads break the rules is answered with INVALID_SYNTAX in the protected response
    /// (RFC 7296 §3.10.1: its message ID and ICV were valid), and the IKE SA is deleted without a Delete, as §2.21.2
    /// allows for malformed messages (strongSwan does the same). Returns true when it was refused.
    /// </summary>
    private bool RefusedByPayloadRules(DateTimeOffset now, IkeMessage m, List<IkePayload> request, IPEndPoint local, IPEndPoint remote)
    {
        var verdict = PayloadRuleCheck.Check(m.ExchangeType, response: false, request);
        if (verdict.IsOk)
        {
            return false;
        }

        PayloadRuleCheck.Report(_services, now, Id, verdict);
        _services.Stats.Drop(nameof(NotifyType.InvalidSyntax));
        SendResponse(now, m, [new NotifyPayload(NotifyType.InvalidSyntax)], local, remote);
        Destroy(now, $"payload rules: {verdict}");
        return true;
    }

    /// <summary>
    /// The payloads of a protected response to our request, checked as what we asked for. One that breaks the rules
    /// fails the exchange: the exchange code sees the peer's answer as INVALID_SYNTAX and fails it its own way (the
    /// IKE SA in IKE_AUTH, the CHILD SA or the rekey in CREATE_CHILD_SA, which is retried later).
    /// </summary>
    private List<IkePayload> ScreenResponse(DateTimeOffset now, IkeMessage m, List<IkePayload> response, PendingRequest pending)
    {
        // The pending request knows what it asked for.
        MessageKind? kind = m.ExchangeType != ExchangeType.CreateChildSa ? null
            : pending.Tasks is [Oakley.Engine.Tasks.IkeRekeyTask] ? MessageKind.RekeyIke
            : pending.Tasks is [Oakley.Engine.Tasks.ChildCreateTask { Rekeys: not null }] ? MessageKind.RekeyChild
            : MessageKind.CreateChild;
        var verdict = PayloadRuleCheck.Check(m.ExchangeType, response: true, response, kind);
        if (verdict.IsOk)
        {
            return response;
        }

        PayloadRuleCheck.Report(_services, now, Id, verdict);
        return [new NotifyPayload(NotifyType.InvalidSyntax)];
    }
}
