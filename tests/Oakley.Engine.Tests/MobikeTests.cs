using System.Net;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// MOBIKE (RFC 4555): negotiation in IKE_AUTH, the initiator's move to port 4500, UPDATE_SA_ADDRESSES with NAT
/// detection and COOKIE2 when the initiator's address changes, and the responder's refusal of old or forged
/// updates. Moon (A) initiates; the inner payloads of protected messages are read with the SAs' own keys.
/// </summary>
public class MobikeTests
{
    private static readonly IPAddress MoonNew = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress MoonThird = IPAddress.Parse("192.0.2.11");

    private static EnginePair Established(Scenario? scenario = null)
    {
        var s = scenario ?? new Scenario();
        s.SunRemoteAny = true; // sun must accept moon from its new addresses
        var pair = s.Build();
        pair.Initiate(true);
        Assert.Equal(IkeSaState.Established, pair.A.IkeSas.Single().State);
        return pair;
    }

    /// <summary>The decrypted payloads of a protected message sent by <paramref name="fromA"/>.</summary>
    private static List<IkePayload> Inner(EnginePair pair, bool fromA, byte[] datagram)
    {
        var receiver = (fromA ? pair.B : pair.A).IkeSas.Single();
        return receiver.Keys!.Unprotect(datagram, IkeMessage.Decode(datagram), fromA);
    }

    private static List<(bool FromA, byte[] Datagram)> Capture(EnginePair pair)
    {
        var seen = new List<(bool, byte[])>();
        var filter = pair.Filter;
        pair.Filter = (fromA, t) =>
        {
            seen.Add((fromA, t.Datagram));
            return filter(fromA, t);
        };
        return seen;
    }

    private static bool IsInformational(byte[] d, bool response)
    {
        var m = IkeMessage.Decode(d);
        return m.ExchangeType == ExchangeType.Informational && m.IsResponse == response;
    }

    [Fact]
    public void Mobike_IsNegotiatedInIkeAuth_AndTheInitiatorMovesToTheNattPort_WithoutUdpEncapsulation()
    {
        var pair = new Scenario().Build();
        var seen = Capture(pair);
        pair.Initiate(true);

        var auth = seen.Where(x => IkeMessage.Decode(x.Datagram).ExchangeType == ExchangeType.IkeAuth).ToList();
        Assert.Contains(Inner(pair, true, auth.First(a => a.FromA).Datagram).OfType<NotifyPayload>(), n => n.NotifyType == NotifyType.MobikeSupported);
        Assert.Contains(Inner(pair, false, auth.First(a => !a.FromA).Datagram).OfType<NotifyPayload>(), n => n.NotifyType == NotifyType.MobikeSupported);
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        Assert.True(moon.MobikeNegotiated);
        Assert.True(sun.MobikeNegotiated);
        Assert.Equal(4500, moon.Local.Port);
        Assert.Equal(4500, moon.Remote.Port);
        Assert.Equal(4500, sun.Remote.Port); // RFC 4555 §3.3: IKE_AUTH already went to 4500
        // No NAT: the move to 4500 alone does not mean ESP in UDP.
        Assert.All(pair.EventsA.OfType<ChildSaInstall>().Concat(pair.EventsB.OfType<ChildSaInstall>()), c => Assert.False(c.UdpEncapsulation));
    }

    [Fact]
    public void WithoutMobikeAtTheResponder_NothingIsNegotiated_AndBothSidesAgreeOnEncapsulation()
    {
        var pair = new Scenario { SunMobike = false }.Build();
        pair.Initiate(true);
        Assert.False(pair.A.IkeSas.Single().MobikeNegotiated);
        Assert.False(pair.B.IkeSas.Single().MobikeNegotiated);
        // Moon moved to 4500 anyway; sun, without MOBIKE, reads that as a NAT: both encapsulate.
        var encap = pair.EventsA.OfType<ChildSaInstall>().Concat(pair.EventsB.OfType<ChildSaInstall>()).Select(c => c.UdpEncapsulation).Distinct();
        Assert.Equal([true], encap);

        var none = new Scenario { MoonMobike = false }.Build();
        none.Initiate(true);
        Assert.Equal(500, none.A.IkeSas.Single().Remote.Port); // no MOBIKE, no NAT: IKE stays on 500
        Assert.False(none.B.IkeSas.Single().MobikeNegotiated);
    }

