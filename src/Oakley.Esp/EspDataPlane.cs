namespace Oakley.Esp;

/// <summary>Drop and traffic counters of the data plane (read by <c>oakley stats</c>); updated with interlocked adds.</summary>
public sealed class DataPlaneCounters
{
    private long _noPolicy;
    private long _malformed;
    private long _unknownSpi;
    private long _replay;
    private long _badIcv;
    private long _badPadding;
    private long _dummy;
    private long _policyMismatch;
    private long _acquires;
    private long _sequenceExhausted;
    private long _saGone;

    public long NoPolicy => Volatile.Read(ref _noPolicy);

    public long Malformed => Volatile.Read(ref _malformed);

    public long UnknownSpi => Volatile.Read(ref _unknownSpi);

    public long Replay => Volatile.Read(ref _replay);

    public long BadIcv => Volatile.Read(ref _badIcv);

    public long BadPadding => Volatile.Read(ref _badPadding);

    public long Dummy => Volatile.Read(ref _dummy);

    public long PolicyMismatch => Volatile.Read(ref _policyMismatch);

    public long Acquires => Volatile.Read(ref _acquires);

    public long SequenceExhausted => Volatile.Read(ref _sequenceExhausted);

    public long SaGone => Volatile.Read(ref _saGone);

    internal void Count(EspOpenResult r)
    {
        switch (r)
        {
            case EspOpenResult.ShortPacket: Interlocked.Increment(ref _malformed); break;
            case EspOpenResult.Replay: Interlocked.Increment(ref _replay); break;
            case EspOpenResult.BadIcv: Interlocked.Increment(ref _badIcv); break;
            case EspOpenResult.BadPadding: Interlocked.Increment(ref _badPadding); break;
            case EspOpenResult.Dummy: Interlocked.Increment(ref _dummy); break;
        }
    }

    internal void NoPolicyDrop() => Interlocked.Increment(ref _noPolicy);

    public void MalformedDrop() => Interlocked.Increment(ref _malformed);

    internal void UnknownSpiDrop() => Interlocked.Increment(ref _unknownSpi);

    internal void PolicyMismatchDrop() => Interlocked.Increment(ref _policyMismatch);

    internal void Acquire() => Interlocked.Increment(ref _acquires);

    internal void Exhausted() => Interlocked.Increment(ref _sequenceExhausted);

    /// <summary>A packet caught in an SA's removal (its keys disposed under it), dropped by the host.</summary>
    public void SaGoneDrop() => Interlocked.Increment(ref _saGone);
}

/// <summary>The outcome of handling one outbound packet.</summary>
public enum OutboundResult
{
    /// <summary>The ESP packet is in the output buffer: send it to the policy's peer.</summary>
    Send,
    Dropped,

    /// <summary>A trap policy matched without an SA: the host queues the packet and asks the engine to initiate.</summary>
    Acquire,
}

/// <summary>
/// The sans-IO tunnel-mode data plane: outbound IP packets (from the TUN device) are matched against the SPD and
/// sealed; inbound ESP packets are looked up in the SAD by SPI, opened, and checked against the SA's policy
/// (RFC 4301 §5.2) before they are handed back for the TUN device. Every drop is counted, never logged per packet.
/// An inbound SA is paired with the policies its CHILD SA was installed with (one per selector pair).
/// </summary>
public sealed class EspDataPlane(SecurityDatabases databases)
{
    private const byte NextHeaderIpv4 = 4;
    private const byte NextHeaderIpv6 = 41;

    public DataPlaneCounters Counters { get; } = new();

    public SecurityDatabases Databases { get; } = databases;

    /// <summary>Seals one outbound IP packet. <paramref name="policy"/> tells the host which peer to send to.</summary>
    public OutboundResult Outbound(ReadOnlySpan<byte> ipPacket, Span<byte> espOut, out int written, out Policy? policy)
    {
        written = 0;
        policy = null;
        if (!FlowKey.TryParse(ipPacket, out var flow))
        {
            Counters.MalformedDrop();
            return OutboundResult.Dropped;
        }

        policy = Databases.Lookup(flow);
        if (policy is null)
        {
            Counters.NoPolicyDrop();
            return OutboundResult.Dropped;
        }

        if (policy.Outbound is not { } sa)
        {
            Counters.Acquire();
            return OutboundResult.Acquire;
        }

        // Tunnel mode carries the whole packet; transport mode (RFC 4303 §3.1.1) only what follows the IP header,
        // with the upper-layer protocol as next header (IPv6 extension headers are not walked).
        var result = policy.TransportMode
            ? sa.Seal(ipPacket[(flow.Ipv6 ? 40 : (ipPacket[0] & 0x0F) * 4)..], flow.Protocol, espOut, out written)
            : sa.Seal(ipPacket, flow.Ipv6 ? NextHeaderIpv6 : NextHeaderIpv4, espOut, out written);
        if (result == EspSealResult.Ok)
        {
            return OutboundResult.Send;
        }

        if (result == EspSealResult.SequenceExhausted)
        {
            Counters.Exhausted();
        }
        else
        {
            Counters.MalformedDrop();
        }

        return OutboundResult.Dropped;
    }

