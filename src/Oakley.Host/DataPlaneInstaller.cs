using System.Collections.Concurrent;
using System.Net;
using Oakley.Crypto;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Esp;

namespace Oakley.Host;

/// <summary>
/// Turns the engine's CHILD SA events into the ESP data plane's SPD/SAD: each <see cref="ChildSaInstall"/>
/// becomes an inbound and an outbound <see cref="EspSa"/> and one policy per local/remote selector pair, each
/// carrying the peer and the encapsulation (ESP in UDP or raw ESP); each <see cref="ChildSaRemove"/> takes them
/// out. Trap policies (start_action = trap) stay installed underneath and match when no SA does. Each change is
/// one entry in the databases (readers never lock; no rebuild per install). Runs on the engine thread.
/// </summary>
public sealed class DataPlaneInstaller(IEntropySource entropy, int replayWindow = 128)
{
    private readonly Dictionary<uint, Installed> _byInboundSpi = [];
    private readonly List<Policy> _traps = [];
    private long _generation;

    private sealed record Installed(long IkeSaId, EspSa Inbound, EspSa Outbound, Policy[] Policies);

    public SecurityDatabases Databases { get; } = new();

    // The ESP SAs that carried a packet since the traffic report last took them (filled by packet threads).
    private readonly ConcurrentQueue<EspSa> _active = new();
    private Action<EspSa>? _onActive; // one delegate for every SA

    /// <summary>
    /// An ESP SA that carried traffic since it was last taken (engine thread; reset it with
    /// <see cref="EspSa.ResetActivity"/> before reading its counters, so that a packet after that reports it again).
    /// </summary>
    public bool TryTakeActive(out EspSa sa) => _active.TryDequeue(out sa!);

    /// <summary>Called after a CHILD SA's policies were published (engine thread): queued packets can go now.</summary>
    public event Action<ChildSaInstall>? ChildInstalled;

    /// <summary>Traffic counters of an installed CHILD SA by its inbound SPI (engine thread).</summary>
    public (long BytesIn, long PacketsIn, long BytesOut, long PacketsOut, ulong ReplayTop)? Counters(uint inboundSpi) =>
        _byInboundSpi.TryGetValue(inboundSpi, out var i)
            ? (i.Inbound.Bytes, i.Inbound.Packets, i.Outbound.Bytes, i.Outbound.Packets, i.Inbound.Replay.Highest)
            : null;

    /// <summary>The inbound SPIs of every installed CHILD SA (engine thread).</summary>
    public IEnumerable<uint> InboundSpis => _byInboundSpi.Keys;

    /// <summary>Installs a trap: traffic matching the selectors without an SA makes the data plane ask for one.</summary>
    public void AddTrap(string connection, string child, IEnumerable<TrafficSelectorRange> localTs, IEnumerable<TrafficSelectorRange> remoteTs)
    {
        ArgumentNullException.ThrowIfNull(remoteTs);
        var remotes = remoteTs.ToList();
        foreach (var local in localTs)
        {
            foreach (var remote in remotes.Where(r => r.IsIpv6 == local.IsIpv6))
            {
                var trap = new Policy(ToSelector(local), ToSelector(remote), null, child) { Connection = connection };
                _traps.Add(trap);
                Databases.AddPolicy(trap);
            }
        }
    }

    /// <summary>Removes every trap (before a reload installs the new ones).</summary>
    public void ClearTraps()
    {
        foreach (var trap in _traps)
        {
            Databases.RemovePolicy(trap);
        }

        _traps.Clear();
    }

    public IReadOnlyList<Policy> Traps => _traps;

    /// <summary>Removes the traps of one child (VICI uninstall).</summary>
    public void RemoveTraps(string connection, string child)
    {
        foreach (var trap in _traps.Where(t => t.Connection == connection && t.Name == child).ToList())
        {
            Databases.RemovePolicy(trap);
            _traps.Remove(trap);
        }
    }