    [Fact]
    public void ANewInitiatorAddress_IsAnnouncedWithUpdateSaAddresses_AndTheResponderMovesTheIkeAndChildSas()
    {
        var pair = Established();
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        var (spiI, spiR) = (moon.SpiI, moon.SpiR);
        var seen = Capture(pair);

        pair.A.LocalAddressesChanged(pair.Now, [MoonNew]); // 192.0.2.1 is gone
        pair.Deliver();

        var request = seen.Single(x => x.FromA && IsInformational(x.Datagram, false));
        var response = seen.Single(x => !x.FromA && IsInformational(x.Datagram, true));
        var asked = Inner(pair, true, request.Datagram).OfType<NotifyPayload>().ToList();
        var answered = Inner(pair, false, response.Datagram).OfType<NotifyPayload>().ToList();
        Assert.Contains(asked, n => n.NotifyType == NotifyType.UpdateSaAddresses);
        Assert.Contains(asked, n => n.NotifyType == NotifyType.NatDetectionSourceIp);
        Assert.Contains(asked, n => n.NotifyType == NotifyType.NatDetectionDestinationIp);
        var cookie2 = Assert.Single(asked, n => n.NotifyType == NotifyType.Cookie2);
        Assert.Equal(cookie2.Data.ToArray(), Assert.Single(answered, n => n.NotifyType == NotifyType.Cookie2).Data.ToArray()); // echoed
        Assert.Contains(answered, n => n.NotifyType == NotifyType.NatDetectionSourceIp);

        Assert.Equal(new IPEndPoint(MoonNew, 4500), moon.Local);
        Assert.Equal(new IPEndPoint(MoonNew, 4500), sun.Remote);
        var moved = Assert.Single(pair.EventsB.OfType<IkeSaAddressesChanged>());
        Assert.Equal(new IPEndPoint(MoonNew, 4500), moved.Remote);
        Assert.False(moved.UdpEncapsulation); // NAT detection on the new path found none
        Assert.Single(pair.EventsA.OfType<IkeSaAddressesChanged>());
        // Same SAs: no new IKE_SA_INIT, same SPIs, CHILD SAs neither removed nor re-created.
        Assert.Equal((spiI, spiR), (moon.SpiI, moon.SpiR));
        Assert.DoesNotContain(pair.Log.Skip(2), l => l.Contains("IKE_SA_INIT", StringComparison.Ordinal));
        Assert.Empty(pair.EventsB.OfType<ChildSaRemove>());
        Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
        Assert.False(moon.LocalBehindNat);
    }

    [Fact]
    public void AMoveBehindANat_IsDetectedInTheUpdate_AndEspBecomesUdpEncapsulated()
    {
        var pair = Established();
        var nat = new SimulatedNat(IPAddress.Parse("198.51.100.1"));
        pair.Route = nat.Route(MoonNew, Scenario.SunAddress.Address);
        pair.A.LocalAddressesChanged(pair.Now, [MoonNew]);
        pair.Deliver();

        var sun = pair.B.IkeSas.Single();
        Assert.Equal(nat.PublicAddress, sun.Remote.Address);
        Assert.True(sun.RemoteBehindNat);
        Assert.True(pair.A.IkeSas.Single().LocalBehindNat);
        Assert.True(Assert.Single(pair.EventsB.OfType<IkeSaAddressesChanged>()).UdpEncapsulation);
        Assert.True(Assert.Single(pair.EventsA.OfType<IkeSaAddressesChanged>()).UdpEncapsulation);
        pair.AdvanceBy(TimeSpan.FromSeconds(21));
        Assert.NotEmpty(pair.Keepalives); // now behind a NAT: keepalives start
    }

    [Fact]
    public void BehindANat_ARemappingIsFoundByTheLivenessCheck_AndRepairedWithAnUpdate()
    {
        var pair = new Scenario { MoonDpdDelay = TimeSpan.FromSeconds(30), SunRemoteAny = true }.Build();
        var nat = new SimulatedNat(IPAddress.Parse("198.51.100.1"));
        pair.Route = nat.Route(Scenario.MoonAddress.Address, Scenario.SunAddress.Address);
        pair.Initiate(true);
        var sun = pair.B.IkeSas.Single();
        Assert.True(sun.MobikeNegotiated);
        Assert.True(pair.A.IkeSas.Single().LocalBehindNat);
        pair.AdvanceBy(TimeSpan.FromSeconds(30)); // the first check learns the mapping
        var before = sun.Remote;
        var updates = pair.EventsB.OfType<IkeSaAddressesChanged>().Count();

        nat.Flush(); // the NAT forgets moon: its next packet gets a new external port
        pair.AdvanceBy(TimeSpan.FromSeconds(31));

        Assert.NotEqual(before, sun.Remote);
        Assert.Equal(nat.PublicAddress, sun.Remote.Address);
        Assert.Equal(sun.Remote, pair.EventsB.OfType<IkeSaAddressesChanged>().Last().Remote);
        Assert.Equal(updates + 1, pair.EventsB.OfType<IkeSaAddressesChanged>().Count());
        Assert.DoesNotContain(pair.Log, l => l.EndsWith("(lost)", StringComparison.Ordinal)); // the answers went where the requests came from
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());

