using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Oakley.Host;

/// <summary>
/// Applies the tunnel's DNS servers off the engine thread (a backend may start processes or write a file). Only the
/// latest wish counts: one waiting while another is applied replaces it, so a flapping SA costs at most one pending
/// change. <see cref="Dispose"/> applies what is still pending (the daemon's last wish restores the system's servers),
/// waiting for that a bounded time.
/// </summary>
internal sealed class DnsWorker : IDisposable
{
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(15);
    private readonly Channel<IReadOnlyList<IPAddress>> _wishes = Channel.CreateBounded<IReadOnlyList<IPAddress>>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private readonly IDnsBackend _backend;
    private readonly ILogger _log;
    private readonly Task _loop;

    public DnsWorker(IDnsBackend backend, ILogger log)
    {
        _backend = backend;
        _log = log;
        _loop = Task.Run(RunAsync);
    }

    public void Post(IReadOnlyList<IPAddress> servers) => _wishes.Writer.TryWrite(servers);

    private async Task RunAsync()
    {
        await foreach (var servers in _wishes.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                _backend.Apply(servers);
                if (servers.Count == 0)
                {
                    _log.LogInformation("DNS servers of the virtual IPs removed ({Backend})", _backend.Name);
                }
                else
                {
                    _log.LogInformation("DNS servers {Servers} set ({Backend})", string.Join(", ", servers), _backend.Name);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                _log.LogWarning("DNS servers {Servers} could not be set ({Backend}): {Error}", servers.Count == 0 ? "(restore)" : string.Join(", ", servers), _backend.Name, e.Message);
            }
        }
    }

    public void Dispose()
    {
        _wishes.Writer.TryComplete();
        if (!_loop.Wait(DrainLimit))
        {
            _log.LogWarning("DNS servers: the last change did not finish within {Seconds} s", DrainLimit.TotalSeconds);
        }
    }
}

/// <summary>The real system: addresses on the TUN device over netlink (engine thread), DNS through the <see cref="DnsWorker"/>.</summary>
internal sealed class TunVirtualIpSystem(TunDevice tun, DnsWorker? dns) : IVirtualIpSystem
{
    public void AddAddress(IPAddress address) => tun.AddAddress(address);

    public void RemoveAddress(IPAddress address) => tun.RemoveAddress(address);

    public void SetDns(IReadOnlyList<IPAddress> servers) => dns?.Post(servers);
}
