using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// The client's virtual IPs (RFC 7296 §2.19): the gateway's CFG_REPLY (<see cref="VirtualIpsAssigned"/>) puts each
/// address on the TUN device, makes it the preferred source of the routes of that IKE SA's CHILD SAs
/// (<see cref="PreferredSource"/>, read by <see cref="TunRoutes"/>), and sets the DNS servers; <see cref="IkeSaDown"/>
/// takes them away. An IKE rekey keeps the IKE SA's unique ID (<see cref="IkeSaRekeyed"/>: nothing to do), while a
/// make-before-break reauthentication is a new IKE SA that usually gets the same address before the old one goes, so
/// addresses are counted per IKE SA holding them, and the DNS servers are those of every IKE SA holding some, in the
/// order the SAs came up. Engine thread.
/// </summary>
internal sealed class VirtualIps(IVirtualIpSystem system, ILogger log)
{
    private readonly Dictionary<long, VirtualIpsAssigned> _bySa = [];
    private readonly Dictionary<IPAddress, int> _holders = [];
    private readonly List<long> _order = [];
    private IReadOnlyList<IPAddress> _dns = [];

    public void Handle(EngineEvent e)
    {
        switch (e)
        {
            case VirtualIpsAssigned v:
                Release(v.IkeSaId); // a second CFG_REPLY for the same SA replaces the first
                Assign(v);
                break;
            case IkeSaDown d when _bySa.ContainsKey(d.IkeSaId):
                Release(d.IkeSaId);
                UpdateDns();
                break;
        }
    }

    /// <summary>The virtual IP of <paramref name="ikeSaId"/> of the selector's family, as its CHILD SAs' route source; null: none.</summary>
    public IPAddress? PreferredSource(long ikeSaId, bool ipv6) =>
        _bySa.TryGetValue(ikeSaId, out var v)
            ? v.Addresses.FirstOrDefault(a => a.AddressFamily == (ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork))
            : null;

    /// <summary>The daemon stops: every address goes, the DNS servers are restored.</summary>
    public void RemoveAll()
    {
        foreach (var id in _order.ToList())
        {
            Release(id);
        }

        UpdateDns();
    }

    private void Assign(VirtualIpsAssigned v)
    {
        _bySa[v.IkeSaId] = v;
        _order.Add(v.IkeSaId);
        foreach (var address in v.Addresses.Distinct())
        {
            if (_holders.TryGetValue(address, out var n))
            {
                _holders[address] = n + 1;
                continue;
            }

            try
            {
                system.AddAddress(address);
                _holders[address] = 1;
                log.LogInformation("IKE SA #{IkeSaId} ({IkeSaName}): virtual IP {Address} installed", v.IkeSaId, v.Name, address);
            }
            catch (IOException e)
            {
                log.LogWarning("IKE SA #{IkeSaId} ({IkeSaName}): virtual IP {Address} could not be installed: {Error}", v.IkeSaId, v.Name, address, e.Message);
            }
        }

        UpdateDns();
    }

    private void Release(long ikeSaId)
    {
        if (!_bySa.Remove(ikeSaId, out var v))
        {
            return;
        }

        _order.Remove(ikeSaId);
        foreach (var address in v.Addresses.Distinct())
        {
            if (!_holders.TryGetValue(address, out var n))
            {
                continue; // never installed
            }

            if (n > 1)
            {
                _holders[address] = n - 1;
                continue;
            }

            _holders.Remove(address);
            system.RemoveAddress(address);
            log.LogInformation("IKE SA #{IkeSaId} ({IkeSaName}): virtual IP {Address} removed", ikeSaId, v.Name, address);
        }
    }

    /// <summary>Hands the DNS servers over only when they changed (each change costs processes or a file write).</summary>
    private void UpdateDns()
    {
        var dns = _order.SelectMany(id => _bySa[id].Dns).Distinct().ToList();
        if (dns.SequenceEqual(_dns))
        {
            return;
        }

        _dns = dns;
        system.SetDns(dns);
    }
}
