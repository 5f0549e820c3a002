using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tests;

/// <summary>
/// Traffic selector arithmetic (UInt128 ranges) and proposal selection (loops instead of LINQ), both rewritten for
/// allocation-free handshakes in issue 14: the same results as RFC 7296 §2.9 and §3.3 ask for.
/// </summary>
public class NegotiationArithmeticTests
{
    [Theory]
    [InlineData("10.1.0.0/16", "10.1.0.0", "10.1.255.255", "10.1.0.0/16")]
    [InlineData("10.1.2.3/16", "10.1.0.0", "10.1.255.255", "10.1.0.0/16")]
    [InlineData("0.0.0.0/0", "0.0.0.0", "255.255.255.255", "0.0.0.0/0")]
    [InlineData("192.0.2.7", "192.0.2.7", "192.0.2.7", "192.0.2.7/32")]
    [InlineData("192.0.2.1-192.0.2.9", "192.0.2.1", "192.0.2.9", "192.0.2.1..192.0.2.9")]
    [InlineData("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0")]
    [InlineData("2001:db8::1/64", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8::/64")]
    [InlineData("2001:db8::5", "2001:db8::5", "2001:db8::5", "2001:db8::5/128")]
    [InlineData("2001:db8::/1", "::", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/1")]
    public void ParseAndFormat(string text, string start, string end, string formatted)
    {
        var ts = TrafficSelectorRange.Parse(text);
        Assert.Equal(IPAddress.Parse(start), ts.Start);
        Assert.Equal(IPAddress.Parse(end), ts.End);
        Assert.Equal(formatted, ts.ToString());
    }

    [Fact]
    public void Intersection_NarrowsAddressesPortsAndProtocol_AndIsNullWithoutOverlap()
    {
        var wide = TrafficSelectorRange.Parse("10.0.0.0/8");
        var narrow = TrafficSelectorRange.Parse("10.1.2.0/24[tcp/80-90]");
        var both = wide.Intersect(narrow)!;
        Assert.Equal("10.1.2.0/24[6/80-90]", both.ToString());
        Assert.Equal("10.0.0.128..10.0.1.63", TrafficSelectorRange.Parse("10.0.0.0-10.0.1.63").Intersect(TrafficSelectorRange.Parse("10.0.0.128-10.0.3.0"))!.ToString());
        Assert.Null(wide.Intersect(TrafficSelectorRange.Parse("192.0.2.0/24")));
        Assert.Null(wide.Intersect(TrafficSelectorRange.Parse("2001:db8::/32")));
        Assert.Null(narrow.Intersect(TrafficSelectorRange.Parse("10.0.0.0/8[udp]")));
        var v6 = TrafficSelectorRange.Parse("2001:db8::/32").Intersect(TrafficSelectorRange.Parse("2001:db8:1::/48"))!;
        Assert.Equal("2001:db8:1::/48", v6.ToString());
        Assert.True(v6.IsIpv6);
        Assert.False(wide.IsIpv6);
    }

    [Fact]
    public void Contains_ChecksFamilyAndBounds()
    {
        var ts = TrafficSelectorRange.Parse("198.51.100.0/24");
        Assert.True(ts.Contains(IPAddress.Parse("198.51.100.0")));
        Assert.True(ts.Contains(IPAddress.Parse("198.51.100.255")));
        Assert.False(ts.Contains(IPAddress.Parse("198.51.101.0")));
        Assert.False(ts.Contains(IPAddress.Parse("::ffff:198.51.100.1")));
    }

    private static Proposal Offer(byte number, string proposal) =>
        new(number, ProtocolId.Ike, default, [.. ProposalString.ParseList(proposal, ProtocolId.Ike)[0].Transforms.Select(t => Transform.Create(t.Type, t.Id, t.KeyLengthBits))]);

    [Fact]
    public void Select_TakesOurFirstProposalThePeerCanMeet_AndOurFirstTransformOfEachType()
    {
        var ours = ProposalString.ParseList("aes256gcm16-prfsha384-ecp384,aes128gcm16-aes256gcm16-prfsha256-x25519-ecp256", ProtocolId.Ike);
        var theirs = new[] { Offer(1, "aes128-sha256-prfsha256-modp2048"), Offer(2, "aes256gcm16-aes128gcm16-prfsha256-ecp256-x25519") };
        var (selected, peer) = ProposalNegotiation.Select(ours, theirs, ProtocolId.Ike)!.Value;
        Assert.Equal(2, peer.Number);
        Assert.Equal("aes128gcm16-prfsha256-curve25519", ProposalString.Format(selected));
        Assert.Null(ProposalNegotiation.Select(ours, [Offer(1, "aes128-sha256-prfsha256-modp2048")], ProtocolId.Ike));
        Assert.Null(ProposalNegotiation.Select(ours, theirs, ProtocolId.Esp)); // no ESP proposal among theirs
    }

    [Fact]
    public void Select_FailsWhenThePeerNamesATypeWeDoNot()
    {
        var ours = ProposalString.ParseList("aes128gcm16-prfsha256-x25519", ProtocolId.Ike);
        var withIntegrity = Offer(1, "aes128gcm16-prfsha256-x25519");
        withIntegrity.Transforms.Add(Transform.Create(TransformType.Integrity, (ushort)IntegId.HmacSha2_256_128));
        Assert.Null(ProposalNegotiation.Select(ours, [withIntegrity], ProtocolId.Ike));
    }

    [Fact]
    public void ValidateResponse_AcceptsOneOfOursReducedToOnePerType_Only()
    {
        var offered = ProposalString.ParseList("aes128gcm16-aes256gcm16-prfsha256-x25519-ecp256", ProtocolId.Ike);
        SecurityAssociationPayload Answer(string p) => new([Offer(1, p)]);
        Assert.Equal("aes256gcm16-prfsha256-ecp256", ProposalString.Format(ProposalNegotiation.ValidateResponse(offered, Answer("aes256gcm16-prfsha256-ecp256"), ProtocolId.Ike)!));
        Assert.Null(ProposalNegotiation.ValidateResponse(offered, Answer("aes128gcm16-aes256gcm16-prfsha256-x25519"), ProtocolId.Ike)); // two of a type
        var noKe = Answer("aes128gcm16-prfsha256-x25519");
        noKe.Proposals[0].Transforms.RemoveAll(t => t.Type == TransformType.KeyExchange);
        Assert.Null(ProposalNegotiation.ValidateResponse(offered, noKe, ProtocolId.Ike)); // a type left out
        Assert.Null(ProposalNegotiation.ValidateResponse(offered, Answer("aes128gcm16-prfsha384-x25519"), ProtocolId.Ike)); // not offered
        Assert.Null(ProposalNegotiation.ValidateResponse(offered, Answer("aes128gcm16-prfsha256-x25519"), ProtocolId.Esp));
    }

    [Fact]
    public void Resolve_SharesOneSuitePerNegotiatedProposal()
    {
        // Two handshakes select the same transforms from two offers: each selection is its own object, the suites
        // they resolve to are one shared instance (and its proposal); other transforms or another protocol are not.
        var ours = ProposalString.ParseList("aes128gcm16-aes256gcm16-prfsha256-x25519-ecp256", ProtocolId.Ike);
        var first = ProposalNegotiation.Select(ours, [Offer(1, "aes128gcm16-prfsha256-x25519")], ProtocolId.Ike)!.Value.Selected;
        var second = ProposalNegotiation.Select(ours, [Offer(3, "aes256gcm16-aes128gcm16-prfsha256-x25519")], ProtocolId.Ike)!.Value.Selected;
        Assert.NotSame(first, second);
        var suite = ProposalNegotiation.Resolve(first);
        Assert.Same(suite, ProposalNegotiation.Resolve(second));
        Assert.Same(suite.Proposal, ProposalNegotiation.Resolve(second).Proposal);
        Assert.Equal("aes128gcm16-prfsha256-curve25519", suite.ToString());

        var other = ProposalNegotiation.Resolve(ProposalString.Parse("aes256gcm16-prfsha256-x25519", ProtocolId.Ike));
        Assert.NotSame(suite, other);
        Assert.Equal(256, other.Encryption.KeyLengthBits);
        var esp = ProposalNegotiation.Resolve(new AlgorithmProposal(ProtocolId.Esp, first.Transforms));
        Assert.NotSame(suite, esp);
        Assert.Equal(ProtocolId.Esp, esp.Proposal.Protocol);
    }

    [Fact]
    public void Share_GivesEqualSelectorListsOneInstance()
    {
        // Two CHILD SAs narrowed to the same selectors (separately parsed: equal, not the same objects) hold one list.
        var first = new List<TrafficSelectorRange> { TrafficSelectorRange.Parse("203.0.113.0/24"), TrafficSelectorRange.Parse("2001:db8:7::/48[tcp]") };
        var second = new List<TrafficSelectorRange> { TrafficSelectorRange.Parse("203.0.113.9/24"), TrafficSelectorRange.Parse("2001:db8:7::/48[6]") };
        var shared = TrafficSelectorRange.Share(first);
        Assert.Same(shared, TrafficSelectorRange.Share(second));
        Assert.Equal(first, shared);
        first.Clear(); // the shared copy is the cache's own, not the caller's list
        Assert.Equal(2, shared.Count);
        var other = TrafficSelectorRange.Share([TrafficSelectorRange.Parse("203.0.113.0/25")]);
        Assert.NotSame(shared, other);
        Assert.Equal("203.0.113.0/25", Assert.Single(other).ToString());
        Assert.NotSame(shared, TrafficSelectorRange.Share([TrafficSelectorRange.Parse("203.0.113.0/24")])); // a prefix of it
    }
}
