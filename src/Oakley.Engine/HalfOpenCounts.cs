using System.Net;

namespace Oakley.Engine;

/// <summary>
/// Responder IKE SAs that answered IKE_SA_INIT and wait for IKE_AUTH, in all and per source address: maintained
/// by the SAs' state changes (never a scan), read on every IKE_SA_INIT by the DoS checks.
/// </summary>
internal sealed class HalfOpenCounts(EndpointStats stats)
{
    private readonly Dictionary<IPAddress, int> _perIp = [];

    public int Total { get; private set; }

    /// <summary>Source IPs with at least one half-open IKE SA.</summary>
    public int Sources => _perIp.Count;

    public int Of(IPAddress address) => _perIp.GetValueOrDefault(address);

    public void Begun(IPAddress source)
    {
        Total++;
        _perIp[source] = _perIp.GetValueOrDefault(source) + 1;
        if (Total > stats.HalfOpenPeak)
        {
            stats.HalfOpenPeak = Total;
        }
    }

    public void Ended(IPAddress source)
    {
        Total--;
        var n = _perIp.GetValueOrDefault(source) - 1;
        if (n > 0)
        {
            _perIp[source] = n;
        }
        else
        {
            _perIp.Remove(source);
        }
    }
}