        pair.AdvanceBy(TimeSpan.FromSeconds(31)); // nothing changed since: the next check sends no update
        Assert.Equal(updates + 1, pair.EventsB.OfType<IkeSaAddressesChanged>().Count());
    }

    [Fact]
    public void AResponseWithoutOurCookie2_IsIgnored_AndTheRetransmissionCompletesTheUpdate()
    {
        var pair = Established();
        var seen = Capture(pair);
        var inner = pair.Filter;
        pair.Filter = (fromA, t) => !fromA && IsInformational(t.Datagram, true) ? 0 : inner(fromA, t); // sun's answer is lost
        pair.A.LocalAddressesChanged(pair.Now, [MoonNew]);
        pair.Deliver();
        var request = IkeMessage.Decode(seen.Single(x => x.FromA && IsInformational(x.Datagram, false)).Datagram);

        // A response protected with the right keys and message ID, but without the COOKIE2 echo.
        var sun = pair.B.IkeSas.Single();
        var header = new IkeMessage { InitiatorSpi = sun.SpiI, ResponderSpi = sun.SpiR, ExchangeType = ExchangeType.Informational, Flags = IkeHeaderFlags.Response, MessageId = request.MessageId };
        var forged = sun.Keys!.Protect(header, [], false, new SeededEntropy(9));
        pair.A.HandleDatagram(pair.Now, new IPEndPoint(MoonNew, 4500), new IPEndPoint(Scenario.SunAddress.Address, 4500), forged);
        Assert.Contains(pair.A.Stats.Dropped.Keys, k => k.Contains("COOKIE2", StringComparison.Ordinal));
        Assert.Empty(pair.EventsA.OfType<IkeSaAddressesChanged>());

        pair.Filter = inner;
        pair.AdvanceBy(TimeSpan.FromSeconds(4)); // retransmission; sun answers from its cache, with the echo
        Assert.Single(pair.EventsA.OfType<IkeSaAddressesChanged>());
        Assert.Equal(IkeSaState.Established, pair.A.IkeSas.Single().State);
    }

    [Fact]
    public void AReplayedOldUpdate_DoesNotMoveTheResponderBack()
    {
        var pair = Established();
        var seen = Capture(pair);
        pair.A.LocalAddressesChanged(pair.Now, [MoonNew]);
        pair.Deliver();
        var firstUpdate = seen.Single(x => x.FromA && IsInformational(x.Datagram, false)).Datagram;
        pair.A.LocalAddressesChanged(pair.Now, [MoonThird]);
        pair.Deliver();
        var sun = pair.B.IkeSas.Single();
        Assert.Equal(new IPEndPoint(MoonThird, 4500), sun.Remote);

        // An attacker replays the first update from the first new address.
        pair.B.HandleDatagram(pair.Now, new IPEndPoint(Scenario.SunAddress.Address, 4500), new IPEndPoint(MoonNew, 4500), firstUpdate);
        pair.Deliver();
        Assert.Equal(new IPEndPoint(MoonThird, 4500), sun.Remote);
        Assert.Equal(2, pair.EventsB.OfType<IkeSaAddressesChanged>().Count());

        // Unprotected garbage claiming to be an update changes nothing either.
        var bogus = new IkeMessage { InitiatorSpi = sun.SpiI, ResponderSpi = sun.SpiR, ExchangeType = ExchangeType.Informational, Flags = IkeHeaderFlags.Initiator, MessageId = 9 };
        bogus.Payloads.Add(new NotifyPayload(NotifyType.UpdateSaAddresses));
        pair.B.HandleDatagram(pair.Now, new IPEndPoint(Scenario.SunAddress.Address, 4500), new IPEndPoint(MoonNew, 4500), bogus.Encode());
        Assert.Equal(new IPEndPoint(MoonThird, 4500), sun.Remote);
    }

    [Fact]
    public void NoNatsAllowed_WithANatOnThePath_IsRefusedWithUnexpectedNatDetected()
    {
        var pair = Established();
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        var before = sun.Remote;
        // Moon's next request (message ID 2) is an update whose NAT_DETECTION_SOURCE_IP hashes an address the packet does not come from.
        var header = new IkeMessage { InitiatorSpi = moon.SpiI, ResponderSpi = moon.SpiR, ExchangeType = ExchangeType.Informational, Flags = IkeHeaderFlags.Initiator, MessageId = 2 };
        var request = moon.Keys!.Protect(header,
        [
            new NotifyPayload(NotifyType.UpdateSaAddresses),
            new NotifyPayload(NotifyType.NoNatsAllowed),
            new NotifyPayload(NotifyType.NatDetectionSourceIp, Oakley.Engine.Tasks.NatDetectionTask.Hash(moon.SpiI, moon.SpiR, new IPEndPoint(IPAddress.Parse("192.0.2.99"), 4500))),
            new NotifyPayload(NotifyType.NatDetectionDestinationIp, Oakley.Engine.Tasks.NatDetectionTask.Hash(moon.SpiI, moon.SpiR, sun.Local)),
        ], true, new SeededEntropy(5));
        pair.B.HandleDatagram(pair.Now, sun.Local, new IPEndPoint(MoonNew, 4500), request);
        Assert.True(pair.B.TryPollTransmit(out var answer));
        var notifies = Inner(pair, false, answer.Datagram).OfType<NotifyPayload>().ToList();
        Assert.Contains(notifies, n => n.NotifyType == NotifyType.UnexpectedNatDetected);
        Assert.Equal(before, sun.Remote);
        Assert.Empty(pair.EventsB.OfType<IkeSaAddressesChanged>());
        Assert.Equal(IkeSaState.Established, sun.State);
    }

    [Fact]
    public void AdditionalAddresses_AreStored_AndNoAdditionalAddressesClearsThem()
    {
        var pair = Established();
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        byte[] Request(uint id, params NotifyPayload[] notifies) => sun.Keys!.Protect(
            new IkeMessage { InitiatorSpi = sun.SpiI, ResponderSpi = sun.SpiR, ExchangeType = ExchangeType.Informational, Flags = IkeHeaderFlags.None, MessageId = id },
            notifies, false, new SeededEntropy((int)id));
        pair.A.HandleDatagram(pair.Now, moon.Local, moon.Remote, Request(0,
            new NotifyPayload(NotifyType.AdditionalIp4Address, IPAddress.Parse("203.0.113.7").GetAddressBytes()),
            new NotifyPayload(NotifyType.AdditionalIp6Address, IPAddress.Parse("2001:db8::7").GetAddressBytes()),
            new NotifyPayload(NotifyType.AdditionalIp4Address, new byte[3]))); // malformed: ignored, not fatal
        Assert.Equal([IPAddress.Parse("203.0.113.7"), IPAddress.Parse("2001:db8::7")], moon.PeerAdditionalAddresses);
        pair.A.HandleDatagram(pair.Now, moon.Local, moon.Remote, Request(1, new NotifyPayload(NotifyType.NoAdditionalAddresses)));
        Assert.Empty(moon.PeerAdditionalAddresses);
        Assert.Equal(IkeSaState.Established, moon.State);
    }

    [Fact]
    public void WithoutMobike_AnAddressChange_SendsNoUpdate()
    {
        var pair = Established(new Scenario { MoonMobike = false });
        var before = pair.Log.Count;
        pair.A.LocalAddressesChanged(pair.Now, [MoonNew]);
        pair.Deliver();
        Assert.Equal(before, pair.Log.Count);
        Assert.Equal(Scenario.MoonAddress.Address, pair.A.IkeSas.Single().Local.Address);
    }

    [Fact]
    public void TheRouteSource_ChoosesTheAddress_WhenTheOldOneStays()
    {
        var pair = Established();
        var sun = Scenario.SunAddress.Address;
        pair.A.LocalAddressesChanged(pair.Now, [Scenario.MoonAddress.Address, MoonNew], new Dictionary<IPAddress, IPAddress> { [sun] = Scenario.MoonAddress.Address });
        pair.Deliver();
        Assert.Empty(pair.EventsB.OfType<IkeSaAddressesChanged>()); // nothing changed

        pair.A.LocalAddressesChanged(pair.Now, [Scenario.MoonAddress.Address, MoonNew], new Dictionary<IPAddress, IPAddress> { [sun] = MoonNew });
        pair.Deliver();
        Assert.Equal(new IPEndPoint(MoonNew, 4500), pair.B.IkeSas.Single().Remote);
    }
}
