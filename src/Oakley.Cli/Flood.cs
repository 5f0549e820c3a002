using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Oakley.Engine;

namespace Oakley.Cli;

/// <summary>
/// `oakley flood` (hidden; for tests/interop/flood.sh): sends forged IKE_SA_INIT requests (SA, KE x25519, Nonce,
/// NAT-D) with spoofed source addresses through a raw IPv4 socket (IPPROTO_RAW: we write the IP header). It refuses
/// any target or source outside the RFC 5737 documentation networks, so it can only ever hit a test namespace.
/// </summary>
internal static class Flood
{
    private static readonly (IPAddress Network, int Prefix)[] Allowed =
    [
        (IPAddress.Parse("192.0.2.0"), 24),
        (IPAddress.Parse("198.51.100.0"), 24),
        (IPAddress.Parse("203.0.113.0"), 24),
    ];

    public static int Run(IPAddress target, int port, IReadOnlyList<(IPAddress Network, int Prefix)> sources, int count, TimeSpan limit, int rate)
    {
        if (!Inside(target, Allowed) || sources.Count == 0 || sources.Any(s => !Allowed.Any(a => a.Prefix <= s.Prefix && Inside(s.Network, [a]))))
        {
            Console.Error.WriteLine("oakley flood: target and sources must lie in 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24");
            return 2;
        }

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Raw); // IPPROTO_RAW implies IP_HDRINCL
        var forger = new ForgedIkeSaInit();
        var destination = new IPEndPoint(target, port);
        var to = new IPEndPoint(target, 0);
        var random = new Random();
        Span<byte> nonce = stackalloc byte[32];
        Span<byte> ke = stackalloc byte[32];
        var packet = new byte[2048];
        var clock = Stopwatch.StartNew();
        var sent = 0;
        long failed = 0;
        while (sent < count && clock.Elapsed < limit)
        {
            if (rate > 0 && sent > (long)(clock.Elapsed.TotalSeconds * rate))
            {
                Thread.Sleep(1);
                continue;
            }

            var (network, prefix) = sources[random.Next(sources.Count)];
            var source = new IPEndPoint(RandomHost(random, network, prefix), 500);
            random.NextBytes(nonce);
            random.NextBytes(ke);
            var ike = forger.Build((ulong)random.NextInt64(1, long.MaxValue), nonce.ToArray(), ke.ToArray(), source, destination);
            var length = Udp4(packet, source, destination, ike);
            try
            {
                socket.SendTo(packet.AsSpan(0, length), SocketFlags.None, to);
                sent++;
            }
            catch (SocketException)
            {
                failed++; // ENOBUFS under load: count it and go on
                Thread.Sleep(1);
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"flood: sent {sent} IKE_SA_INIT requests in {seconds:F1} s ({sent / Math.Max(seconds, 0.001):F0}/s), {failed} send errors");
        return sent == count ? 0 : 1;
    }

    /// <summary>Parses "198.51.100.0/24,203.0.113.0/24".</summary>
    public static List<(IPAddress Network, int Prefix)> ParseNetworks(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(part =>
        {
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            var address = IPAddress.Parse(slash < 0 ? part : part[..slash]);
            var prefix = slash < 0 ? 32 : int.Parse(part[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            return address.AddressFamily == AddressFamily.InterNetwork && prefix is >= 0 and <= 32
                ? (address, prefix)
                : throw new FormatException($"not an IPv4 network: {part}");
        })];

    private static bool Inside(IPAddress address, IEnumerable<(IPAddress Network, int Prefix)> networks)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        var a = BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
        return networks.Any(n =>
        {
            var mask = n.Prefix == 0 ? 0u : uint.MaxValue << (32 - n.Prefix);
            return (a & mask) == (BinaryPrimitives.ReadUInt32BigEndian(n.Network.GetAddressBytes()) & mask);
        });
    }

    private static IPAddress RandomHost(Random random, IPAddress network, int prefix)
    {
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        var hosts = ~mask;
        var host = hosts <= 1 ? 0u : (uint)random.NextInt64(1, hosts); // neither the network nor the broadcast address
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (BinaryPrimitives.ReadUInt32BigEndian(network.GetAddressBytes()) & mask) | host);
        return new IPAddress(bytes);
    }

    /// <summary>IPv4 + UDP headers around <paramref name="payload"/>; the kernel fills in the IP ID and checksum.</summary>
    private static int Udp4(byte[] packet, IPEndPoint source, IPEndPoint destination, byte[] payload)
    {
        const int ipHeader = 20, udpHeader = 8;
        var total = ipHeader + udpHeader + payload.Length;
        var p = packet.AsSpan(0, total);
        p.Clear();
        p[0] = 0x45; // version 4, 5 words of header
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)total);
        p[8] = 64; // TTL
        p[9] = 17; // UDP
        source.Address.TryWriteBytes(p[12..], out _);
        destination.Address.TryWriteBytes(p[16..], out _);
        var udp = p[ipHeader..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)destination.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(udpHeader + payload.Length));
        payload.CopyTo(udp[udpHeader..]);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], UdpChecksum(p[12..20], udp[..(udpHeader + payload.Length)]));
        return total;
    }

    /// <summary>RFC 768: the one's complement sum over the pseudo-header (addresses, protocol, length) and the datagram.</summary>
    private static ushort UdpChecksum(ReadOnlySpan<byte> addresses, ReadOnlySpan<byte> datagram)
    {
        ulong sum = 17u + (uint)datagram.Length;
        for (var i = 0; i < addresses.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(addresses[i..]);
        }

        for (var i = 0; i + 1 < datagram.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(datagram[i..]);
        }

        if ((datagram.Length & 1) == 1)
        {
            sum += (uint)datagram[^1] << 8;
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        var checksum = (ushort)~sum;
        return checksum == 0 ? (ushort)0xFFFF : checksum;
    }
}
