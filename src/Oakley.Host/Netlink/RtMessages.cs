using System.Net;
using System.Net.Sockets;

namespace Oakley.Host.Netlink;

/// <summary>A policy routing rule as Oakley installs it: <c>priority P [fwmark M/mask] lookup T protocol P</c>.</summary>
internal sealed record RuleSpec(AddressFamily Family, uint Priority, uint Table, byte Protocol, uint? FwMark = null, uint FwMask = uint.MaxValue);

/// <summary>A route read back from a dump: enough to select Oakley's routes and delete them.</summary>
internal sealed record RouteEntry(byte Family, byte DestinationLength, uint Table, byte Protocol, byte Type, byte[]? Destination, int? OutputInterface);

/// <summary>A rule read back from a dump.</summary>
internal sealed record RuleEntry(byte Family, uint Table, uint? Priority, byte Protocol, uint? FwMark, uint? FwMask);

/// <summary>
/// The rtnetlink requests Oakley sends and the dump entries it reads, laid out as linux/rtnetlink.h (struct rtmsg),
/// linux/fib_rules.h (struct fib_rule_hdr) and linux/if_link.h with linux/rtnetlink.h (struct ifinfomsg) define
/// them. Pure: the socket is <see cref="RtNetlink"/>.
/// </summary>
internal static class RtMessages
{
    public const ushort NewLink = 16;
    public const ushort NewAddr = 20;
    public const ushort DelAddr = 21;
    public const ushort NewRoute = 24;
    public const ushort DelRoute = 25;
    public const ushort GetRoute = 26;
    public const ushort NewRule = 32;
    public const ushort DelRule = 33;
    public const ushort GetRule = 34;

    public const ushort Request = 0x1;
    public const ushort Ack = 0x4;
    public const ushort Replace = 0x100;
    public const ushort Excl = 0x200;
    public const ushort Create = 0x400;
    public const ushort Dump = 0x300;

    public const byte ScopeLink = 253;
    public const byte ScopeNowhere = 255;
    public const byte TypeUnicast = 1;
    public const byte TypeUnspec = 0;
    public const uint TableMain = 254;

    /// <summary>FR_ACT_TO_TBL: a rule that looks up a table.</summary>
    public const byte ActionToTable = 1;

    // struct rtattr types of routes (enum rtattr_type_t).
    public const ushort RtaDst = 1;
    public const ushort RtaOif = 4;
    public const ushort RtaPrefSrc = 7;
    public const ushort RtaTable = 15;

    // Rule attributes (linux/fib_rules.h).
    public const ushort FraPriority = 6;
    public const ushort FraFwMark = 10;
    public const ushort FraTable = 15;
    public const ushort FraFwMask = 16;
    public const ushort FraProtocol = 21;

    // Address attributes and flags (linux/if_addr.h); sizeof(struct ifaddrmsg) = 8.
    public const ushort IfaAddress = 1;
    public const ushort IfaLocal = 2;
    public const byte IfaFNoDad = 0x02;
    public const byte ScopeUniverse = 0;
    public const int IfAddrMsgSize = 8;

    // Link attributes (linux/if_link.h) and flags (linux/if.h).
    public const ushort IflaMtu = 4;
    public const ushort IflaTxQLen = 13;
    public const uint IffUp = 0x1;

    /// <summary>sizeof(struct rtmsg) = sizeof(struct fib_rule_hdr) = 12; sizeof(struct ifinfomsg) = 16.</summary>
    public const int RtMsgSize = 12;
    public const int IfInfoMsgSize = 16;

