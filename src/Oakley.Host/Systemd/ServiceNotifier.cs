using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Oakley.Host.Systemd;

/// <summary>
/// The service manager's notification socket (sd_notify(3)): one datagram of <c>KEY=value</c> lines per state change
/// to the AF_UNIX datagram socket that <c>NOTIFY_SOCKET</c> names, a path or, with a leading <c>@</c>, a name in the
/// abstract namespace. A few lines of our own rather than Microsoft.Extensions.Hosting.Systemd's SystemdNotifier:
/// that notifier needs the generic host (dependency injection, configuration, an IHostLifetime) which the daemon does
/// not use, and it knows nothing of WATCHDOG_USEC/WATCHDOG_PID, RELOADING=1 or STATUS=, which are most of what the
/// unit needs. A failed send is not an error for the daemon: the manager may be gone, the daemon keeps running.
/// </summary>
public sealed class ServiceNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _target;
    private readonly Lock _sending = new();

    private ServiceNotifier(UnixDomainSocketEndPoint target)
    {
        _target = target;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>Where the messages go, as NOTIFY_SOCKET gave it (tests, logs).</summary>
    public string Address { get; private init; } = string.Empty;

    /// <summary>
    /// A notifier for the socket <paramref name="notifySocket"/> names (the value of NOTIFY_SOCKET), or null when it is
    /// unset, empty or not an AF_UNIX address (sd_notify also accepts vsock addresses, which the daemon never meets).
    /// </summary>
    public static ServiceNotifier? Create(string? notifySocket)
    {
        if (string.IsNullOrEmpty(notifySocket) || (notifySocket[0] != '/' && notifySocket[0] != '@') || notifySocket.Length < 2)
        {
            return null;
        }

        // An abstract socket's name starts with a NUL byte in the address; sd_notify writes it as '@'.
        var path = notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket;
        return new ServiceNotifier(new UnixDomainSocketEndPoint(path)) { Address = notifySocket };
    }

    /// <summary>READY=1: start-up is complete (sockets bound, the engine running); <paramref name="status"/> is shown by systemctl status.</summary>
    public bool Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}\n");

    /// <summary>
    /// RELOADING=1 with the CLOCK_MONOTONIC time of the request (systemd 253's Type=notify-reload wants it, older
    /// versions ignore it); <see cref="Ready"/> follows when the reload is done, whether it worked or not.
    /// </summary>
    public bool Reloading(string status) => Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds().ToString(CultureInfo.InvariantCulture)}\nSTATUS={OneLine(status)}\n");

    /// <summary>STOPPING=1: shutdown began (the SAs are being deleted), so the manager does not call a slow stop a hang.</summary>
    public bool Stopping(string status) => Send($"STOPPING=1\nSTATUS={OneLine(status)}\n");

    /// <summary>WATCHDOG=1: the keep-alive ping (only after the engine answered, see <see cref="ServiceWatchdog"/>).</summary>
    public bool Watchdog() => Send("WATCHDOG=1\n");

    /// <summary>STATUS= alone: a new one-line state for systemctl status.</summary>
    public bool Status(string status) => Send($"STATUS={OneLine(status)}\n");

    /// <summary>Sends one notification datagram; false if it could not be delivered (logged by no one: the manager may be gone).</summary>
    public bool Send(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        lock (_sending)
        {
            try
            {
                return _socket.SendTo(bytes, SocketFlags.None, _target) == bytes.Length;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
    }

    /// <summary>A notification is newline-separated: a value must not carry its own newlines.</summary>
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>CLOCK_MONOTONIC in microseconds: .NET's Stopwatch reads that clock on Linux.</summary>
    private static long MonotonicMicroseconds() => Stopwatch.GetTimestamp() / Math.Max(1, Stopwatch.Frequency / 1_000_000);

    public void Dispose()
    {
        lock (_sending)
        {
            _socket.Dispose();
        }
    }
}
