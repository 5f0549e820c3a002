using Oakley.Engine;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>Loss, duplication, retransmission (RFC 7296 §2.1, §2.3) and deletion, with simulated time.</summary>
public class ReliabilityTests
{
    private static int DropNth(ref int counter, int n, string match, bool fromA, Oakley.Engine.Transmit t, bool wantFromA)
    {
        if (fromA == wantFromA && EnginePair.Describe(t.Datagram).StartsWith(match, StringComparison.Ordinal) && counter++ == n)
        {
            return 0;
        }

        return 1;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LostAuthRequest_IsRetransmittedAfterFourSeconds(bool moonInitiates)
    {
        var pair = new Scenario().Build();
        var seen = 0;
        pair.Filter = (fromA, t) => DropNth(ref seen, 0, "IKE_AUTH request", fromA, t, moonInitiates);
        pair.Initiate(moonInitiates);
        Assert.Empty(pair.EventsA.OfType<IkeSaUp>());
        pair.RunUntilIdle(TimeSpan.FromSeconds(5));
        Assert.Equal(Scenario.Start + TimeSpan.FromSeconds(4), pair.Now);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        Assert.Equal(2, pair.Log.Count(l => l.Contains("IKE_AUTH request", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LostAuthResponse_RetransmittedRequestGetsTheCachedResponse(bool moonInitiates)
    {
        var pair = new Scenario().Build();
        var seen = 0;
        pair.Filter = (fromA, t) => DropNth(ref seen, 0, "IKE_AUTH response", fromA, t, !moonInitiates);
        pair.Initiate(moonInitiates);
        pair.RunUntilIdle(TimeSpan.FromSeconds(5));
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        // The responder must not process the request twice: one CHILD SA each, and identical responses.
        Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
        Assert.Equal(2, pair.Log.Count(l => l.Contains("IKE_AUTH response", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryMessageDuplicated_IsHarmless(bool moonInitiates)
    {
        var pair = new Scenario().Build();
        pair.Filter = (_, _) => 2;
        pair.Initiate(moonInitiates);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
        Assert.Single(pair.A.IkeSas);
        Assert.Single(pair.B.IkeSas);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RetransmitExhaustion_DestroysTheSa_OnStrongSwansSchedule(bool moonInitiates)
    {
        var pair = new Scenario().Build();
        pair.Filter = (fromA, _) => fromA == moonInitiates ? 0 : 1; // everything the initiator sends is lost
        pair.Initiate(moonInitiates);
        var sendTimes = new List<TimeSpan> { TimeSpan.Zero };
        while (pair.Step(TimeSpan.FromMinutes(5)))
        {
            sendTimes.Add(pair.Now - Scenario.Start);
        }

        // 4 s × 1.8^n: sends at 0, 4, 11.2, 24.16, 47.49, 89.48; gives up 4 × 1.8^5 = 75.58 s after the last.
        var expected = new[] { 0, 4, 11.2, 24.16, 47.488, 89.4784, 165.06112 };
        Assert.Equal(expected.Length, sendTimes.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], sendTimes[i].TotalSeconds, 3);
        }

        Assert.Equal(6, pair.Log.Count);
        var down = Assert.Single(pair.InitiatorEvents(moonInitiates).OfType<IkeSaDown>());
        Assert.Contains("5 retransmissions", down.Reason, StringComparison.Ordinal);
        Assert.Empty(pair.Initiator(moonInitiates).IkeSas);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Delete_FromEitherSide_RemovesEverything(bool moonInitiates, bool moonDeletes)
    {
        var pair = new Scenario().Build();
        pair.Initiate(moonInitiates);
        var deleter = moonDeletes ? pair.A : pair.B;
        Assert.Equal(1, deleter.Terminate(pair.Now, moonDeletes ? "moon-sun" : "sun-moon"));
        pair.Deliver();
        Assert.Contains(pair.Log, l => l.Contains("INFORMATIONAL request #", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
        Assert.Single(pair.EventsA.OfType<ChildSaRemove>());
        Assert.Single(pair.EventsB.OfType<ChildSaRemove>());
        Assert.Single(pair.EventsA.OfType<IkeSaDown>());
        Assert.Single(pair.EventsB.OfType<IkeSaDown>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Terminate_WhileAnExchangeIsPending_DeletesAfterIt_AndThePeerIsTold(bool moonInitiates)
    {
        var pair = new Scenario().Build();
        pair.Initiate(moonInitiates);
        Assert.True(Assert.Single(pair.A.IkeSas).SendLivenessCheck(pair.Now)); // in flight, not yet answered
        Assert.Equal(1, pair.A.Terminate(pair.Now));
        Assert.Single(pair.A.IkeSas); // waits for the window (RFC 7296 §2.3)
        pair.Deliver();
        pair.RunUntilIdle(TimeSpan.FromSeconds(1));

        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
        Assert.Contains(pair.Log, l => l.StartsWith("A->B INFORMATIONAL request", StringComparison.Ordinal) && l.Contains((moonInitiates ? "#3" : "#1"), StringComparison.Ordinal));
        Assert.True(Assert.Single(pair.EventsB.OfType<IkeSaDown>()).ClosedByPeer);
        Assert.Single(pair.EventsA.OfType<IkeSaDown>());
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void Delete_WhoseResponseIsLost_EndsAtTheFirstRetransmission(bool moonInitiates, bool moonDeletes)
    {
        var pair = new Scenario().Build();
        pair.Initiate(moonInitiates);
        var seen = 0;
        pair.Filter = (fromA, t) => DropNth(ref seen, 0, "INFORMATIONAL response", fromA, t, !moonDeletes);
        var deleter = moonDeletes ? pair.A : pair.B;
        deleter.Terminate(pair.Now);
        pair.Deliver();
        Assert.Single(deleter.IkeSas); // the peer has deleted its SA; our delete's response was lost

        // The retransmitted delete reaches a peer without the SA, which answers INVALID_IKE_SPI with the I flag of
        // the role it stands in for (RFC 7296 §3.1, §2.21.4); the deleting side takes that as the end of the SA.
        pair.AdvanceBy(TimeSpan.FromSeconds(4));
        Assert.Contains(pair.Log, l => l.Contains("INFORMATIONAL response", StringComparison.Ordinal) && l.Contains("N(InvalidIkeSpi)", StringComparison.Ordinal));
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
        var down = Assert.Single((moonDeletes ? pair.EventsA : pair.EventsB).OfType<IkeSaDown>());
        Assert.False(down.PeerDead);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LivenessCheck_IsAnswered(bool moonInitiates)
    {
        var pair = new Scenario().Build();
        pair.Initiate(moonInitiates);
        Assert.True(Assert.Single(pair.A.IkeSas).SendLivenessCheck(pair.Now));
        pair.Deliver();
        // Each side numbers its own requests: the original initiator has used 0 and 1, the responder none yet.
        Assert.EndsWith($"INFORMATIONAL response #{(moonInitiates ? 2 : 0)} [EncryptedAndAuthenticated]", pair.Log[^1], StringComparison.Ordinal);
        // Nothing left to retransmit: the next deadline is the CHILD SA's rekey.
        Assert.Equal(Assert.Single(pair.A.IkeSas).Children.Min(c => c.RekeyAt), pair.A.PollTimeout());
    }

    [Fact]
    public void GarbageAndUnknownSpis_AreDroppedAndCounted()
    {
        var pair = new Scenario().Build();
        pair.Initiate(true);
        pair.A.HandleDatagram(pair.Now, Scenario.MoonAddress, Scenario.SunAddress, [1, 2, 3]);
        var bogus = new Protocol.Ikev2.IkeMessage { InitiatorSpi = 1, ResponderSpi = 2, ExchangeType = Protocol.Ikev2.ExchangeType.Informational, Flags = Protocol.Ikev2.IkeHeaderFlags.Initiator, MessageId = 5 };
        pair.A.HandleDatagram(pair.Now, Scenario.MoonAddress, Scenario.SunAddress, bogus.Encode());
        Assert.True(pair.A.Stats.Dropped.Values.Sum() >= 2);
        Assert.Single(pair.A.IkeSas);
        Assert.True(pair.A.TryPollTransmit(out var answer));
        Assert.Contains("N(InvalidIkeSpi)", EnginePair.Describe(answer.Datagram), StringComparison.Ordinal);
    }
}
