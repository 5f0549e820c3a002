using Oakley.Engine;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// IKE fragmentation (RFC 7383) as message scripts: negotiation in IKE_SA_INIT, IKE_AUTH and CREATE_CHILD_SA
/// messages cut into SKF fragments by a small charon.fragment_size, loss, reordering, duplication and tampering
/// of fragments, the reassembly bounds and the timeout that frees a partial message.
/// </summary>
public class FragmentationTests
{
    /// <summary>charon.fragment_size of 200 on IPv4 and port 500: IKE messages of at most 200 - 20 - 8 bytes.</summary>
    private const int SmallFragmentSize = 200;
    private const int SmallMaxDatagram = SmallFragmentSize - 28;

    private static Scenario Small(EngineSettings? settings = null) => new()
    {
        MoonSettings = settings ?? new EngineSettings { FragmentSize = SmallFragmentSize },
        SunSettings = settings ?? new EngineSettings { FragmentSize = SmallFragmentSize },
    };

    private static IkeMessage Decode(Transmit t) => IkeMessage.Decode(t.Datagram);

    private static EncryptedFragmentPayload? Skf(Transmit t) => Decode(t).Payloads.LastOrDefault() as EncryptedFragmentPayload;

    private static bool IsExchange(Transmit t, ExchangeType exchange, bool response)
    {
        var m = Decode(t);
        return m.ExchangeType == exchange && m.IsResponse == response;
    }

    private static IkeSa OnlySa(Endpoint e) => Assert.Single(e.IkeSas);

    private static void AssertNothingBuffered(Endpoint e)
    {
        foreach (var sa in e.IkeSas)
        {
            Assert.True(sa.RequestFragments?.IsEmpty ?? true);
            Assert.True(sa.ResponseFragments?.IsEmpty ?? true);
            Assert.Equal(0, (sa.RequestFragments?.BufferedBytes ?? 0) + (sa.ResponseFragments?.BufferedBytes ?? 0));
        }
    }

