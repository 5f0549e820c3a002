using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// AUTHENTICATION_FAILED after IKE_AUTH (RFC 7296 §2.21.2): an initiator that refuses the responder's
/// authentication tells it in a separate INFORMATIONAL, sent once and not waited for; the responder, which had
/// already established its side, deletes the IKE SA and its CHILD SAs when that notice arrives.
/// </summary>
internal sealed class AuthFailedNoticeTask(IkeSa sa) : IResponderTask
{
    /// <summary>The initiator's notice, with the next message ID; the SA is failed right after it.</summary>
    public static void Send(DateTimeOffset now, IkeSa sa)
    {
        var header = new IkeMessage
        {
            InitiatorSpi = sa.SpiI,
            ResponderSpi = sa.SpiR,
            ExchangeType = ExchangeType.Informational,
            Flags = IkeHeaderFlags.Initiator,
            MessageId = sa.Window.NextRequestId++,
        };
        sa.SendAll(now, sa.Local, sa.Remote, sa.ProtectOutbound(header, [new NotifyPayload(NotifyType.AuthenticationFailed)]));
        sa.Services.Counters.Message(sa.Config.Name, ExchangeType.Informational, inbound: false, request: true);
        sa.Services.Counters.ErrorNotify(sa.Config.Name, NotifyType.AuthenticationFailed, sent: true);
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        if (!request.Payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.AuthenticationFailed))
        {
            return TaskOutcome.Done;
        }

        sa.Services.EmitAlert(now, sa.Id, $"'{sa.RemoteIdentity}' reported AUTHENTICATION_FAILED: it refused our authentication; deleting the IKE SA");
        return TaskOutcome.Failed;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response)
    {
    }
}
