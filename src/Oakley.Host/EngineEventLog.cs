using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The log lines of the engine's events, in strongSwan's wording. Alerts can be caused by any peer (a flood of bad
/// IKE_AUTHs, of unacceptable proposals), so they share the host's peer-line limiter. Never logs keys.
/// </summary>
internal static class EngineEventLog
{
    public static string SuppressedNote(long held) => held > 0 ? $" ({held} similar lines suppressed before this one)" : string.Empty;

    public static void Write(ILogger log, LogRateLimiter peerLines, EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up:
                log.LogInformation("[{Name}|{Id}] IKE_SA established between {Local}[{LocalId}]...{Remote}[{RemoteId}], {Algorithms}",
                    up.Name, up.IkeSaId, up.Local, up.LocalId, up.Remote, up.RemoteId, up.Algorithms);
                break;
            case IkeSaRekeyed r:
                log.LogInformation("[{Name}|{Id}] IKE_SA rekeyed: {OldI:x16}_i {OldR:x16}_r -> {SpiI:x16}_i {SpiR:x16}_r",
                    r.Name, r.IkeSaId, r.OldSpiI, r.OldSpiR, r.SpiI, r.SpiR);
                break;
            case IkeSaDown down:
                log.LogInformation("[{Name}|{Id}] IKE_SA deleted: {Reason}", down.Name, down.IkeSaId, down.Reason);
                break;
            case ChildSaInstall c:
                log.LogInformation("[{Name}|{Id}] CHILD_SA {Child} established with SPIs {In:x8}_i {Out:x8}_o and TS {LocalTs} === {RemoteTs}",
                    c.IkeName, c.IkeSaId, c.ChildName, c.InboundSpi, c.OutboundSpi, string.Join(" ", c.LocalTs), string.Join(" ", c.RemoteTs));
                break;
            case IkeSaAddressesChanged moved:
                log.LogInformation("[{Name}|{Id}] IKE_SA and its CHILD_SAs now {Local}...{Remote}{Encap}: {Reason}",
                    moved.Name, moved.IkeSaId, moved.Local, moved.Remote, moved.UdpEncapsulation ? " (ESP in UDP)" : string.Empty, moved.Reason);
                break;
            case ChildSaRemove r:
                log.LogInformation("[{Id}] CHILD_SA {Child} with SPIs {In:x8}_i {Out:x8}_o deleted", r.IkeSaId, r.ChildName, r.InboundSpi, r.OutboundSpi);
                break;
            case Alert a:
                if (peerLines.TryAcquire(a.Time, out var held))
                {
                    log.LogWarning("[{Id}] {Message}{Suppressed}", a.IkeSaId, a.Message, SuppressedNote(held));
                }

                break;
        }
    }
}
