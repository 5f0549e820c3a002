using System.Diagnostics.CodeAnalysis;

namespace Oakley.Iana;

/// <summary>What the receiver of a malformed or unacceptable message must do.</summary>
public enum ProtocolErrorAction : byte
{
    /// <summary>Drop the message silently (count it and rate-limit any log line).</summary>
    Drop = 0,

    /// <summary>Answer with an IKEv2 Notify (<see cref="IkeProtocolException.Notify"/>).</summary>
    NotifyV2 = 1,

    /// <summary>Answer with an ISAKMP Notification (<see cref="IkeProtocolException.IsakmpNotify"/>).</summary>
    NotifyV1 = 2,
}

/// <summary>
/// The one exception type for anything a peer can cause. It carries the response the RFC mandates:
/// either a Notify to send (IKEv2 or ISAKMP) or "drop". Codecs, crypto validation and the engine
/// throw nothing else for peer-controlled input; anything else escaping is a bug.
/// </summary>
public sealed class IkeProtocolException : Exception
{
    private IkeProtocolException(ProtocolErrorAction action, NotifyType notify, IsakmpNotifyType isakmpNotify, byte[]? notifyData, string message)
        : base(message)
    {
        Action = action;
        Notify = notify;
        IsakmpNotify = isakmpNotify;
        NotifyData = notifyData ?? [];
    }

    public ProtocolErrorAction Action { get; }

    /// <summary>The IKEv2 notify to answer with when <see cref="Action"/> is <see cref="ProtocolErrorAction.NotifyV2"/>.</summary>
    public NotifyType Notify { get; }

    /// <summary>The ISAKMP notify to answer with when <see cref="Action"/> is <see cref="ProtocolErrorAction.NotifyV1"/>.</summary>
    public IsakmpNotifyType IsakmpNotify { get; }

    /// <summary>Notification data to include (for example the payload type for UNSUPPORTED_CRITICAL_PAYLOAD).</summary>
    public byte[] NotifyData { get; }

    public bool IsDrop => Action == ProtocolErrorAction.Drop;

    public static IkeProtocolException Drop(string reason) =>
        new(ProtocolErrorAction.Drop, default, default, null, reason);

    public static IkeProtocolException WithNotify(NotifyType notify, string reason, byte[]? data = null) =>
        new(ProtocolErrorAction.NotifyV2, notify, default, data, reason);

    public static IkeProtocolException WithIsakmpNotify(IsakmpNotifyType notify, string reason, byte[]? data = null) =>
        new(ProtocolErrorAction.NotifyV1, default, notify, data, reason);

    public static IkeProtocolException InvalidSyntax(string reason) => WithNotify(NotifyType.InvalidSyntax, reason);

    /// <summary>RFC 7296 §3.10.1: the notification data is the one-octet type of the offending payload.</summary>
    public static IkeProtocolException UnsupportedCriticalPayload(byte payloadType) =>
        WithNotify(NotifyType.UnsupportedCriticalPayload, $"unsupported critical payload type {payloadType}", [payloadType]);

    // Cold throw helpers keep the readers' hot paths small (the JIT will not inline a method that throws).
    [DoesNotReturn]
    public static void ThrowInvalidSyntax(string reason) => throw InvalidSyntax(reason);

    [DoesNotReturn]
    public static T ThrowInvalidSyntax<T>(string reason) => throw InvalidSyntax(reason);

    [DoesNotReturn]
    public static void ThrowDrop(string reason) => throw Drop(reason);

    [DoesNotReturn]
    public static void ThrowIsakmp(IsakmpNotifyType notify, string reason) => throw WithIsakmpNotify(notify, reason);

    public override string ToString() => Action switch
    {
        ProtocolErrorAction.NotifyV2 => $"{Notify}: {Message}",
        ProtocolErrorAction.NotifyV1 => $"{IsakmpNotify}: {Message}",
        _ => $"drop: {Message}",
    };
}
