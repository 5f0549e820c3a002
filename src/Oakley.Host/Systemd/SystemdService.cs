using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Oakley.Host.Systemd;

/// <summary>
/// What the service manager told the daemon through its environment (systemd.exec(5)): where to send notifications
/// (NOTIFY_SOCKET) and whether a watchdog watches this process (WATCHDOG_USEC, and WATCHDOG_PID when set must be our
/// PID: a watchdog meant for a parent is not ours). Absent NOTIFY_SOCKET, the daemon sends nothing at all.
/// </summary>
public sealed class SystemdService : IDisposable
{
    private SystemdService(ServiceNotifier notifier, TimeSpan? watchdog)
    {
        Notifier = notifier;
        Watchdog = watchdog;
    }

    public ServiceNotifier Notifier { get; }

    /// <summary>WATCHDOG_USEC when the watchdog is this process's; null when there is none.</summary>
    public TimeSpan? Watchdog { get; }

    /// <summary>
    /// Reads the service manager's variables through <paramref name="environment"/>; null when NOTIFY_SOCKET is unset
    /// (not under systemd, or a unit type that does not listen). A malformed WATCHDOG_USEC means no watchdog.
    /// </summary>
    public static SystemdService? FromEnvironment(Func<string, string?> environment, int processId)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (ServiceNotifier.Create(environment("NOTIFY_SOCKET")) is not { } notifier)
        {
            return null;
        }

        TimeSpan? watchdog = null;
        var pid = environment("WATCHDOG_PID");
        var ours = string.IsNullOrEmpty(pid) || (int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p == processId);
        if (ours && ulong.TryParse(environment("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec) && usec > 0)
        {
            watchdog = TimeSpan.FromMicroseconds(Math.Min(usec, (ulong)TimeSpan.MaxValue.TotalMicroseconds / 2));
        }

        return new SystemdService(notifier, watchdog);
    }

    /// <summary>
    /// The process's own variables, which are then removed (as sd_notify's unset_environment does): the commands the
    /// daemon runs (resolvectl, resolvconf) must not take the daemon's notification socket or watchdog for theirs.
    /// </summary>
    public static SystemdService? FromProcessEnvironment()
    {
        var service = FromEnvironment(Environment.GetEnvironmentVariable, Environment.ProcessId);
        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID" })
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        return service;
    }

    /// <summary>The watchdog (or, without one, the STATUS= refresh) loop, see <see cref="ServiceWatchdog"/>.</summary>
    public Task RunWatchdogAsync(Func<Task<string>> probe, ILogger log, CancellationToken cancel) =>
        new ServiceWatchdog(Notifier, Watchdog, log).RunAsync(probe, cancel);

    public void Dispose() => Notifier.Dispose();
}
