using System.Collections.Frozen;
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
/// The SPD and SAD as one immutable snapshot. Lookups take no lock; changes build a new snapshot and publish
/// it with one reference write (<see cref="SecurityDatabases.Publish"/>), so packet workers always see a
/// consistent pair.
/// </summary>
public sealed class SecuritySnapshot
{
    private readonly Policy[] _policies; // most specific first; at equal breadth an installed SA before a trap, the newest first
    private readonly FrozenDictionary<uint, InboundSa> _inbound;

    public SecuritySnapshot(IEnumerable<Policy> policies, IEnumerable<InboundSa> inbound)
    {
        _policies = [.. policies.OrderBy(p => p.Breadth).ThenBy(p => p.Outbound is null).ThenByDescending(p => p.Generation)];
        _inbound = inbound.ToFrozenDictionary(e => e.Sa.Spi);
    }

    public static SecuritySnapshot Empty { get; } = new([], []);

    public int PolicyCount => _policies.Length;

    public int InboundCount => _inbound.Count;

    /// <summary>The most specific policy whose selectors match an outbound packet, or null.</summary>
    public Policy? Lookup(in FlowKey flow)
    {
        foreach (var p in _policies)
        {
            if (p.Local.Matches(flow.Ipv6, flow.Source, flow.Protocol, flow.SourcePort)
                && p.Remote.Matches(flow.Ipv6, flow.Destination, flow.Protocol, flow.DestinationPort))
            {
                return p;
            }
        }

        return null;
    }

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

/// <summary>Holds the current snapshot; one writer (the engine thread) publishes, any number of workers read.</summary>
public sealed class SecurityDatabases
{
    private SecuritySnapshot _current = SecuritySnapshot.Empty;

    public SecuritySnapshot Current => Volatile.Read(ref _current);

    public void Publish(SecuritySnapshot snapshot) => Volatile.Write(ref _current, snapshot ?? throw new ArgumentNullException(nameof(snapshot)));
}
