using System.Net;
using System.Net.Sockets;
using Oakley.Engine.Pools;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// The configuration payload in IKE_AUTH (RFC 7296 §2.19, §3.15). As client (swanctl <c>vips</c>) we send a
/// CFG_REQUEST for an IPv4 and/or IPv6 address and DNS servers, and take the CFG_REPLY's addresses and attributes
/// (<see cref="VirtualIpsAssigned"/>). As gateway (swanctl <c>pools</c>) each requested family gets a lease from the
/// first pool of that family with one, for the client's EAP identity (its IKE identity without EAP), as strongSwan
/// does; the reply carries the addresses and the pools' dns, nbns and subnet attributes. No address for any request:
/// INTERNAL_ADDRESS_FAILURE; pools but no request: FAILED_CP_REQUIRED (both as strongSwan answers), and no CHILD SA.
/// </summary>
internal sealed class IkeConfigTask(IkeSa sa) : IInitiatorTask, IResponderTask
{
    private List<IkePayload>? _reply;

    public ExchangeType Exchange => ExchangeType.IkeAuth;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        if (sa.Config.Vips.Count == 0)
        {
            return TaskOutcome.Done;
        }

        var attributes = new List<ConfigurationAttribute>();
        foreach (var vip in sa.Config.Vips)
        {
            var v4 = vip.AddressFamily == AddressFamily.InterNetwork;
            var any = vip.Equals(IPAddress.Any) || vip.Equals(IPAddress.IPv6Any);
            // RFC 7296 §3.15.1: an empty value asks for any address; a value asks for that one (IPv6 with its prefix length).
            byte[] value = any ? [] : v4 ? vip.GetAddressBytes() : [.. vip.GetAddressBytes(), 128];
            attributes.Add(new ConfigurationAttribute(v4 ? ConfigurationAttributeType.InternalIp4Address : ConfigurationAttributeType.InternalIp6Address, value));
            attributes.Add(new ConfigurationAttribute(v4 ? ConfigurationAttributeType.InternalIp4Dns : ConfigurationAttributeType.InternalIp6Dns, ReadOnlyMemory<byte>.Empty));
        }

        request.Add(new ConfigurationPayload(ConfigurationType.Request, attributes));
        return TaskOutcome.Done;
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        if (sa.Config.Vips.Count == 0)
        {
            return TaskOutcome.Done;
        }

