using System.Buffers.Binary;

namespace Oakley.Esp;

/// <summary>
/// What the SPD matches on, taken from a packet's IP header: addresses (IPv4 mapped into the low 32 bits),
/// the upper-layer protocol and, for TCP/UDP/SCTP, the ports (ICMP type/code travel in the port fields as in
/// RFC 4301 §4.4.1.1). Parsing never throws: a malformed header is reported as false.
/// </summary>
public readonly record struct FlowKey(bool Ipv6, UInt128 Source, UInt128 Destination, byte Protocol, ushort SourcePort, ushort DestinationPort)
{
    public static bool TryParse(ReadOnlySpan<byte> packet, out FlowKey key)
    {
        key = default;
        if (packet.Length < 1)
        {
            return false;
        }

        var version = packet[0] >> 4;
        int headerLength;
        byte protocol;
        UInt128 src, dst;
        if (version == 4)
        {
            if (packet.Length < 20)
            {
                return false;
            }

            headerLength = (packet[0] & 0x0F) * 4;
            if (headerLength < 20 || packet.Length < headerLength)
            {
                return false;
            }

            protocol = packet[9];
            src = BinaryPrimitives.ReadUInt32BigEndian(packet[12..]);
            dst = BinaryPrimitives.ReadUInt32BigEndian(packet[16..]);
            // Non-first fragments carry no ports (RFC 4301 §7): match them on addresses and protocol only.
            var fragmentOffset = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF;
            if (fragmentOffset != 0)
            {
                key = new FlowKey(false, src, dst, protocol, 0, 0);
                return true;
            }
        }
        else if (version == 6)
        {
            if (packet.Length < 40)
            {
                return false;
            }

            headerLength = 40;
            protocol = packet[6]; // extension headers are not walked: their protocol is what the SPD sees
            src = BinaryPrimitives.ReadUInt128BigEndian(packet[8..]);
            dst = BinaryPrimitives.ReadUInt128BigEndian(packet[24..]);
        }
        else
        {
            return false;
        }

        ushort sp = 0, dp = 0;
        var l4 = packet[headerLength..];
        if (protocol is 6 or 17 or 132 && l4.Length >= 4)
        {
            sp = BinaryPrimitives.ReadUInt16BigEndian(l4);
            dp = BinaryPrimitives.ReadUInt16BigEndian(l4[2..]);
        }
        else if (protocol is 1 or 58 && l4.Length >= 2)
        {
            sp = l4[0]; // ICMP type
            dp = l4[1]; // ICMP code
        }

        key = new FlowKey(version == 6, src, dst, protocol, sp, dp);
        return true;
    }
}

/// <summary>One side of a policy: an address range of one family, a protocol (0 = any) and a port range.</summary>
public readonly record struct Selector(bool Ipv6, UInt128 Start, UInt128 End, byte Protocol, ushort StartPort, ushort EndPort)
{
    public bool Matches(bool ipv6, UInt128 address, byte protocol, ushort port) =>
        ipv6 == Ipv6 && address >= Start && address <= End && (Protocol == 0 || Protocol == protocol) && port >= StartPort && port <= EndPort;

    /// <summary>Smaller is more specific: the number of addresses times ports, with "any protocol" counting double.</summary>
    public double Breadth => ((double)(End - Start) + 1) * (EndPort - StartPort + 1) * (Protocol == 0 ? 2 : 1);
}
