using System.Net;
using System.Buffers.Binary;
using System.Net.Sockets;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// A traffic selector as a range: protocol (0 = any), port range and address range of one family
/// (RFC 7296 §3.13.1). Narrowing (§2.9) is the intersection of two ranges. Address arithmetic is on
/// <see cref="UInt128"/> values, which cost no allocation (these run several times per CHILD SA).
/// </summary>
public sealed record TrafficSelectorRange(byte Protocol, ushort StartPort, ushort EndPort, IPAddress Start, IPAddress End)
{
    public bool IsIpv6 => Start.AddressFamily == AddressFamily.InterNetworkV6;

    /// <summary>Parses swanctl's forms: <c>10.0.0.0/24</c>, <c>192.0.2.1</c>, <c>10.0.0.1-10.0.0.9</c>, <c>dynamic</c> is resolved by the caller; an optional <c>[proto/port]</c> suffix.</summary>
    public static TrafficSelectorRange Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte proto = 0;
        ushort sp = 0, ep = 65535;
        var s = text.Trim();
        var bracket = s.IndexOf('[', StringComparison.Ordinal);
        if (bracket >= 0)
        {
            var inner = s[(bracket + 1)..s.IndexOf(']', StringComparison.Ordinal)];
            s = s[..bracket];
            var parts = inner.Split('/');
            proto = parts[0] switch
            {
                "" or "%any" or "any" => 0,
                "tcp" => 6,
                "udp" => 17,
                "icmp" => 1,
                "icmpv6" or "ipv6-icmp" => 58,
                "sctp" => 132,
                var p => byte.Parse(p, System.Globalization.CultureInfo.InvariantCulture),
            };
            if (parts.Length > 1 && parts[1] is not ("" or "%any"))
            {
                var range = parts[1].Split('-');
                sp = ushort.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
                ep = range.Length > 1 ? ushort.Parse(range[1], System.Globalization.CultureInfo.InvariantCulture) : sp;
            }
        }

        if (s.Contains('-', StringComparison.Ordinal))
        {
            var ends = s.Split('-');
            return new TrafficSelectorRange(proto, sp, ep, IPAddress.Parse(ends[0]), IPAddress.Parse(ends[1]));
        }

        var slash = s.IndexOf('/', StringComparison.Ordinal);
        var address = IPAddress.Parse(slash < 0 ? s : s[..slash]);
        var bits = address.GetAddressBytes().Length * 8;
        var prefix = slash < 0 ? bits : int.Parse(s[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        if (prefix < 0 || prefix > bits)
        {
            throw new FormatException($"prefix length {prefix} out of range in '{text}'");
        }

        var value = ToInteger(address);
        var hostMask = bits - prefix == 128 ? UInt128.MaxValue : (UInt128.One << (bits - prefix)) - 1;
        return new TrafficSelectorRange(proto, sp, ep, FromInteger(value & ~hostMask, bits), FromInteger(value | hostMask, bits));
    }

    /// <summary>
    /// One shared, immutable copy of a CHILD SA's narrowed selectors: the SAs that negotiated the same selectors (every
    /// SA of a site-to-site connection) hold one list and its ranges and addresses, not a copy each.
    /// </summary>
    public static IReadOnlyList<TrafficSelectorRange> Share(IReadOnlyList<TrafficSelectorRange> selectors) =>
        SharedLists.Intern(selectors, static s => s.ToArray());

    private static readonly InternCache<TrafficSelectorRange[], IReadOnlyList<TrafficSelectorRange>> SharedLists = new(256, static (cached, probe) =>
    {
        if (cached.Length != probe.Count)
        {
            return false;
        }

        for (var i = 0; i < cached.Length; i++)
        {
            if (!cached[i].Equals(probe[i]))
            {
                return false;
            }
        }

        return true;
    });

    public static TrafficSelectorRange Host(IPAddress address) => new(0, 0, 65535, address, address);

    public static TrafficSelectorRange FromPayload(TrafficSelector ts) =>
        new(ts.IpProtocol, ts.StartPort, ts.EndPort, new IPAddress(ts.StartAddress.Span), new IPAddress(ts.EndAddress.Span));

    public TrafficSelector ToPayload() =>
        TrafficSelector.Ip(Protocol, StartPort, EndPort, Start.GetAddressBytes(), End.GetAddressBytes());

    /// <summary>The intersection of two selectors, or null when they do not overlap (RFC 7296 §2.9).</summary>
    public TrafficSelectorRange? Intersect(TrafficSelectorRange other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (IsIpv6 != other.IsIpv6)
        {
            return null;
        }

        byte proto;
        if (Protocol == 0)
        {
            proto = other.Protocol;
        }
        else if (other.Protocol == 0 || other.Protocol == Protocol)
        {
            proto = Protocol;
        }
        else
        {
            return null;
        }

        var sp = Math.Max(StartPort, other.StartPort);
        var ep = Math.Min(EndPort, other.EndPort);
        if (sp > ep)
        {
            return null;
        }

        var bits = IsIpv6 ? 128 : 32;
        var s = UInt128.Max(ToInteger(Start), ToInteger(other.Start));
        var e = UInt128.Min(ToInteger(End), ToInteger(other.End));
        return s > e ? null : new TrafficSelectorRange(proto, (ushort)sp, (ushort)ep, FromInteger(s, bits), FromInteger(e, bits));
    }

    public bool Contains(IPAddress address) =>
        address.AddressFamily == Start.AddressFamily && ToInteger(address) >= ToInteger(Start) && ToInteger(address) <= ToInteger(End);

    /// <summary>swanctl's notation: a CIDR where the range is one, else start..end; with [proto/ports] when restricted.</summary>
    public override string ToString()
    {
        var bits = IsIpv6 ? 128 : 32;
        var s = ToInteger(Start);
        var e = ToInteger(End);
        var hostMask = e - s; // a CIDR when this is all ones below some bit and the start is aligned to it
        string addr;
        if (s <= e && (hostMask & (hostMask + 1)) == 0 && (s & hostMask) == 0)
        {
            var prefix = bits - (int)UInt128.PopCount(hostMask);
            addr = $"{Start}/{prefix}";
        }
        else
        {
            addr = $"{Start}..{End}";
        }

        if (Protocol == 0 && StartPort == 0 && EndPort == 65535)
        {
            return addr;
        }

        var ports = StartPort == 0 && EndPort == 65535 ? string.Empty : StartPort == EndPort ? $"/{StartPort}" : $"/{StartPort}-{EndPort}";
        return $"{addr}[{Protocol}{ports}]";
    }

    private static UInt128 ToInteger(IPAddress a)
    {
        Span<byte> b = stackalloc byte[16];
        if (!a.TryWriteBytes(b, out var length))
        {
            throw new ArgumentException("not an IPv4 or IPv6 address", nameof(a));
        }

        return length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt128BigEndian(b);
    }

    private static IPAddress FromInteger(UInt128 v, int bits)
    {
        Span<byte> b = stackalloc byte[16];
        if (bits == 32)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b, (uint)v);
            return new IPAddress(b[..4]);
        }

        BinaryPrimitives.WriteUInt128BigEndian(b, v);
        return new IPAddress(b);
    }
}
