using System.Net;

namespace Oakley.Host;

/// <summary>One way of setting the system's DNS servers for the tunnel; <see cref="Apply"/> with none restores the system's own.</summary>
internal interface IDnsBackend
{
    string Name { get; }

    void Apply(IReadOnlyList<IPAddress> servers);
}

/// <summary>
/// Picks the backend as the system resolves names: systemd-resolved when it runs (its runtime directory exists; with
/// resolvectl), else resolvconf when installed, else /etc/resolv.conf itself. Without a command runner, or with
/// systemd-resolved running but no resolvectl, nothing is set (null): resolved would overwrite a written resolv.conf.
/// </summary>
internal static class DnsBackends
{
    public static IDnsBackend? Detect(string tun, ICommandRunner? runner, string resolvedDirectory = "/run/systemd/resolve", string resolvConf = "/etc/resolv.conf")
    {
        if (Directory.Exists(resolvedDirectory))
        {
            return runner?.Find("resolvectl") is { } resolvectl ? new ResolvedDns(tun, resolvectl, runner) : null;
        }

        return runner?.Find("resolvconf") is { } resolvconf ? new ResolvconfDns(tun, resolvconf, runner) : new ResolvConfFile(resolvConf);
    }
}

/// <summary>
/// systemd-resolved: the servers on the TUN link (<c>resolvectl dns TUN A B</c>) with the routing domain <c>~.</c>,
/// so that every name is asked there and not on the other links; <c>resolvectl revert TUN</c> undoes both.
/// </summary>
internal sealed class ResolvedDns(string tun, string resolvectl, ICommandRunner runner) : IDnsBackend
{
    public string Name => "systemd-resolved";

    public void Apply(IReadOnlyList<IPAddress> servers)
    {
        if (servers.Count == 0)
        {
            runner.Run(resolvectl, ["revert", tun]);
            return;
        }

        runner.Run(resolvectl, ["dns", tun, .. servers.Select(s => s.ToString())]);
        runner.Run(resolvectl, ["domain", tun, "~."]);
    }
}

/// <summary>resolvconf(8): the servers as the record of interface <c>TUN.oakley</c> (<c>resolvconf -a</c> / <c>-d</c>).</summary>
internal sealed class ResolvconfDns(string tun, string resolvconf, ICommandRunner runner) : IDnsBackend
{
    public string Name => "resolvconf";

    public void Apply(IReadOnlyList<IPAddress> servers)
    {
        var record = $"{tun}.oakley";
        if (servers.Count == 0)
        {
            runner.Run(resolvconf, ["-d", record]);
            return;
        }

        runner.Run(resolvconf, ["-a", record], string.Concat(servers.Select(s => $"nameserver {s}\n")));
    }
}