    public void Handle(EngineEvent e)
    {
        switch (e)
        {
            case ChildSaInstall c:
                Install(c);
                ChildInstalled?.Invoke(c);
                break;
            case IkeSaAddressesChanged moved:
                Move(moved);
                break;
            case ChildSaRemove r when _byInboundSpi.Remove(r.InboundSpi, out var gone):
                Remove(gone.Policies); // the policies before the SA they lead to
                Databases.RemoveInbound(gone.Inbound.Spi);
                gone.Inbound.Dispose();
                gone.Outbound.Dispose();
                break;
        }
    }

    private void Install(ChildSaInstall c)
    {
        // Shared objects: the registry keeps one per algorithm.
        var encryption = TransformRegistry.GetEncryption(c.Encryption, c.EncryptionKeyBits)
            ?? throw new InvalidOperationException($"no ESP implementation for {c.Encryption}");
        var integrity = c.Integrity == Iana.IntegId.None ? null : TransformRegistry.GetIntegrity(c.Integrity);
        var onActive = _onActive ??= _active.Enqueue;
        var inbound = new EspSa(c.InboundSpi, encryption, c.InboundEncryptionKey, integrity, c.InboundIntegrityKey, c.Esn, replayWindow, entropy)
        {
            Activity = onActive,
            Owner = (c.InboundSpi, true),
        };
        var outbound = new EspSa(c.OutboundSpi, encryption, c.OutboundEncryptionKey, integrity, c.OutboundIntegrityKey, c.Esn, replayWindow, entropy)
        {
            Activity = onActive,
            Owner = (c.InboundSpi, false),
        };
        var policies = new List<Policy>();
        var generation = ++_generation;
        foreach (var local in c.LocalTs)
        {
            foreach (var remote in c.RemoteTs.Where(r => r.IsIpv6 == local.IsIpv6))
            {
                policies.Add(new Policy(ToSelector(local), ToSelector(remote), outbound, c.ChildName)
                {
                    Peer = c.Remote,
                    UdpEncapsulation = c.UdpEncapsulation,
                    TransportMode = c.TransportMode,
                    LocalAddress = c.Local.Address,
                    Connection = c.IkeName,
                    Generation = generation,
                });
            }
        }

        Policy[] installed = [.. policies];
        if (_byInboundSpi.Remove(c.InboundSpi, out var replaced))
        {
            Remove(replaced.Policies); // the same SPI installed again: the old entry's policies go
        }

        _byInboundSpi[c.InboundSpi] = new Installed(c.IkeSaId, inbound, outbound, installed);
        Databases.AddInbound(new InboundSa(inbound, installed)); // the SA before the policies that lead to it
        foreach (var policy in installed)
        {
            Databases.AddPolicy(policy);
        }
    }

    private void Remove(Policy[] policies)
    {
        foreach (var policy in policies)
        {
            Databases.RemovePolicy(policy);
        }
    }

    /// <summary>
    /// The IKE SA moved (a NATed peer's new port, MOBIKE): its CHILD SAs keep their keys, SPIs and sequence numbers;
    /// only the policies' peer, encapsulation and local address change: the new policies go in before the old ones
    /// leave (same selectors, the newer entry wins), so traffic never finds a gap.
    /// </summary>
    private void Move(IkeSaAddressesChanged moved)
    {
        foreach (var (spi, installed) in _byInboundSpi.Where(kv => kv.Value.IkeSaId == moved.IkeSaId).ToList())
        {
            var policies = installed.Policies.Select(p => p with
            {
                Peer = moved.Remote,
                UdpEncapsulation = moved.UdpEncapsulation,
                LocalAddress = IsWildcard(moved.Local.Address) ? p.LocalAddress : moved.Local.Address,
            }).ToArray();
            _byInboundSpi[spi] = installed with { Policies = policies };
            Databases.AddInbound(new InboundSa(installed.Inbound, policies));
            foreach (var policy in policies)
            {
                Databases.AddPolicy(policy);
            }

            Remove(installed.Policies);
        }
    }

    private static bool IsWildcard(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    internal static Selector ToSelector(TrafficSelectorRange ts)
    {
        static UInt128 Value(IPAddress a)
        {
            var b = a.GetAddressBytes();
            return b.Length == 4 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(b);
        }

        return new Selector(ts.IsIpv6, Value(ts.Start), Value(ts.End), ts.Protocol, ts.StartPort, ts.EndPort);
    }
}