    private static void AssertUpWithOneChildEach(EnginePair pair)
    {
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        var a = Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        var b = Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
        Assert.Equal(a.InboundSpi, b.OutboundSpi);
        Assert.Equal(a.OutboundSpi, b.InboundSpi);
        Assert.Equal(a.OutboundEncryptionKey, b.InboundEncryptionKey);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BothAnnounce_IkeAuthGoesAsFragments_AndTheSaEstablishes(bool moonInitiates)
    {
        var pair = Small().Build();
        var sent = new List<(bool FromA, Transmit T)>();
        pair.Filter = (fromA, t) =>
        {
            sent.Add((fromA, t));
            return 1;
        };
        pair.Initiate(moonInitiates);

        AssertUpWithOneChildEach(pair);
        Assert.Contains("N(Ikev2FragmentationSupported)", pair.Log.Single(l => l.Contains("IKE_SA_INIT request", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("N(Ikev2FragmentationSupported)", pair.Log.Single(l => l.Contains("IKE_SA_INIT response", StringComparison.Ordinal)), StringComparison.Ordinal);
        foreach (var response in new[] { false, true })
        {
            var auth = sent.Where(s => IsExchange(s.T, ExchangeType.IkeAuth, response)).ToList();
            Assert.True(auth.Count >= 2, $"IKE_AUTH {(response ? "response" : "request")} in {auth.Count} datagram(s)");
            Assert.All(auth, s => Assert.True(s.T.Datagram.Length <= SmallMaxDatagram, $"{s.T.Datagram.Length} bytes"));
            var fragments = auth.Select(s => Skf(s.T)!).ToList();
            Assert.All(fragments, Assert.NotNull);
            Assert.Equal(Enumerable.Range(1, auth.Count).Select(i => (ushort)i), fragments.Select(f => f.FragmentNumber));
            Assert.All(fragments, f => Assert.Equal(auth.Count, f.TotalFragments));
            // RFC 7383 §2.5: only the first fragment names the first inner payload.
            Assert.Equal(response ? PayloadType.IdentificationResponder : PayloadType.IdentificationInitiator, fragments[0].FirstInnerPayload);
            Assert.All(fragments.Skip(1), f => Assert.Equal(PayloadType.None, f.FirstInnerPayload));
        }

        var initiator = pair.Initiator(moonInitiates).Stats;
        var responder = pair.Responder(moonInitiates).Stats;
        Assert.Equal(1, initiator.MessagesReassembled);
        Assert.Equal(1, responder.MessagesReassembled);
        Assert.Equal(initiator.FragmentsSent, responder.FragmentsReceived);
        Assert.Equal(responder.FragmentsSent, initiator.FragmentsReceived);
        AssertNothingBuffered(pair.A);
        AssertNothingBuffered(pair.B);
    }

    [Theory]
    [InlineData(Fragmentation.Yes, Fragmentation.Yes, true, true)]
    [InlineData(Fragmentation.Force, Fragmentation.Yes, true, true)]
    [InlineData(Fragmentation.No, Fragmentation.Yes, false, false)]
    [InlineData(Fragmentation.Yes, Fragmentation.No, false, false)]
    [InlineData(Fragmentation.Accept, Fragmentation.Yes, false, true)]
    [InlineData(Fragmentation.Yes, Fragmentation.Accept, true, false)]
    [InlineData(Fragmentation.Accept, Fragmentation.Accept, false, false)]
    public void Negotiation_FollowsSwanctlFragmentation(Fragmentation moon, Fragmentation sun, bool moonFragments, bool sunFragments)
    {
        foreach (var moonInitiates in new[] { true, false })
        {
            var scenario = Small();
            scenario.MoonFragmentation = moon;
            scenario.SunFragmentation = sun;
            var pair = scenario.Build();
            var sent = new List<(bool FromA, Transmit T)>();
            pair.Filter = (fromA, t) =>
            {
                sent.Add((fromA, t));
                return 1;
            };
            pair.Initiate(moonInitiates);

            AssertUpWithOneChildEach(pair);
            Assert.Equal(moonFragments, sent.Any(s => s.FromA && Skf(s.T) is not null));
            Assert.Equal(sunFragments, sent.Any(s => !s.FromA && Skf(s.T) is not null));
            // Only announced when both sides want it: `no` on either side keeps the notify out of the response.
            var announced = moon != Fragmentation.No && sun != Fragmentation.No;
            Assert.Equal(announced, pair.Log.Single(l => l.Contains("IKE_SA_INIT response", StringComparison.Ordinal)).Contains("Ikev2FragmentationSupported", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void LostFragment_EveryFragmentIsRetransmitted_AndTheRequestIsProcessedOnce(bool moonInitiates, bool loseResponse)
    {
        var pair = Small().Build();
        var lost = false;
        var responseFragmentsSent = 0;
        var requestFragmentsSent = 0;
        pair.Filter = (fromA, t) =>
        {
            if (!IsExchange(t, ExchangeType.IkeAuth, loseResponse ? true : false))
            {
                if (IsExchange(t, ExchangeType.IkeAuth, !loseResponse))
                {
                    _ = loseResponse ? requestFragmentsSent++ : responseFragmentsSent++;
                }

                return 1;
            }

            _ = loseResponse ? responseFragmentsSent++ : requestFragmentsSent++;
            if (!lost && Skf(t)!.FragmentNumber == 2)
            {
                lost = true;
                return 0;
            }

            return 1;
        };
        pair.Initiate(moonInitiates);
        Assert.Empty(pair.InitiatorEvents(moonInitiates).OfType<IkeSaUp>());
        pair.RunUntilIdle(TimeSpan.FromSeconds(5));

        Assert.True(lost);
        Assert.Equal(Scenario.Start + TimeSpan.FromSeconds(4), pair.Now);
        AssertUpWithOneChildEach(pair);
        var requestTotal = pair.Log.Count(l => l.Contains("IKE_AUTH request #1 [SKF(1/", StringComparison.Ordinal));
        Assert.Equal(2, requestTotal); // sent, then retransmitted once
        // Every retransmission carries all fragments; the responder answers the retransmitted request once
        // (on its first fragment) with all fragments of the cached response.
        Assert.Equal(0, requestFragmentsSent % 2);
        Assert.Equal(0, responseFragmentsSent % 2);
        Assert.Equal(loseResponse ? 2 : 1, pair.Log.Count(l => l.Contains("IKE_AUTH response #1 [SKF(1/", StringComparison.Ordinal)));
        AssertNothingBuffered(pair.A);
        AssertNothingBuffered(pair.B);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FragmentsReversedAndDuplicated_AreReassembledOnce(bool moonInitiates)
    {
        var pair = Small().Build();
        var held = new List<Transmit>();
        pair.Filter = (fromA, t) =>
        {
            if (IsExchange(t, ExchangeType.IkeAuth, false))
            {
                held.Add(t);
                return 0;
            }

            return 1;
        };
        pair.Initiate(moonInitiates);
        Assert.True(held.Count >= 2);
        var responder = pair.Responder(moonInitiates);
        foreach (var t in Enumerable.Reverse(held))
        {
            responder.HandleDatagram(pair.Now, t.Remote, t.Local, t.Datagram);
            responder.HandleDatagram(pair.Now, t.Remote, t.Local, t.Datagram);
        }

        pair.Filter = (_, _) => 1;
        pair.Deliver();
        AssertUpWithOneChildEach(pair);
        // The last fragment completes the message, so its second copy is a retransmission (answered on fragment 1 only);
        // the duplicates before completion are ignored by the reassembly.
        Assert.Equal(held.Count - 1, responder.Stats.Dropped.GetValueOrDefault("duplicate fragment"));
        Assert.Equal(1, responder.Stats.MessagesReassembled);
        AssertNothingBuffered(responder);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TamperedFragment_IsDroppedBeforeItIsKept(bool moonInitiates)
    {
        var pair = Small().Build();
        Transmit? victim = null;
        pair.Filter = (fromA, t) =>
        {
            if (victim is null && IsExchange(t, ExchangeType.IkeAuth, false) && Skf(t)!.FragmentNumber == 2)
            {
                victim = t;
                return 0;
            }

            return 1;
        };
        pair.Initiate(moonInitiates);
        var responder = pair.Responder(moonInitiates);
        Assert.NotNull(victim);
        var copy = (byte[])victim.Datagram.Clone();
        copy[^3] ^= 0x40; // inside the ICV
        responder.HandleDatagram(pair.Now, victim.Remote, victim.Local, copy);
        pair.Deliver();
        Assert.Equal(1, responder.Stats.Dropped.GetValueOrDefault("SKF payload failed its integrity check"));
        Assert.Empty(pair.ResponderEvents(moonInitiates).OfType<IkeSaUp>());
        var responderSa = OnlySa(responder);
        Assert.False(responderSa.RequestFragments!.IsEmpty); // fragment 1 only: the tampered one was not kept
        Assert.Equal(0, responder.Stats.MessagesReassembled);

        pair.RunUntilIdle(TimeSpan.FromSeconds(5));
        AssertUpWithOneChildEach(pair);
        AssertNothingBuffered(responder);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CreateChildSaWithPfs_AndIkeRekey_AreFragmented(bool moonInitiates)
    {
        // MODP-2048 public values (256 bytes) make CREATE_CHILD_SA far larger than 172 bytes.
        var scenario = Small();
        scenario.MoonIke = scenario.SunIke = "aes256gcm16-prfsha256-modp2048";
        scenario.MoonEsp2 = scenario.SunEsp2 = "aes128gcm16-modp2048";
        scenario.MoonIkeRekey = moonInitiates ? TimeSpan.FromHours(1) : TimeSpan.FromHours(4);
        scenario.SunIkeRekey = moonInitiates ? TimeSpan.FromHours(4) : TimeSpan.FromHours(1);
        var pair = scenario.Build();
        pair.Initiate(moonInitiates);
        AssertUpWithOneChildEach(pair);

        pair.Initiator(moonInitiates).Initiate(pair.Now, moonInitiates ? "moon-sun" : "sun-moon", "net2");
        pair.Deliver();
        Assert.Contains(pair.Log, l => l.Contains("CREATE_CHILD_SA request #2 [SKF(1/", StringComparison.Ordinal));
        Assert.Contains(pair.Log, l => l.Contains("CREATE_CHILD_SA response #2 [SKF(1/", StringComparison.Ordinal));
        Assert.Equal(2, pair.EventsA.OfType<ChildSaInstall>().Count());
        Assert.Equal(2, pair.EventsB.OfType<ChildSaInstall>().Count());

        for (var i = 0; i < 50 && !pair.EventsB.OfType<IkeSaRekeyed>().Any() && pair.Step(TimeSpan.FromHours(2)); i++)
        {
        }

        Assert.Single(pair.EventsA.OfType<IkeSaRekeyed>());
        Assert.Single(pair.EventsB.OfType<IkeSaRekeyed>());
        // Every CREATE_CHILD_SA (the new child, CHILD rekeys, the IKE rekey with its MODP KE) went as fragments; the
        // successor IKE SA inherits the negotiated fragmentation.
        var createChild = pair.Log.Where(l => l.Contains("CREATE_CHILD_SA", StringComparison.Ordinal)).ToList();
        Assert.True(createChild.Count >= 4);
        Assert.All(createChild, l => Assert.Contains("[SKF(", l, StringComparison.Ordinal));
        var successor = OnlySa(pair.Initiator(moonInitiates));
        Assert.Equal(SmallMaxDatagram - 4, successor.MaxUnfragmentedDatagram); // on port 4500 (MOBIKE moved IKE there): 4 bytes of non-ESP marker
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
        AssertNothingBuffered(pair.A);
        AssertNothingBuffered(pair.B);
    }

    [Fact]
    public void PartialMessage_IsFreedAfterTheTimeout_ThenTheRetransmissionCompletes()
    {
        var settings = new EngineSettings { FragmentSize = SmallFragmentSize, FragmentTimeout = TimeSpan.FromSeconds(2) };
        var scenario = Small(settings);
        scenario.MoonEsp2 = scenario.SunEsp2 = "aes128gcm16-modp2048";
        var pair = scenario.Build();
        pair.Initiate(true);
        AssertUpWithOneChildEach(pair);

        var drop = true;
        pair.Filter = (fromA, t) => drop && fromA && IsExchange(t, ExchangeType.CreateChildSa, false) && Skf(t)!.FragmentNumber == 2 ? 0 : 1;
        var start = pair.Now;
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        var sunSa = OnlySa(pair.B);
        Assert.False(sunSa.RequestFragments!.IsEmpty);
        Assert.Equal(start + TimeSpan.FromSeconds(2), pair.B.PollTimeout());

        pair.Step(TimeSpan.FromSeconds(3)); // to the reassembly deadline
        Assert.Equal(start + TimeSpan.FromSeconds(2), pair.Now);
        Assert.True(sunSa.RequestFragments.IsEmpty);
        Assert.Equal(1, pair.B.Stats.Dropped.GetValueOrDefault("fragment reassembly timed out"));

        drop = false;
        pair.RunUntilIdle(TimeSpan.FromSeconds(5));
        Assert.Equal(2, pair.EventsB.OfType<ChildSaInstall>().Count());
        Assert.Equal(2, pair.EventsA.OfType<ChildSaInstall>().Count());
        AssertNothingBuffered(pair.A);
        AssertNothingBuffered(pair.B);
    }

    [Fact]
    public void MessageAboveMaxPacket_IsDiscarded_AndNothingIsKept()
    {
        var scenario = Small();
        scenario.SunSettings = new EngineSettings { FragmentSize = SmallFragmentSize, MaxPacket = 150 };
        var pair = scenario.Build();
        pair.Initiate(true);
        Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
        Assert.True(pair.B.Stats.Dropped.GetValueOrDefault("fragmented message too large") >= 1);
        AssertNothingBuffered(pair.B);
        pair.RunUntilIdle(TimeSpan.FromMinutes(5));
        Assert.Empty(pair.B.IkeSas); // the half-open SA timed out; no partial message outlived it
        Assert.Single(pair.EventsA.OfType<IkeSaDown>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DefaultFragmentSize_ManyTrafficSelectors_StayBelow1280(bool moonInitiates)
    {
        var moonTs = Enumerable.Range(1, 120).Select(i => $"198.51.100.{i}/32").ToArray();
        var sunTs = Enumerable.Range(1, 120).Select(i => $"203.0.113.{i}/32").ToArray();
        var pair = new Scenario { MoonLocalTs = moonTs, SunRemoteTs = moonTs, MoonRemoteTs = sunTs, SunLocalTs = sunTs }.Build();
        var sent = new List<Transmit>();
        pair.Filter = (_, t) =>
        {
            sent.Add(t);
            return 1;
        };
        pair.Initiate(moonInitiates);
        AssertUpWithOneChildEach(pair);
        Assert.All(sent, t => Assert.True(t.Datagram.Length <= 1280 - 28, $"{t.Datagram.Length} bytes"));
        Assert.True(sent.Count(t => IsExchange(t, ExchangeType.IkeAuth, false)) >= 3);
        Assert.True(sent.Count(t => IsExchange(t, ExchangeType.IkeAuth, true)) >= 3);
        var child = pair.EventsA.OfType<ChildSaInstall>().Single();
        Assert.Equal(120, child.LocalTs.Count);
        Assert.Equal(120, child.RemoteTs.Count);
    }

    [Theory]
    [InlineData(Fragmentation.No, "fragment without negotiated fragmentation")]
    [InlineData(Fragmentation.Yes, "SKF payload failed its integrity check")]
    public void ForgedFragment_IsDroppedAndCounted_NothingIsKept(Fragmentation sun, string reason)
    {
        var scenario = Small();
        scenario.SunFragmentation = sun;
        var pair = scenario.Build();
        pair.Initiate(true);
        AssertUpWithOneChildEach(pair);
        var sa = OnlySa(pair.B);
        // A fragment of the next request from moon with a body nobody authenticated: dropped before reassembly.
        var forged = new IkeMessage { InitiatorSpi = sa.SpiI, ResponderSpi = sa.SpiR, ExchangeType = ExchangeType.Informational, Flags = IkeHeaderFlags.Initiator, MessageId = 2 };
        forged.Payloads.Add(new EncryptedFragmentPayload(PayloadType.Notify, 1, 2, new byte[64]));
        var received = pair.B.Stats.FragmentsReceived;
        pair.B.HandleDatagram(pair.Now, Scenario.SunAddress, Scenario.MoonAddress, forged.Encode());
        Assert.Equal(1, pair.B.Stats.Dropped.GetValueOrDefault(reason));
        Assert.Equal(received, pair.B.Stats.FragmentsReceived);
        AssertNothingBuffered(pair.B);
        Assert.Equal(IkeSaState.Established, sa.State);
    }
}