    public static byte Family(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? (byte)LinuxIo.AfInet6 : (byte)LinuxIo.AfInet;

    /// <summary><c>ip link set dev X mtu M txqueuelen Q up</c>.</summary>
    public static NetlinkMessage SetLink(int index, uint mtu, uint txQueueLength)
    {
        Span<byte> ifinfo = stackalloc byte[IfInfoMsgSize]; // family 0, pad, type 0, index, flags, change
        ifinfo.Clear();
        BitConverter.TryWriteBytes(ifinfo[4..], index);
        BitConverter.TryWriteBytes(ifinfo[8..], IffUp);
        BitConverter.TryWriteBytes(ifinfo[12..], IffUp);
        return new NetlinkMessage(NewLink, Request | Ack).Fixed(ifinfo).U32(IflaMtu, mtu).U32(IflaTxQLen, txQueueLength);
    }

    /// <summary>
    /// <c>ip addr replace A/32 dev X</c> (/128 for IPv6, without duplicate address detection: a virtual IP is ours
    /// alone, and a tentative address could not be a route's source yet) or, with <paramref name="add"/> false,
    /// <c>ip addr del</c>. struct ifaddrmsg: family, prefixlen, flags, scope, index (u32).
    /// </summary>
    public static NetlinkMessage Address(IPAddress address, int index, bool add)
    {
        ArgumentNullException.ThrowIfNull(address);
        var v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        Span<byte> ifaddr = stackalloc byte[IfAddrMsgSize];
        ifaddr.Clear();
        ifaddr[0] = Family(address.AddressFamily);
        ifaddr[1] = (byte)(v6 ? 128 : 32);
        ifaddr[2] = v6 ? IfaFNoDad : (byte)0;
        ifaddr[3] = ScopeUniverse;
        BitConverter.TryWriteBytes(ifaddr[4..], index);
        var bytes = address.GetAddressBytes();
        return new NetlinkMessage(add ? NewAddr : DelAddr, (ushort)(Request | Ack | (add ? Create | Replace : 0)))
            .Fixed(ifaddr).Attribute(IfaLocal, bytes).Attribute(IfaAddress, bytes);
    }

    /// <summary><c>ip route replace PREFIX dev X [src S] table T proto P</c> (scope link, unicast).</summary>
    public static NetlinkMessage ReplaceRoute(IPNetwork prefix, int outputInterface, IPAddress? source, uint table, byte protocol)
    {
        var family = Family(prefix.BaseAddress.AddressFamily);
        var message = new NetlinkMessage(NewRoute, Request | Ack | Create | Replace)
            .Fixed(RtMsg(family, (byte)prefix.PrefixLength, table, protocol, ScopeLink, TypeUnicast))
            .Attribute(RtaDst, prefix.BaseAddress.GetAddressBytes());
        if (source is not null)
        {
            message.Attribute(RtaPrefSrc, source.GetAddressBytes());
        }

        return message.U32(RtaOif, (uint)outputInterface).U32(RtaTable, table);
    }

    /// <summary><c>ip route del PREFIX [dev X] table T [proto P]</c> (any scope and type).</summary>
    public static NetlinkMessage DeleteRoute(byte family, byte prefixLength, ReadOnlySpan<byte> destination, int? outputInterface, uint table, byte protocol = 0)
    {
        var message = new NetlinkMessage(DelRoute, Request | Ack).Fixed(RtMsg(family, prefixLength, table, protocol, ScopeNowhere, TypeUnspec));
        if (prefixLength > 0)
        {
            message.Attribute(RtaDst, destination);
        }

        if (outputInterface is { } oif)
        {
            message.U32(RtaOif, (uint)oif);
        }

        return message.U32(RtaTable, table);
    }

    /// <summary><c>ip rule add</c> (NLM_F_EXCL: an equal rule is an error) or, with <paramref name="add"/> false, <c>ip rule del</c>.</summary>
    public static NetlinkMessage Rule(RuleSpec rule, bool add)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var message = new NetlinkMessage(add ? NewRule : DelRule, (ushort)(Request | Ack | (add ? Create | Excl : 0)))
            .Fixed(RtMsg(Family(rule.Family), 0, rule.Table, 0, 0, ActionToTable))
            .U32(FraPriority, rule.Priority);
        if (rule.FwMark is { } mark)
        {
            message.U32(FraFwMark, mark).U32(FraFwMask, rule.FwMask);
        }

        return message.U32(FraTable, rule.Table).U8(FraProtocol, rule.Protocol);
    }

    /// <summary><c>ip rule del protocol P</c>: the first rule of that family carrying the protocol.</summary>
    public static NetlinkMessage DeleteRuleByProtocol(AddressFamily family, byte protocol) =>
        new NetlinkMessage(DelRule, Request | Ack).Fixed(RtMsg(Family(family), 0, 0, 0, 0, 0)).U8(FraProtocol, protocol);

    /// <summary>A dump of every route (<paramref name="get"/> = <see cref="GetRoute"/>) or rule (<see cref="GetRule"/>) of a family.</summary>
    public static NetlinkMessage DumpAll(ushort get, AddressFamily family) =>
        new NetlinkMessage(get, Request | Dump).Fixed(RtMsg(Family(family), 0, 0, 0, 0, 0));

    /// <summary>
    /// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32). struct fib_rule_hdr
    /// has the same size and shape: family, dst_len, src_len, tos, table, res1, res2, action, flags; for rules
    /// <paramref name="protocol"/> and <paramref name="scope"/> land in the reserved bytes and are 0.
    /// </summary>
    private static byte[] RtMsg(byte family, byte dstLength, uint table, byte protocol, byte scope, byte type) =>
        [family, dstLength, 0, 0, table < 256 ? (byte)table : (byte)0, protocol, scope, type, 0, 0, 0, 0];

    public static RouteEntry ParseRoute(ReadOnlyMemory<byte> payload)
    {
        var header = Fixed(payload);
        uint table = header[4];
        byte[]? destination = null;
        int? oif = null;
        foreach (var (type, value) in NetlinkReply.Attributes(payload[RtMsgSize..]))
        {
            switch (type)
            {
                case RtaTable when value.Length >= 4:
                    table = NetlinkMessage.ReadU32(value.Span);
                    break;
                case RtaDst:
                    destination = value.ToArray();
                    break;
                case RtaOif when value.Length >= 4:
                    oif = (int)NetlinkMessage.ReadU32(value.Span);
                    break;
            }
        }

        return new RouteEntry(header[0], header[1], table, header[5], header[7], destination, oif);
    }

    public static RuleEntry ParseRule(ReadOnlyMemory<byte> payload)
    {
        var header = Fixed(payload);
        uint table = header[4];
        uint? priority = null, mark = null, mask = null;
        byte protocol = 0;
        foreach (var (type, value) in NetlinkReply.Attributes(payload[RtMsgSize..]))
        {
            if (type == FraProtocol && value.Length >= 1)
            {
                protocol = value.Span[0];
            }
            else if (value.Length >= 4)
            {
                var v = NetlinkMessage.ReadU32(value.Span);
                switch (type)
                {
                    case FraTable: table = v; break;
                    case FraPriority: priority = v; break;
                    case FraFwMark: mark = v; break;
                    case FraFwMask: mask = v; break;
                }
            }
        }

        return new RuleEntry(header[0], table, priority, protocol, mark, mask);
    }

    private static ReadOnlySpan<byte> Fixed(ReadOnlyMemory<byte> payload) =>
        payload.Length >= RtMsgSize ? payload.Span[..RtMsgSize] : throw new InvalidDataException($"rtnetlink message of {payload.Length} bytes has no rtmsg");
}