        var cp = response.Payloads.OfType<ConfigurationPayload>().FirstOrDefault(c => c.CfgType == ConfigurationType.Reply);
        var addresses = cp is null ? [] : Addresses(cp, ConfigurationAttributeType.InternalIp4Address, ConfigurationAttributeType.InternalIp6Address);
        sa.LocalVirtualIps = addresses;
        if (addresses.Count == 0)
        {
            var notify = response.Payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType is NotifyType.InternalAddressFailure or NotifyType.FailedCpRequired);
            sa.Services.EmitAlert(now, sa.Id, $"the gateway assigned no virtual IP ({notify?.NotifyType.ToString() ?? "no CFG_REPLY"}); requested {string.Join(", ", sa.Config.Vips)}");
            return TaskOutcome.Done;
        }

        var dns = Addresses(cp!, ConfigurationAttributeType.InternalIp4Dns, ConfigurationAttributeType.InternalIp6Dns);
        var nbns = Addresses(cp!, ConfigurationAttributeType.InternalIp4Nbns, ConfigurationAttributeType.InternalIp4Nbns);
        sa.Services.Emit(new VirtualIpsAssigned(now, sa.Id, sa.Config.Name, addresses, dns, nbns));
        return TaskOutcome.Done;
    }

    /// <summary>The addresses of the attributes of two types (IPv4: 4 bytes; IPv6: 16, or 17 with a prefix length); others are skipped.</summary>
    private static List<IPAddress> Addresses(ConfigurationPayload cp, ConfigurationAttributeType v4, ConfigurationAttributeType v6)
    {
        var list = new List<IPAddress>();
        foreach (var a in cp.Attributes)
        {
            if ((a.AttributeType == v4 && a.Value.Length == 4) || (a.AttributeType == v6 && a.Value.Length is 16 or 17))
            {
                var address = new IPAddress(a.Value.Span[..(a.Value.Length == 4 ? 4 : 16)]);
                if (!list.Contains(address))
                {
                    list.Add(address);
                }
            }
        }

        return list;
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        var config = sa.Config;
        var cp = request.Payloads.OfType<ConfigurationPayload>().FirstOrDefault(c => c.CfgType == ConfigurationType.Request);
        if (config.Pools.Count == 0)
        {
            return TaskOutcome.Done; // no pools: a CFG_REQUEST is ignored (§3.15.4 lets the responder do so)
        }

        if (cp is null)
        {
            sa.PeerVirtualIps = [];
            sa.Services.EmitAlert(now, sa.Id, $"'{sa.RemoteIdentity}' requested no virtual IP, but connection '{config.Name}' assigns them from pools: sending FAILED_CP_REQUIRED");
            _reply = [new NotifyPayload(NotifyType.FailedCpRequired)];
            return TaskOutcome.Done;
        }

        var holder = sa.EapIdentity ?? sa.RemoteIdentity!;
        var leases = new List<HeldLease>();
        foreach (var family in RequestedFamilies(cp))
        {
            if (sa.Services.Pools.Acquire(config.Pools, holder, family, sa.AaaAddresses) is { } lease)
            {
                leases.Add(lease);
            }
        }

        sa.Leases = leases;
        sa.PeerVirtualIps = leases.Select(l => l.Address).ToList();
        if (leases.Count == 0)
        {
            sa.Services.EmitAlert(now, sa.Id, $"no virtual IP found for '{holder}' in pools {string.Join(", ", config.Pools)}: sending INTERNAL_ADDRESS_FAILURE");
            _reply = [new NotifyPayload(NotifyType.InternalAddressFailure)];
            return TaskOutcome.Done;
        }

        sa.Services.Emit(new VirtualIpsLeased(now, sa.Id, config.Name, holder.ToString(), sa.PeerVirtualIps));
        _reply = [new ConfigurationPayload(ConfigurationType.Reply, ReplyAttributes(leases))];
        return TaskOutcome.Done;
    }

    /// <summary>The families of the addresses the client asked for, each once, in its order.</summary>
    private static List<AddressFamily> RequestedFamilies(ConfigurationPayload cp) => cp.Attributes
        .Select(a => a.AttributeType switch
        {
            ConfigurationAttributeType.InternalIp4Address => AddressFamily.InterNetwork,
            ConfigurationAttributeType.InternalIp6Address => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        })
        .Where(f => f != AddressFamily.Unknown).Distinct().ToList();

    /// <summary>The addresses (IPv6 with prefix length 64, as strongSwan sends them) and the attributes of the pools that assigned them.</summary>
    private List<ConfigurationAttribute> ReplyAttributes(List<HeldLease> leases)
    {
        var list = new List<ConfigurationAttribute>();
        foreach (var lease in leases)
        {
            var v4 = lease.Address.AddressFamily == AddressFamily.InterNetwork;
            list.Add(new ConfigurationAttribute(v4 ? ConfigurationAttributeType.InternalIp4Address : ConfigurationAttributeType.InternalIp6Address,
                v4 ? lease.Address.GetAddressBytes() : [.. lease.Address.GetAddressBytes(), 64]));
        }

        foreach (var pool in sa.Config.Pools.Distinct().Select(sa.Services.Pools.Config).OfType<PoolConfig>())
        {
            foreach (var dns in pool.Dns)
            {
                list.Add(new ConfigurationAttribute(dns.AddressFamily == AddressFamily.InterNetwork ? ConfigurationAttributeType.InternalIp4Dns : ConfigurationAttributeType.InternalIp6Dns, dns.GetAddressBytes()));
            }

            foreach (var nbns in pool.Nbns.Where(n => n.AddressFamily == AddressFamily.InterNetwork))
            {
                list.Add(new ConfigurationAttribute(ConfigurationAttributeType.InternalIp4Nbns, nbns.GetAddressBytes()));
            }

            foreach (var subnet in pool.Subnets)
            {
                list.Add(Subnet(subnet));
            }
        }

        return list;
    }

    /// <summary>INTERNAL_IP4_SUBNET is address and netmask (§3.15.1); INTERNAL_IP6_SUBNET is address and prefix length.</summary>
    private static ConfigurationAttribute Subnet(IPNetwork subnet)
    {
        var address = subnet.BaseAddress.GetAddressBytes();
        if (address.Length == 4)
        {
            var mask = subnet.PrefixLength == 0 ? 0u : uint.MaxValue << (32 - subnet.PrefixLength);
            byte[] value = [.. address, (byte)(mask >> 24), (byte)(mask >> 16), (byte)(mask >> 8), (byte)mask];
            return new ConfigurationAttribute(ConfigurationAttributeType.InternalIp4Subnet, value);
        }

        byte[] v6 = [.. address, (byte)subnet.PrefixLength];
        return new ConfigurationAttribute(ConfigurationAttributeType.InternalIp6Subnet, v6);
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.AddRange(_reply ?? []);
}
