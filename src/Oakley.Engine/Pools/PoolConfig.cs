using System.Net;

namespace Oakley.Engine.Pools;

/// <summary>
/// A swanctl <c>pools.&lt;name&gt;</c> section: the addresses handed out (<c>addrs</c>, a CIDR or a range; null for a
/// pool of attributes only) and the attributes sent with them in the CFG_REPLY (RFC 7296 §3.15.1).
/// </summary>
public sealed class PoolConfig
{
    public required string Name { get; init; }

    /// <summary>swanctl <c>addrs</c>: <c>10.3.0.0/16</c> or <c>10.3.0.1-10.3.0.99</c>; null: attributes only.</summary>
    public string? Addresses { get; init; }

    /// <summary><c>dns</c>: INTERNAL_IP4_DNS / INTERNAL_IP6_DNS.</summary>
    public IReadOnlyList<IPAddress> Dns { get; init; } = [];

    /// <summary><c>nbns</c>: INTERNAL_IP4_NBNS.</summary>
    public IReadOnlyList<IPAddress> Nbns { get; init; } = [];

    /// <summary><c>subnet</c>: INTERNAL_IP4_SUBNET / INTERNAL_IP6_SUBNET, the networks behind the gateway.</summary>
    public IReadOnlyList<IPNetwork> Subnets { get; init; } = [];

    /// <summary><c>split_include</c>: strongSwan's UNITY_SPLIT_INCLUDE (Cisco Unity split tunnelling).</summary>
    public IReadOnlyList<IPNetwork> SplitInclude { get; init; } = [];

    /// <summary><c>split_exclude</c>: UNITY_LOCAL_LAN (networks the client reaches outside the tunnel).</summary>
    public IReadOnlyList<IPNetwork> SplitExclude { get; init; } = [];
}
