using System.Net;
using System.Net.Sockets;
using Oakley.Host.Netlink;

namespace Oakley.Host.Tests;

/// <summary>
/// The rtnetlink encoder and reply parser on bytes, field by field against the kernel's layouts: struct nlmsghdr
/// (linux/netlink.h), struct rtmsg and struct rtattr (linux/rtnetlink.h), struct fib_rule_hdr (linux/fib_rules.h),
/// struct ifinfomsg with IFLA_* (linux/if_link.h), and struct nlmsgerr with extended ACK attributes. Netlink is in
/// host byte order; these machines are little-endian.
/// </summary>
public class RtNetlinkMessageTests
{
    /// <summary>Hex bytes; spaces group fields, "#" starts a comment that runs to the end of its line.</summary>
    private static byte[] Hex(string hex) =>
        Convert.FromHexString(string.Concat(hex.Split('\n').Select(l => l.Split('#')[0]).SelectMany(l => l.Where(char.IsAsciiHexDigit))));

    [Fact]
    public void ReplaceRoute_Ipv4WithSource_MatchesRtmsgAndAttributes()
    {
        Assert.True(BitConverter.IsLittleEndian);
        var bytes = RtMessages.ReplaceRoute(IPNetwork.Parse("203.0.113.0/24"), 7, IPAddress.Parse("192.0.2.1"), 220, 79).ToArray(0x01020304);
        var expected = Hex("""
            3c000000 1800 0505 04030201 00000000   # nlmsghdr: len 60 (16 + 12 + 4 x 8), RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE, seq, pid 0
            02 18 00 00 dc 4f fd 01 00000000      # rtmsg: AF_INET, dst_len 24, src_len, tos, table 220, proto 79, scope link, RTN_UNICAST, flags
            0800 0100 cb007100                    # RTA_DST 203.0.113.0 (network order)
            0800 0700 c0000201                    # RTA_PREFSRC 192.0.2.1
            0800 0400 07000000                    # RTA_OIF 7
            0800 0f00 dc000000                    # RTA_TABLE 220
            """);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Address_AddIpv4AndDeleteIpv6_MatchIfaddrmsgAndAttributes()
    {
        var add = RtMessages.Address(IPAddress.Parse("198.51.100.10"), 7, add: true).ToArray(1);
        Assert.Equal(Hex("""
            28000000 1400 0505 01000000 00000000   # nlmsghdr: len 40 (16 + 8 + 2 x 8), RTM_NEWADDR, REQUEST|ACK|REPLACE|CREATE
            02 20 00 00 07000000                  # ifaddrmsg: AF_INET, prefixlen 32, flags 0, scope universe, index 7
            0800 0200 c633640a                    # IFA_LOCAL 198.51.100.10
            0800 0100 c633640a                    # IFA_ADDRESS
            """), add);
        var delete = RtMessages.Address(IPAddress.Parse("2001:db8:10::5"), 3, add: false).ToArray(2);
        Assert.Equal(Hex("""
            40000000 1500 0500 02000000 00000000   # len 64 (16 + 8 + 2 x 20), RTM_DELADDR, REQUEST|ACK
            0a 80 02 00 03000000                  # AF_INET6, prefixlen 128, IFA_F_NODAD, scope universe, index 3
            1400 0200 20010db8001000000000000000000005
            1400 0100 20010db8001000000000000000000005
            """), delete);
    }

    [Fact]
    public void ReplaceRoute_Ipv6WithoutSource_HasA16ByteDestination()
    {
        var bytes = RtMessages.ReplaceRoute(IPNetwork.Parse("2001:db8:5::/48"), 3, null, 220, 79).ToArray(9);
        var expected = Hex("""
            40000000 1800 0505 09000000 00000000
            0a 30 00 00 dc 4f fd 01 00000000      # AF_INET6, dst_len 48
            1400 0100 20010db8000500000000000000000000
            0800 0400 03000000
            0800 0f00 dc000000
            """);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void DeleteRoute_AnyScopeAndType_WithDestinationInterfaceAndTable()
    {
        var bytes = RtMessages.DeleteRoute(2, 32, IPAddress.Parse("198.51.100.7").GetAddressBytes(), 5, 220).ToArray(1);
        var expected = Hex("""
            34000000 1900 0500 01000000 00000000   # RTM_DELROUTE, REQUEST|ACK
            02 20 00 00 dc 00 ff 00 00000000      # proto 0 (any), scope RT_SCOPE_NOWHERE (any), RTN_UNSPEC (any)
            0800 0100 c6336407
            0800 0400 05000000
            0800 0f00 dc000000
            """);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Rule_BypassMarkLookupMain_MatchesFibRuleHdrAndAttributes()
    {
        var bytes = RtMessages.Rule(new RuleSpec(AddressFamily.InterNetwork, 219, RtMessages.TableMain, 79, 0x4f414b), add: true).ToArray(2);
        var expected = Hex("""
            44000000 2000 0506 02000000 00000000   # RTM_NEWRULE, REQUEST|ACK|EXCL|CREATE
            02 00 00 00 fe 00 00 01 00000000      # fib_rule_hdr: AF_INET, dst_len, src_len, tos, table main, res1, res2, FR_ACT_TO_TBL, flags
            0800 0600 db000000                    # FRA_PRIORITY 219
            0800 0a00 4b414f00                    # FRA_FWMARK 0x4f414b
            0800 1000 ffffffff                    # FRA_FWMASK
            0800 0f00 fe000000                    # FRA_TABLE 254
            0500 1500 4f000000                    # FRA_PROTOCOL 79 (u8, padded)
            """);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Rule_DeleteIpv6TableRule_HasNoMarkAndNoCreateFlags()
    {
        var bytes = RtMessages.Rule(new RuleSpec(AddressFamily.InterNetworkV6, 220, 220, 79), add: false).ToArray(3);
        var expected = Hex("""
            34000000 2100 0500 03000000 00000000   # RTM_DELRULE, REQUEST|ACK
            0a 00 00 00 dc 00 00 01 00000000
            0800 0600 dc000000
            0800 0f00 dc000000
            0500 1500 4f000000
            """);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void DeleteRuleByProtocol_CarriesOnlyTheProtocol()
    {
        var bytes = RtMessages.DeleteRuleByProtocol(AddressFamily.InterNetwork, 79).ToArray(4);
        Assert.Equal(Hex("24000000 2100 0500 04000000 00000000  02 00 00 00 00 00 00 00 00000000  0500 1500 4f000000"), bytes);
    }

    [Fact]
    public void SetLink_MatchesIfinfomsgAndLinkAttributes()
    {
        var bytes = RtMessages.SetLink(12, 1400, 4096).ToArray(5);
        var expected = Hex("""
            30000000 1000 0500 05000000 00000000   # RTM_NEWLINK, REQUEST|ACK
            00 00 0000 0c000000 01000000 01000000 # ifinfomsg: AF_UNSPEC, pad, type, index 12, flags IFF_UP, change IFF_UP
            0800 0400 78050000                    # IFLA_MTU 1400
            0800 0d00 00100000                    # IFLA_TXQLEN 4096
            """);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Dumps_AskForEveryEntryOfTheFamily()
    {
        Assert.Equal(Hex("1c000000 2200 0103 06000000 00000000  0a 00 00 00 00 00 00 00 00000000"),
            RtMessages.DumpAll(RtMessages.GetRule, AddressFamily.InterNetworkV6).ToArray(6));
        Assert.Equal(Hex("1c000000 1a00 0103 07000000 00000000  02 00 00 00 00 00 00 00 00000000"),
            RtMessages.DumpAll(RtMessages.GetRoute, AddressFamily.InterNetwork).ToArray(7));
    }

    [Fact]
    public void Ack_IsErrorZero()
    {
        var packets = NetlinkReply.Split(Hex("24000000 0200 0001 05000000 39300000  00000000  24000000 2100 0500 05000000 00000000"));
        var ack = Assert.Single(packets);
        Assert.Equal((NetlinkReply.Error, 5u), (ack.Type, ack.Sequence));
        Assert.Equal((0, (string?)null), NetlinkReply.ParseError(ack));
    }

    [Fact]
    public void Error_CappedWithExtendedAck_GivesErrnoAndKernelText()
    {
        // error -22, the request's header only (NLM_F_CAPPED), then NLMSGERR_ATTR_MSG "Invalid prefsrc address\0".
        var message = "Invalid prefsrc address\0"u8.ToArray();
        var bytes = Hex("00000000 0200 0003 08000000 00000000  eaffffff  3c000000 1800 0505 08000000 00000000")
            .Concat(Hex("1c00 0100")).Concat(message).ToArray();
        bytes[0] = (byte)bytes.Length;
        var error = Assert.Single(NetlinkReply.Split(bytes));
        Assert.Equal((22, (string?)"Invalid prefsrc address"), NetlinkReply.ParseError(error));
    }

    [Fact]
    public void Error_UncappedEchoingTheRequest_FindsTheAttributesAfterIt()
    {
        // error -17 (EEXIST), the whole 36-byte request echoed, then a 2-byte-padded message attribute.
        var request = Hex("24000000 2000 0506 01000000 00000000  02 00 00 00 dc 00 00 01 00000000  0800 0600 dc000000");
        var bytes = Hex("00000000 0200 0002 01000000 00000000  efffffff").Concat(request).Concat(Hex("0700 0100 61620000")).ToArray();
        bytes[0] = (byte)bytes.Length;
        Assert.Equal((17, (string?)"ab"), NetlinkReply.ParseError(Assert.Single(NetlinkReply.Split(bytes))));

        // The same without NLM_F_ACK_TLVS: no text.
        bytes[6] = 0;
        bytes[7] = 0;
        Assert.Equal((17, (string?)null), NetlinkReply.ParseError(Assert.Single(NetlinkReply.Split(bytes))));
    }

    [Fact]
    public void Split_ReadsSeveralMessages_AndRefusesALengthThatDoesNotFit()
    {
        var done = Hex("14000000 0300 0200 09000000 00000000 00000000");
        var packets = NetlinkReply.Split(done.Concat(done).ToArray());
        Assert.Equal(2, packets.Count);
        Assert.All(packets, p => Assert.Equal(NetlinkReply.Done, p.Type));
        Assert.Throws<InvalidDataException>(() => NetlinkReply.Split(Hex("30000000 0300 0200 09000000 00000000 00000000")));
        Assert.Throws<InvalidDataException>(() => NetlinkReply.Split(Hex("08000000 0300 0200 09000000 00000000")));
    }

    [Fact]
    public void ParseRoute_ReadsAKernelDumpEntry()
    {
        // What the kernel dumps for "203.0.113.0/24 dev #7 table 220 proto 79 scope link" (RTA_TABLE beside rtm_table).
        var payload = Hex("""
            02 18 00 00 dc 4f fd 01 00000000
            0800 0f00 dc000000
            0800 0100 cb007100
            0800 0400 07000000
            """);
        var route = RtMessages.ParseRoute(payload);
        Assert.Equal(new RouteEntry(2, 24, 220, 79, 1, route.Destination, 7), route);
        Assert.Equal(IPAddress.Parse("203.0.113.0").GetAddressBytes(), route.Destination);

        // A table above 255 is only in RTA_TABLE; rtm_table then holds RT_TABLE_COMPAT (252).
        var big = RtMessages.ParseRoute(Hex("0a 00 00 00 fc 02 00 01 00000000  0800 0f00 e8030000"));
        Assert.Equal((1000u, (byte)2, (byte[]?)null, (int?)null), (big.Table, big.Protocol, big.Destination, big.OutputInterface));
        Assert.Throws<InvalidDataException>(() => RtMessages.ParseRoute(Hex("02 18 00")));
    }

    [Fact]
    public void ParseRule_ReadsAKernelDumpEntry()
    {
        var payload = Hex("""
            02 00 00 00 fe 00 00 01 00000000
            0800 0f00 fe000000
            0800 0600 db000000
            0800 0a00 4b414f00
            0800 1000 ffffffff
            0500 1500 4f000000
            """);
        Assert.Equal(new RuleEntry(2, 254, 219, 79, 0x4f414b, uint.MaxValue), RtMessages.ParseRule(payload));
        Assert.Equal(new RuleEntry(10, 220, null, 0, null, null), RtMessages.ParseRule(Hex("0a 00 00 00 dc 00 00 01 00000000")));
    }

    [Fact]
    public void Errors_ReadAsNameAndText()
    {
        Assert.Equal("EINVAL (Invalid argument)", RtNetlink.Describe(22));
        Assert.Equal("EPERM (Operation not permitted)", RtNetlink.Describe(1));
        Assert.Equal("EEXIST", RtNetlink.ErrnoName(17));
        Assert.Equal("errno 200", RtNetlink.ErrnoName(200));
    }
}
