using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// What the daemon's data plane holds in its network namespace, from start to shutdown: the cleanup of what a
/// killed Oakley left (unless another Oakley runs here, <see cref="NamespaceLock"/>), the TUN device with Oakley's
/// policy routing rules, the route table (<see cref="TunRoutes"/>) and the ESP data path; removed in order.
/// </summary>
internal sealed class DataPlaneHost(ILogger log) : IDisposable
{
    private readonly NamespaceLock _namespace = new();
    private TunDevice? _tun;
    private DnsWorker? _dns;

    /// <summary>The client's virtual IPs on the TUN device (with their routes' source and DNS servers), once it is open.</summary>
    public VirtualIps? VirtualIps { get; private set; }

    /// <summary>The ESP data path, once the TUN device is open.</summary>
    public EspDataPath? DataPath { get; private set; }

    /// <summary>The routes into the TUN device (table 220), once it is open.</summary>
    public TunRoutes? Routes { get; private set; }

    /// <summary>
    /// Cleans up, opens the device (one queue per core) and starts the data path; null when the device cannot be
    /// opened (logged: IKE still works). Throws <see cref="StartupException"/> for an unusable device name.
    /// </summary>
    public EspDataPath? Open(string tunName, int mtu, Esp.EspDataPlane plane, IkeHost host, ICommandRunner? commands = null, string? resolvFile = null)
    {
        // What a killed or crashed Oakley left (its rules and routes carry Oakley's protocol number; the TUN
        // device went with the process, the control socket was handled by ClaimControlSocket) - unless another
        // Oakley is alive in this network namespace: then they are its own.
        if (!_namespace.TryAcquire())
        {
            log.LogWarning("another Oakley daemon runs in this network namespace: its routing rules are shared, not cleaned up (run one daemon per namespace)");
        }
        else if (TunDevice.RemoveStale() is var stale and > 0)
        {
            log.LogInformation("removed {Count} routing rule(s)/route table(s) left by an Oakley that did not exit cleanly", stale);
        }

        try
        {
            _tun = TunDevice.Open(tunName, mtu, Environment.ProcessorCount);
        }
        catch (ArgumentException e)
        {
            throw new StartupException($"--tun {tunName}: {e.Message}", e);
        }
        catch (IOException e)
        {
            log.LogWarning("no ESP data plane: {Error}; IKE and CHILD SAs are negotiated but carry no traffic", e.Message);
            return null;
        }

        Routes = new TunRoutes(_tun, log);
        // charon.plugins.resolve.file given: that file, as strongSwan's resolve plugin writes it (tests point it away from /etc).
        var dns = resolvFile is not null ? new ResolvConfFile(resolvFile) : DnsBackends.Detect(_tun.Name, commands);
        _dns = dns is null ? null : new DnsWorker(dns, log);
        VirtualIps = new VirtualIps(new TunVirtualIpSystem(_tun, _dns), log);
        Routes.VirtualSource = VirtualIps.PreferredSource;
        if (dns is null)
        {
            log.LogInformation("systemd-resolved runs but resolvectl cannot be run: the DNS servers of virtual IPs will not be set");
        }
        DataPath = new EspDataPath(plane, host, _tun, log);
        DataPath.Start();
        log.LogInformation("ESP data plane on TUN device {Tun} (mtu {Mtu}, {Queues} queues, raw ESP {Raw})", tunName, mtu, _tun.Queues.Count, DataPath.RawEsp ? "on" : "off");
        return DataPath;
    }

    /// <summary>Engine thread: the virtual IPs first (a CHILD SA's route names its IKE SA's address as source), then the routes.</summary>
    public void Handle(EngineEvent e)
    {
        VirtualIps?.Handle(e);
        Routes?.Handle(e);
    }

    /// <summary>Shutdown, first step: the packet threads stop, then every route goes, then the virtual IPs and their DNS servers.</summary>
    public void StopDataPath()
    {
        DataPath?.Dispose();
        Routes?.RemoveAll();
        VirtualIps?.RemoveAll();
        _dns?.Dispose(); // applies the restore RemoveAll posted (bounded wait)
        _dns = null;
    }

    /// <summary>A crash: everything marked as Oakley's in this namespace is this daemon's, if it holds the namespace.</summary>
    public void RemoveAfterCrash()
    {
        if (_namespace.Held)
        {
            TunDevice.RemoveStale();
        }
    }

    /// <summary>Shutdown, last step (after the IKE host): the device and its rules, then the namespace lock.</summary>
    public void Dispose()
    {
        try
        {
            _tun?.Dispose();
        }
        finally
        {
            _namespace.Dispose();
        }
    }
}