    /// <summary>
    /// Opens one inbound ESP packet (starting at the SPI). Returns the inner IP packet's length in
    /// <paramref name="ipOut"/>, or -1 when the packet was dropped (and counted).
    /// </summary>
    public int Inbound(ReadOnlySpan<byte> espPacket, Span<byte> ipOut)
    {
        if (espPacket.Length < EspSa.HeaderSize)
        {
            Counters.MalformedDrop();
            return -1;
        }

        var spi = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(espPacket);
        if (!Databases.TryInbound(spi, out var entry))
        {
            Counters.UnknownSpiDrop();
            return -1;
        }

        var sa = entry.Sa;
        var transport = entry.Policies.Length > 0 && entry.Policies[0].TransportMode ? entry.Policies[0] : null;
        var headerRoom = transport is null ? 0 : transport.Local.Ipv6 ? 40 : 20;
        if (ipOut.Length < headerRoom)
        {
            Counters.MalformedDrop();
            return -1;
        }

        var result = sa.Open(espPacket, ipOut[headerRoom..], out var length, out var nextHeader);
        if (result != EspOpenResult.Ok)
        {
            Counters.Count(result);
            return -1;
        }

        if (transport is not null)
        {
            if (!RebuildTransportHeader(transport, ipOut[..(headerRoom + length)], nextHeader))
            {
                Counters.MalformedDrop();
                return -1;
            }

            length += headerRoom;
        }
        else if (nextHeader is not (NextHeaderIpv4 or NextHeaderIpv6))
        {
            Counters.MalformedDrop();
            return -1;
        }

        if (!FlowKey.TryParse(ipOut[..length], out var inner))
        {
            Counters.MalformedDrop();
            return -1;
        }

        // Tunnel mode may carry TFC padding after the inner packet: the IP header's length is authoritative.
        var ipLength = inner.Ipv6
            ? 40 + System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(ipOut[4..])
            : System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(ipOut[2..]);
        if (ipLength > length)
        {
            Counters.MalformedDrop();
            return -1;
        }

        if (!SecurityDatabases.InboundAllowed(entry.Policies, inner))
        {
            Counters.PolicyMismatchDrop();
            return -1;
        }

        return ipLength;
    }

    /// <summary>
    /// Transport mode: puts an IP header from the peer to us in front of the decrypted upper-layer payload and
    /// recomputes the TCP/UDP/ICMPv6 checksum, whose pseudo-header may name addresses a NAT rewrote (RFC 3948 §3.1.2).
    /// </summary>
    private static bool RebuildTransportHeader(Policy policy, Span<byte> packet, byte protocol)
    {
        if (policy.Peer is not { } peer || policy.LocalAddress is not { } local)
        {
            return false;
        }

        var ipv6 = policy.Local.Ipv6;
        var header = ipv6 ? 40 : 20;
        var payload = packet[header..];
        if (ipv6)
        {
            packet[..8].Clear();
            packet[0] = 0x60;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet[4..], (ushort)payload.Length);
            packet[6] = protocol;
            packet[7] = 64;
            if (!peer.Address.TryWriteBytes(packet[8..24], out var n1) || n1 != 16 || !local.TryWriteBytes(packet[24..40], out var n2) || n2 != 16)
            {
                return false;
            }
        }
        else
        {
            if (packet.Length > 65535)
            {
                return false;
            }

            packet[..20].Clear();
            packet[0] = 0x45;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)packet.Length);
            packet[8] = 64;
            packet[9] = protocol;
            if (!peer.Address.TryWriteBytes(packet[12..16], out var n1) || n1 != 4 || !local.TryWriteBytes(packet[16..20], out var n2) || n2 != 4)
            {
                return false;
            }

            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet[10..], (ushort)~TcpOffload.Fold(packet[..20]));
        }

        var checksumAt = protocol switch
        {
            6 when payload.Length >= 20 => 16,
            17 when payload.Length >= 8 && (ipv6 || payload[6] != 0 || payload[7] != 0) => 6, // IPv4 UDP may have no checksum
            58 when payload.Length >= 4 => 2,
            _ => -1,
        };
        if (checksumAt >= 0)
        {
            payload[checksumAt] = 0;
            payload[checksumAt + 1] = 0;
            var sum = (ushort)~TcpOffload.Fold(payload, TcpOffload.PseudoHeader(packet, ipv6, protocol, payload.Length));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(payload[checksumAt..], protocol == 17 && sum == 0 ? (ushort)0xFFFF : sum);
        }

        return true;
    }
}
