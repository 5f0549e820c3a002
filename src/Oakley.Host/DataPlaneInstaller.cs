using System.Collections.Frozen;
using System.Net;
using Oakley.Crypto;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Esp;

namespace Oakley.Host;

/// <summary>
/// Turns the engine's CHILD SA events into the ESP data plane's SPD/SAD: each <see cref="ChildSaInstall"/>
/// becomes an inbound and an outbound <see cref="EspSa"/> and one policy per local/remote selector pair; each
/// <see cref="ChildSaRemove"/> takes them out. Every change publishes a new snapshot (readers never lock).
/// Runs on the engine thread.
/// </summary>
public sealed class DataPlaneInstaller(IEntropySource entropy, int replayWindow = 128)
{
    private readonly Dictionary<uint, Installed> _byInboundSpi = [];
    private FrozenDictionary<EspSa, (Policy Policy, IPEndPoint Peer)> _policyOf = FrozenDictionary<EspSa, (Policy, IPEndPoint)>.Empty;

    private sealed record Installed(EspSa Inbound, EspSa Outbound, List<Policy> Policies, IPEndPoint Peer);

    public SecurityDatabases Databases { get; } = new();

    /// <summary>The policy an inbound SA was installed with, and the peer to send its traffic to.</summary>
    public (Policy Policy, IPEndPoint Peer)? PolicyOf(EspSa inbound) =>
        Volatile.Read(ref _policyOf).TryGetValue(inbound, out var p) ? p : null;

    private FrozenDictionary<Policy, IPEndPoint> _peerOf = FrozenDictionary<Policy, IPEndPoint>.Empty;

    /// <summary>The peer address for an outbound policy (where ESP for it is sent); safe from any thread.</summary>
    public IPEndPoint? PeerOf(Policy policy) => Volatile.Read(ref _peerOf).TryGetValue(policy, out var peer) ? peer : null;

    /// <summary>Traffic counters of an installed CHILD SA by its inbound SPI (engine thread).</summary>
    public (long BytesIn, long PacketsIn, long BytesOut, long PacketsOut, ulong ReplayTop)? Counters(uint inboundSpi) =>
        _byInboundSpi.TryGetValue(inboundSpi, out var i)
            ? (i.Inbound.Bytes, i.Inbound.Packets, i.Outbound.Bytes, i.Outbound.Packets, i.Inbound.Replay.Highest)
            : null;

    public void Handle(EngineEvent e)
    {
        switch (e)
        {
            case ChildSaInstall c:
                Install(c);
                break;
            case ChildSaRemove r when _byInboundSpi.Remove(r.InboundSpi, out var gone):
                Publish();
                gone.Inbound.Dispose();
                gone.Outbound.Dispose();
                break;
        }
    }

    private void Install(ChildSaInstall c)
    {
        var encryption = TransformRegistry.GetEncryption(c.Encryption, c.EncryptionKeyBits)
            ?? throw new InvalidOperationException($"no ESP implementation for {c.Encryption}");
        var integrity = c.Integrity == Protocol.Ikev2.IntegId.None ? null : TransformRegistry.GetIntegrity(c.Integrity);
        var inbound = new EspSa(c.InboundSpi, encryption, c.InboundEncryptionKey, integrity, c.InboundIntegrityKey, c.Esn, replayWindow, entropy);
        var outbound = new EspSa(c.OutboundSpi, encryption, c.OutboundEncryptionKey, integrity, c.OutboundIntegrityKey, c.Esn, replayWindow, entropy);
        var policies = new List<Policy>();
        foreach (var local in c.LocalTs)
        {
            foreach (var remote in c.RemoteTs)
            {
                policies.Add(new Policy(ToSelector(local), ToSelector(remote), outbound, c.ChildName));
            }
        }

        _byInboundSpi[c.InboundSpi] = new Installed(inbound, outbound, policies, c.Remote);
        Publish();
    }

    private void Publish()
    {
        Volatile.Write(ref _peerOf, _byInboundSpi.Values.SelectMany(i => i.Policies.Select(p => (p, i.Peer))).ToFrozenDictionary(x => x.p, x => x.Peer));
        Volatile.Write(ref _policyOf, _byInboundSpi.Values.Where(i => i.Policies.Count > 0)
            .ToFrozenDictionary(i => i.Inbound, i => (i.Policies[0], i.Peer)));
        Databases.Publish(new SecuritySnapshot(_byInboundSpi.Values.SelectMany(i => i.Policies), _byInboundSpi.Values.Select(i => i.Inbound)));
    }

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
