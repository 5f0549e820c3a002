using System.Collections.Concurrent;
using System.Net;

namespace Oakley.Esp;

/// <summary>What the SPD says about an outbound packet.</summary>
public enum PolicyAction
{
    /// <summary>No policy matches: drop and count (the TUN only routes traffic meant for tunnels).</summary>
    Discard,

    /// <summary>Protect with the policy's outbound SA.</summary>
    Protect,

    /// <summary>A trap policy without an SA yet: queue the packet and ask the engine to negotiate (acquire).</summary>
    Acquire,
}

/// <summary>
/// An SPD entry: local and remote selectors, and the outbound SA or the trap it leads to. <see cref="Peer"/> and
/// <see cref="UdpEncapsulation"/> tell the host where sealed packets go: ESP in UDP (RFC 3948) to the peer's
/// NAT-T port, or raw ESP (IP protocol 50) to its address.
/// </summary>
public sealed record Policy(Selector Local, Selector Remote, EspSa? Outbound, string Name)
{
    public PolicyAction Action => Outbound is null ? PolicyAction.Acquire : PolicyAction.Protect;

    public IPEndPoint? Peer { get; init; }

    public bool UdpEncapsulation { get; init; }

    /// <summary>Transport mode (RFC 4303 §3.1.1): only the upper-layer payload travels; the host pair is the tunnel.</summary>
    public bool TransportMode { get; init; }

    /// <summary>Our address of the IKE SA (the destination of rebuilt transport-mode packets).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>Install order: during a rekey the old and the new SA share selectors, and the newer one carries the traffic.</summary>
    public long Generation { get; init; }

    /// <summary>For a trap: the connection and child the engine initiates on an acquire.</summary>
    public string? Connection { get; init; }

    /// <summary>RFC 4301 §4.4.1 decorrelation is replaced by "most specific wins": the product of both breadths.</summary>
    public double Breadth => Local.Breadth * Remote.Breadth;
}

/// <summary>
/// A SAD entry: an inbound SA and the policies of its CHILD SA, one of which its decrypted packets must match
/// (RFC 4301 §5.2); empty: no check.
/// </summary>
public readonly record struct InboundSa(EspSa Sa, Policy[] Policies);

/// <summary>
/// The SPD and SAD. One writer (the engine thread) changes them one entry at a time; any number of packet workers
/// look up without a lock. An install costs O(log n) in the number of installed SAs, not a rebuild: a daemon with
/// 100,000 CHILD SAs installs the next one as fast as the first. An install adds the inbound SA before its
/// policies and a removal takes the policies out first, so a worker never finds a policy whose SA cannot answer.
/// </summary>
public sealed class SecurityDatabases
{
    private readonly ConcurrentDictionary<uint, InboundSa> _inbound = new();
    private readonly PolicyIndex _policies = new();
    private int _inboundCount;

    /// <summary>Builds databases holding <paramref name="policies"/> and <paramref name="inbound"/> (tests, tools).</summary>
    public static SecurityDatabases Of(IEnumerable<Policy> policies, IEnumerable<InboundSa> inbound)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(inbound);
        var db = new SecurityDatabases();
        foreach (var entry in inbound)
        {
            db.AddInbound(entry);
        }

        foreach (var policy in policies)
        {
            db.AddPolicy(policy);
        }

        return db;
    }

    public int PolicyCount => _policies.Count;

    public int InboundCount => Volatile.Read(ref _inboundCount);

    /// <summary>Adds a policy (writer thread). The same policy object added twice is one entry.</summary>
    public void AddPolicy(Policy policy) => _policies.Add(policy ?? throw new ArgumentNullException(nameof(policy)));

    /// <summary>Removes a policy added before (by reference); false if it was not there.</summary>
    public bool RemovePolicy(Policy policy) => _policies.Remove(policy ?? throw new ArgumentNullException(nameof(policy)));

    /// <summary>Adds or replaces the inbound SA of its SPI (writer thread).</summary>
    public void AddInbound(InboundSa entry)
    {
        ArgumentNullException.ThrowIfNull(entry.Sa);
        if (_inbound.TryAdd(entry.Sa.Spi, entry))
        {
            Interlocked.Increment(ref _inboundCount);
        }
        else
        {
            _inbound[entry.Sa.Spi] = entry;
        }
    }

    public bool RemoveInbound(uint spi)
    {
        if (!_inbound.TryRemove(spi, out _))
        {
            return false;
        }

        Interlocked.Decrement(ref _inboundCount);
        return true;
    }

    /// <summary>The most specific policy whose selectors match an outbound packet, or null.</summary>
    public Policy? Lookup(in FlowKey flow) => _policies.Lookup(flow);

    /// <summary>The inbound SA for an SPI (SAD lookup).</summary>
    public EspSa? Inbound(uint spi) => _inbound.TryGetValue(spi, out var e) ? e.Sa : null;

    /// <summary>The inbound SA for an SPI and the policy it was installed with.</summary>
    public bool TryInbound(uint spi, out InboundSa entry) => _inbound.TryGetValue(spi, out entry);

    /// <summary>RFC 4301 §5.2: after decryption the inner packet must match one of the SA's policies (remote side as source).</summary>
    public static bool InboundAllowed(Policy[] policies, in FlowKey inner)
    {
        ArgumentNullException.ThrowIfNull(policies);
        if (policies.Length == 0)
        {
            return true;
        }

        foreach (var policy in policies)
        {
            if (policy.Remote.Matches(inner.Ipv6, inner.Source, inner.Protocol, inner.SourcePort)
                && policy.Local.Matches(inner.Ipv6, inner.Destination, inner.Protocol, inner.DestinationPort))
            {
                return true;
            }
        }

        return false;
    }
}
