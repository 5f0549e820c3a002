using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Oakley.Host;

/// <summary>
/// Binds the IKE port and the NAT-T port on every address the configuration's local_addrs name (or on the
/// wildcard). An address that is not on the host yet (a typo, or a boot before the network is up) is waited for,
/// as strongSwan follows address changes: it is logged once, tried again every second, and bound when it
/// appears. Any other failure (the port in use, no permission) is a <see cref="StartupException"/> at start, and
/// one error line later.
/// </summary>
internal sealed class LocalBindings(IkeHost host, int port, int nattPort, ILogger log)
{
    private readonly List<IPAddress> _waiting = [];
    private readonly HashSet<IPAddress> _bound = [];

    public int Port => port;

    /// <summary>Called (engine thread) after an address that was waited for is bound.</summary>
    public event Action<IPAddress>? Bound;

    /// <summary>The addresses not bound yet because they are not on the host (engine thread once started).</summary>
    public IReadOnlyList<IPAddress> Waiting => _waiting;

    /// <summary>The addresses the configuration's connections listen on: their local_addrs, or all addresses when one has none.</summary>
    public static List<IPAddress> AddressesOf(Oakley.Config.SwanctlConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var addresses = config.Connections.SelectMany(c => c.Ike.LocalAddresses).Distinct().ToList();
        return addresses.Count == 0 || config.Connections.Any(c => c.Ike.LocalAddresses.Count == 0) ? [IPAddress.IPv6Any] : addresses;
    }

    /// <summary>Before the host starts: binds every address, or waits for those not present; throws <see cref="StartupException"/>.</summary>
    public void BindAll(IEnumerable<IPAddress> addresses)
    {
        foreach (var address in addresses)
        {
            var failure = TryBind(address);
            if (failure is { Error.SocketErrorCode: SocketError.AddressFamilyNotSupported } && address.Equals(IPAddress.IPv6Any))
            {
                log.LogInformation("IPv6 is not available on this host: listening on IPv4 only");
                failure = TryBind(IPAddress.Any);
            }

            if (failure is null)
            {
                _bound.Add(address);
                continue;
            }

            if (failure.Value.Error.SocketErrorCode == SocketError.AddressNotAvailable && !IsWildcard(address))
            {
                Wait(address);
                continue;
            }

            throw new StartupException(Describe(failure.Value.Local, failure.Value.Error));
        }
    }

    /// <summary>
    /// Engine thread, after a reload: binds the addresses the new configuration names that have no sockets yet
    /// (or waits for them); failures are logged, the daemon keeps running. Sockets of addresses no longer named stay.
    /// </summary>
    public void Ensure(IEnumerable<IPAddress> addresses)
    {
        if (_bound.Any(IsWildcard))
        {
            return; // the wildcard sockets receive on every address
        }

        foreach (var address in addresses.Where(a => !_bound.Contains(a) && !_waiting.Contains(a)))
        {
            var failure = TryBind(address);
            if (failure is null)
            {
                _bound.Add(address);
                log.LogInformation("listening on {Ike} and {Natt}", new IPEndPoint(address, port), new IPEndPoint(address, nattPort));
                Bound?.Invoke(address);
            }
            else if (failure.Value.Error.SocketErrorCode == SocketError.AddressNotAvailable && !IsWildcard(address))
            {
                Wait(address);
            }
            else
            {
                log.LogError("{Error}", Describe(failure.Value.Local, failure.Value.Error));
            }
        }
    }

    private void Wait(IPAddress address)
    {
        _waiting.Add(address);
        log.LogWarning("local address {Address} (local_addrs) is not on this host: waiting for it to appear", address);
    }

    /// <summary>Tries the waiting addresses once a second until <paramref name="stop"/>.</summary>
    public async Task WaitAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
                await host.Invoke((_, _) => _waiting.Count > 0 ? RetryWaiting() : 0).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Engine thread: binds the waiting addresses that appeared; returns how many were bound.</summary>
    internal int RetryWaiting()
    {
        var bound = 0;
        foreach (var address in _waiting.ToList())
        {
            var failure = TryBind(address);
            if (failure is { Error.SocketErrorCode: SocketError.AddressNotAvailable })
            {
                continue;
            }

            _waiting.Remove(address);
            if (failure is { } f)
            {
                log.LogError("{Error}; connections on {Address} stay down", Describe(f.Local, f.Error), address);
                continue;
            }

            bound++;
            _bound.Add(address);
            log.LogInformation("local address {Address} appeared: listening on {Ike} and {Natt}", address, new IPEndPoint(address, port), new IPEndPoint(address, nattPort));
            Bound?.Invoke(address);
        }

        return bound;
    }

    /// <summary>Binds both ports of <paramref name="address"/>, or neither; the failure names the endpoint.</summary>
    private (IPEndPoint Local, SocketException Error)? TryBind(IPAddress address)
    {
        var ike = new IPEndPoint(address, port);
        var natt = new IPEndPoint(address, nattPort);
        Socket first;
        try
        {
            first = IkeHost.CreateSocket(ike);
        }
        catch (SocketException e)
        {
            return (ike, e);
        }

        Socket second;
        try
        {
            second = IkeHost.CreateSocket(natt);
        }
        catch (SocketException e)
        {
            first.Dispose();
            return (natt, e);
        }

        host.Add(first, natT: false);
        host.Add(second, natT: true);
        return null;
    }

    /// <summary>One line: the endpoint, the cause, and the likely fix.</summary>
    internal static string Describe(IPEndPoint local, SocketException error) => error.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => $"cannot bind {local}: {error.Message} (is another IKE daemon, such as strongSwan's charon, running? --port and --natt-port choose other ports)",
        SocketError.AccessDenied => $"cannot bind {local}: {error.Message} (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
        _ => $"cannot bind {local}: {error.Message}",
    };

    private static bool IsWildcard(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);
}
