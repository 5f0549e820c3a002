using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The log lines of the engine's events, in strongSwan's wording. Alerts can be caused by any peer (a flood of bad
/// IKE_AUTHs, of unacceptable proposals), so they share the host's peer-line limiter. Never logs keys. The lines
/// are source-generated (<see cref="LoggerMessageAttribute"/>): no template parsing and no boxing per line, which
/// under a burst of handshakes cost about a tenth of the engine thread (issue 14).
/// </summary>
internal static partial class EngineEventLog
{
    public static string SuppressedNote(long held) => held > 0 ? $" ({held} similar lines suppressed before this one)" : string.Empty;

    public static void Write(ILogger log, LogRateLimiter peerLines, EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up:
                IkeSaEstablished(log, up.Name, up.IkeSaId, up.Local, up.LocalId, up.Remote, up.RemoteId, up.Algorithms);
                if (up.EapIdentity is { } eap)
                {
                    EapAuthenticated(log, up.Name, up.IkeSaId, eap); // as strongSwan says "authentication of 'carol' with EAP successful"
                }

                break;
            case VirtualIpsLeased leased:
                VirtualIpsAssigned(log, leased.Name, leased.IkeSaId, string.Join(", ", leased.Addresses), leased.Holder);
                break;
            case IkeSaRekeyed r:
                IkeSaRekeyed(log, r.Name, r.IkeSaId, r.OldSpiI, r.OldSpiR, r.SpiI, r.SpiR);
                break;
            case IkeSaDown down:
                IkeSaDeleted(log, down.Name, down.IkeSaId, down.Reason);
                break;
            case ChildSaInstall c when log.IsEnabled(LogLevel.Information):
                ChildSaEstablished(log, c.IkeName, c.IkeSaId, c.ChildName, c.InboundSpi, c.OutboundSpi, string.Join(" ", c.LocalTs), string.Join(" ", c.RemoteTs));
                break;
            case IkeSaAddressesChanged moved:
                IkeSaMoved(log, moved.Name, moved.IkeSaId, moved.Local, moved.Remote, moved.UdpEncapsulation ? " (ESP in UDP)" : string.Empty, moved.Reason);
                break;
            case ChildSaRemove r:
                ChildSaDeleted(log, r.IkeSaId, r.ChildName, r.InboundSpi, r.OutboundSpi);
                break;
            case Alert a:
                if (peerLines.TryAcquire(a.Time, out var held))
                {
                    PeerAlert(log, a.IkeSaId, a.Message, SuppressedNote(held));
                }

                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaName}|{IkeSaId}] IKE_SA established between {Local}[{LocalId}]...{Remote}[{RemoteId}], {Algorithms}")]
    private static partial void IkeSaEstablished(ILogger log, string ikeSaName, long ikeSaId, System.Net.IPEndPoint local, string localId, System.Net.IPEndPoint remote, string remoteId, string algorithms);

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaName}|{IkeSaId}] peer authenticated as '{User}' with EAP")]
    private static partial void EapAuthenticated(ILogger log, string ikeSaName, long ikeSaId, string user);

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaName}|{IkeSaId}] assigning virtual IP {Vips} to peer '{Holder}'")]
    private static partial void VirtualIpsAssigned(ILogger log, string ikeSaName, long ikeSaId, string vips, string holder);

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaName}|{IkeSaId}] IKE_SA rekeyed: {OldI:x16}_i {OldR:x16}_r -> {SpiI:x16}_i {SpiR:x16}_r")]
    private static partial void IkeSaRekeyed(ILogger log, string ikeSaName, long ikeSaId, ulong oldI, ulong oldR, ulong spiI, ulong spiR);

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaName}|{IkeSaId}] IKE_SA deleted: {Reason}")]
    private static partial void IkeSaDeleted(ILogger log, string ikeSaName, long ikeSaId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaName}|{IkeSaId}] CHILD_SA {Child} established with SPIs {In:x8}_i {Out:x8}_o and TS {LocalTs} === {RemoteTs}")]
    private static partial void ChildSaEstablished(ILogger log, string ikeSaName, long ikeSaId, string child, uint @in, uint @out, string localTs, string remoteTs);

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaName}|{IkeSaId}] IKE_SA and its CHILD_SAs now {Local}...{Remote}{Encap}: {Reason}")]
    private static partial void IkeSaMoved(ILogger log, string ikeSaName, long ikeSaId, System.Net.IPEndPoint local, System.Net.IPEndPoint remote, string encap, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "[{IkeSaId}] CHILD_SA {Child} with SPIs {In:x8}_i {Out:x8}_o deleted")]
    private static partial void ChildSaDeleted(ILogger log, long ikeSaId, string child, uint @in, uint @out);

    [LoggerMessage(Level = LogLevel.Warning, Message = "[{IkeSaId}] {Message}{Suppressed}")]
    private static partial void PeerAlert(ILogger log, long ikeSaId, string message, string suppressed);
}
