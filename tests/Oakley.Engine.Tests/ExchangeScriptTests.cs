using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// Message scripts for the SA lifecycle in the manner of strongSwan's exchange tests (child_rekey, ike_rekey,
/// child_delete, ike_delete): every datagram is held on a <see cref="Wire"/> and delivered, delayed or dropped in
/// the order a scenario needs, so that each collision of RFC 7296 §2.8.1, §2.8.2 and §2.25 is reproduced exactly.
/// A is moon and B is sun; <c>moonInitiates</c> says which of them is the IKE SA's original initiator, and
/// <c>aActs</c> which side starts the exchange under test.
/// </summary>
public class ExchangeScriptTests
{
    public static TheoryData<bool, bool> Roles => new() { { true, true }, { true, false }, { false, true }, { false, false } };

    public static TheoryData<bool> Initiators => new() { true, false };

    private static Wire Establish(bool moonInitiates, Action<Scenario>? tweak = null, int seed = 1)
    {
        var scenario = new Scenario { Seed = seed };
        tweak?.Invoke(scenario);
        var pair = scenario.Build();
        pair.Initiate(moonInitiates);
        var wire = new Wire(pair);
        wire.AssertAgree(1);
        return wire;
    }

    /// <summary>Neither side holds an IKE SA or a CHILD SA any more.</summary>
    private static void AssertAllGone(Wire w)
    {
        Assert.Empty(w.A.IkeSas);
        Assert.Empty(w.B.IkeSas);
        Assert.Empty(Wire.Live(w.Events(true)));
        Assert.Empty(Wire.Live(w.Events(false)));
        Assert.True(w.A.IndexesConsistent && w.B.IndexesConsistent);
    }

    private static uint ChildOf(Wire w, bool a) => w.Ike(a).Children.Single().InboundSpi;

    private static void AssertNoCreateChildAfter(Wire w, int logIndex) =>
        Assert.DoesNotContain(w.Log.Skip(logIndex), l => l.Contains("CREATE_CHILD_SA request", StringComparison.Ordinal));

    // ================================================================================= CHILD SA rekeying

    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildRekeyRegular(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        var old = w.AssertAgree(1).Single();
        Assert.True(w.Ike(aActs).RekeyChild(w.Now, ChildOf(w, aActs)));

        var request = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        Assert.Contains(NotifyType.RekeySa, request.Notifies);
        Assert.False(request.Has<KeyExchangePayload>()); // no PFS configured
        w.Deliver(request);
        w.Deliver(w.Expect(!aActs, ExchangeType.CreateChildSa, response: true));
        // §2.8: the rekey's initiator deletes the old SA once the new one is in place; the peer answers with its half.
        var delete = w.Expect(aActs, ExchangeType.Informational, response: false);
        Assert.True(delete.Has<DeletePayload>());
        w.Deliver(delete);
        var answer = w.Expect(!aActs, ExchangeType.Informational, response: true);
        Assert.True(answer.Has<DeletePayload>());
        w.Deliver(answer);

        var now = w.AssertAgree(1).Single();
        Assert.NotEqual(old.InboundSpi, now.InboundSpi);
        Assert.NotEqual(old.OutboundSpi, now.OutboundSpi);
        Assert.NotEqual(old.InboundEncryptionKey, now.InboundEncryptionKey);
        w.AssertNoIkeSaDown();
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildRekeyWithPfs(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates, s => (s.MoonEsp, s.SunEsp) = ("aes256gcm16-x25519", "aes256gcm16-x25519"));
        var old = w.AssertAgree(1).Single();
        w.Ike(aActs).RekeyChild(w.Now, ChildOf(w, aActs));
        var request = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        Assert.True(request.Has<KeyExchangePayload>());
        w.Deliver(request);
        Assert.True(w.Expect(!aActs, ExchangeType.CreateChildSa, response: true) is var response && response.Has<KeyExchangePayload>());
        w.Deliver(response);
        w.Flush();
        Assert.NotEqual(old.InboundSpi, w.AssertAgree(1).Single().InboundSpi);
    }

    /// <summary>The responder wants another PFS group: INVALID_KE_PAYLOAD names it and the rekey is retried with it.</summary>
    [Theory]
    [MemberData(nameof(Initiators))]
    public void ChildRekeyInvalidKe(bool moonInitiates)
    {
        var w = Establish(moonInitiates, s => (s.MoonEsp, s.SunEsp) = ("aes256gcm16-ecp256-x25519", "aes256gcm16-x25519"));
        w.Ike(true).RekeyChild(w.Now, ChildOf(w, true));
        var first = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        Assert.Equal(KeId.Ecp256, first.Inner.OfType<KeyExchangePayload>().Single().Group);
        w.Deliver(first);
        var refusal = w.Expect(false, ExchangeType.CreateChildSa, response: true);
        Assert.Contains(NotifyType.InvalidKePayload, refusal.Notifies);
        w.Deliver(refusal);
        var retry = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        Assert.Equal(KeId.Curve25519, retry.Inner.OfType<KeyExchangePayload>().Single().Group);
        w.Deliver(retry);
        w.Flush();
        var child = w.AssertAgree(1).Single();
        Assert.Equal(KeId.Curve25519, w.Ike(true).Children.Single(c => c.InboundSpi == child.InboundSpi).Suite.KeyExchange);
    }

    /// <summary>
    /// §2.8.1: both ends rekey the same CHILD SA at once. Each answers the other's request; the new SA made with the
    /// lowest of the four nonces is redundant and its creator deletes it; the other creator deletes the old SA.
    /// Over several seeds both outcomes occur, and either way the two ends agree on one SA.
    /// </summary>
    [Fact]
    public void ChildRekeyCollision()
    {
        var winners = new HashSet<bool>();
        for (var seed = 1; seed <= 12; seed++)
        {
            foreach (var moonInitiates in new[] { true, false })
            {
                var w = Establish(moonInitiates, seed: seed);
                var old = w.AssertAgree(1).Single();
                w.A.Entropy.Fill(new byte[seed * 5]); // seeded streams of nearby seeds are correlated: shift A's
                w.Ike(true).RekeyChild(w.Now, ChildOf(w, true));
                w.Ike(false).RekeyChild(w.Now, ChildOf(w, false));
                var fromA = w.Expect(true, ExchangeType.CreateChildSa, response: false);
                var fromB = w.Expect(false, ExchangeType.CreateChildSa, response: false);
                w.Deliver(fromA);
                w.Deliver(fromB);
                w.Deliver(w.Expect(false, ExchangeType.CreateChildSa, response: true));
                w.Deliver(w.Expect(true, ExchangeType.CreateChildSa, response: true));
                w.Flush();
                var survivor = w.AssertAgree(1).Single();
                Assert.NotEqual(old.InboundSpi, survivor.InboundSpi);
                // A's request offered A's inbound SPI: if that one survived, A's rekey won.
                var aSpi = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(fromA.Inner.OfType<SecurityAssociationPayload>().Single().Proposals[0].Spi.Span);
                winners.Add(survivor.InboundSpi == aSpi);
                // Each side tells the operator it saw the collision and how it ended.
                Assert.Contains(w.Events(true).OfType<Alert>(), a => a.Message.Contains("rekey collision won", StringComparison.Ordinal) || a.Message.Contains("rekey collision lost", StringComparison.Ordinal));
                Assert.Contains(w.Events(false).OfType<Alert>(), a => a.Message.Contains("rekey collision: the peer rekeys it too", StringComparison.Ordinal));
                w.AssertNoIkeSaDown();
            }
        }

        Assert.Equal(2, winners.Count);
    }

    /// <summary>
    /// A collision where one end resolves and sends its delete (of the old SA, or of its redundant one) before the other
    /// end has its CREATE_CHILD_SA response: the late response must still be resolved by the nonces.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void ChildRekeyCollisionDelayedResponse(int seed)
    {
        var w = Establish(true, seed: seed);
        w.A.Entropy.Fill(new byte[seed * 5]);
        w.Ike(true).RekeyChild(w.Now, ChildOf(w, true));
        w.Ike(false).RekeyChild(w.Now, ChildOf(w, false));
        var fromA = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        var fromB = w.Expect(false, ExchangeType.CreateChildSa, response: false);
        w.Deliver(fromA);
        w.Deliver(fromB);
        var lateForA = w.Expect(false, ExchangeType.CreateChildSa, response: true);
        w.Deliver(w.Expect(true, ExchangeType.CreateChildSa, response: true));
        // B has decided and deletes (the old SA if it won, its redundant one if it lost); A answers before its response arrives.
        w.Deliver(w.Expect(false, ExchangeType.Informational, response: false));
        w.Deliver(w.Expect(true, ExchangeType.Informational, response: true));
        w.Deliver(lateForA);
        w.Flush();
        w.AssertAgree(1);
        w.AssertNoIkeSaDown();
    }

    /// <summary>
    /// strongSwan's collision_delayed_request: B's rekey request is so late that A has finished its rekey and deleted
    /// the old SA; B's request then gets TEMPORARY_FAILURE or CHILD_SA_NOT_FOUND and B gives up its rekey.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ChildRekeyCollisionDelayedRequest(bool deleteAnsweredFirst)
    {
        var w = Establish(true);
        w.Ike(true).RekeyChild(w.Now, ChildOf(w, true));
        w.Ike(false).RekeyChild(w.Now, ChildOf(w, false));
        var fromA = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        var late = w.Expect(false, ExchangeType.CreateChildSa, response: false);
        w.Deliver(fromA);
        w.Deliver(w.Expect(false, ExchangeType.CreateChildSa, response: true));
        w.Deliver(w.Expect(true, ExchangeType.Informational, response: false)); // A deletes the old SA
        var deleteAnswer = w.Expect(false, ExchangeType.Informational, response: true);
        if (deleteAnsweredFirst)
        {
            w.Deliver(deleteAnswer);
        }

        w.Deliver(late);
        var refusal = w.Expect(true, ExchangeType.CreateChildSa, response: true);
        Assert.Contains(deleteAnsweredFirst ? NotifyType.ChildSaNotFound : NotifyType.TemporaryFailure, refusal.Notifies);
        w.Deliver(refusal);
        if (!deleteAnsweredFirst)
        {
            w.Deliver(deleteAnswer);
        }

        var mark = w.Log.Count;
        w.Run(TimeSpan.FromMinutes(2));
        AssertNoCreateChildAfter(w, mark); // B's rekey is over: the SA it wanted to rekey is gone
        w.AssertAgree(1);
        w.AssertNoIkeSaDown();
    }

    /// <summary>
    /// strongSwan's collision_delete: A rekeys a CHILD SA that B is deleting. §2.25.1: B answers the rekey with
    /// TEMPORARY_FAILURE, A answers the delete as usual (with a Delete payload); A does not retry.
    /// </summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildRekeyCollidesWithDelete(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        w.Ike(aActs).RekeyChild(w.Now, ChildOf(w, aActs));
        w.Ike(!aActs).DeleteChild(w.Now, ChildOf(w, !aActs));
        var rekey = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        var delete = w.Expect(!aActs, ExchangeType.Informational, response: false);
        w.Deliver(rekey);
        var refusal = w.Expect(!aActs, ExchangeType.CreateChildSa, response: true);
        Assert.Contains(NotifyType.TemporaryFailure, refusal.Notifies);
        w.Deliver(delete);
        Assert.True(w.Expect(aActs, ExchangeType.Informational, response: true).Has<DeletePayload>());
        var mark = w.Log.Count;
        w.Flush();
        w.Deliver(refusal);
        w.Run(TimeSpan.FromMinutes(2));
        AssertNoCreateChildAfter(w, mark);
        w.AssertAgree(0);
        w.AssertNoIkeSaDown();
    }

    /// <summary>strongSwan's collision_delete_drop_delete: the delete is lost, so A retries the rekey later; the delete's retransmission removes the SA first.</summary>
    [Fact]
    public void ChildRekeyCollidesWithLostDelete()
    {
        var w = Establish(true);
        w.Ike(true).RekeyChild(w.Now, ChildOf(w, true));
        w.Ike(false).DeleteChild(w.Now, ChildOf(w, false));
        var rekey = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        w.Drop(w.Expect(false, ExchangeType.Informational, response: false));
        w.Deliver(rekey);
        w.Deliver(w.Expect(false, ExchangeType.CreateChildSa, response: true)); // TEMPORARY_FAILURE: A reschedules
        var mark = w.Log.Count;
        w.Run(TimeSpan.FromMinutes(2)); // B retransmits its delete before A's retry (5-10 s) is due
        AssertNoCreateChildAfter(w, mark);
        w.AssertAgree(0);
    }

    /// <summary>strongSwan's collision_delete_drop_rekey: the rekey arrives after the delete finished: CHILD_SA_NOT_FOUND, and A does not re-create the SA the peer deleted.</summary>
    [Fact]
    public void ChildRekeyArrivesAfterDelete()
    {
        var w = Establish(true);
        w.Ike(true).RekeyChild(w.Now, ChildOf(w, true));
        w.Ike(false).DeleteChild(w.Now, ChildOf(w, false));
        var rekey = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        w.Pass(false); // the delete
        w.Pass(true);  // its answer
        w.Deliver(rekey);
        var refusal = w.Expect(false, ExchangeType.CreateChildSa, response: true);
        Assert.Contains(NotifyType.ChildSaNotFound, refusal.Notifies);
        var mark = w.Log.Count;
        w.Deliver(refusal);
        w.Run(TimeSpan.FromMinutes(2));
        AssertNoCreateChildAfter(w, mark);
        w.AssertAgree(0);
    }

    /// <summary>
    /// strongSwan's responder_incorrect_delete: a responder deletes the old SA before its CREATE_CHILD_SA response
    /// arrives. The initiator answers the delete and still installs the new SA from the late response.
    /// </summary>
    [Theory]
    [MemberData(nameof(Initiators))]
    public void ChildRekeyResponderDeletesEarly(bool moonInitiates)
    {
        var w = Establish(moonInitiates);
        w.Ike(true).RekeyChild(w.Now, ChildOf(w, true));
        w.Pass(true);
        var response = w.Expect(false, ExchangeType.CreateChildSa, response: true);
        var oldOnB = w.Side(false).IkeSas.Single().Children.First().InboundSpi;
        Assert.True(w.Side(false).IkeSas.Single().DeleteChild(w.Now, oldOnB));
        w.Pass(false); // the early delete
        w.Pass(true);  // answered, with A's half
        w.Deliver(response);
        w.Flush();
        w.AssertAgree(1);
    }

    /// <summary>§2.25.2: a CHILD rekey crossing an IKE rekey: both get TEMPORARY_FAILURE; both retry later and succeed.</summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildRekeyCollidesWithIkeRekey(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        var old = w.AssertAgree(1).Single();
        var ikeBefore = (w.Ike(true).SpiI, w.Ike(true).SpiR);
        w.Ike(aActs).RekeyChild(w.Now, ChildOf(w, aActs));
        w.Ike(!aActs).Rekey(w.Now);
        var childRekey = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        var ikeRekey = w.Expect(!aActs, ExchangeType.CreateChildSa, response: false);
        Assert.True(ikeRekey.IsIkeRekey);
        w.Deliver(childRekey);
        w.Deliver(ikeRekey);
        Assert.Contains(NotifyType.TemporaryFailure, w.Expect(!aActs, ExchangeType.CreateChildSa, response: true) is var r1 ? r1.Notifies : []);
        Assert.Contains(NotifyType.TemporaryFailure, w.Expect(aActs, ExchangeType.CreateChildSa, response: true) is var r2 ? r2.Notifies : []);
        w.Deliver(r1);
        w.Deliver(r2);
        w.Run(TimeSpan.FromMinutes(2)); // the retries (5-10 s) may collide again; they settle
        var child = w.AssertAgree(1).Single();
        Assert.NotEqual(old.InboundSpi, child.InboundSpi);
        Assert.NotEqual(ikeBefore, (w.Ike(true).SpiI, w.Ike(true).SpiR));
        w.AssertNoIkeSaDown();
    }

    /// <summary>A CHILD rekey crossing an IKE delete: the deleting side refuses (TEMPORARY_FAILURE), the other answers the delete; all is gone.</summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildRekeyCollidesWithIkeDelete(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        w.Ike(aActs).RekeyChild(w.Now, ChildOf(w, aActs));
        w.Ike(!aActs).Terminate(w.Now);
        var rekey = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        var delete = w.Expect(!aActs, ExchangeType.Informational, response: false);
        w.Deliver(rekey);
        Assert.Contains(NotifyType.TemporaryFailure, w.Expect(!aActs, ExchangeType.CreateChildSa, response: true) is var refusal ? refusal.Notifies : []);
        w.Deliver(delete);
        w.Flush();
        w.Deliver(refusal); // arrives after the SA is gone: dropped
        w.Run(TimeSpan.FromMinutes(2));
        AssertAllGone(w);
        Assert.True(Assert.Single(w.Events(aActs).OfType<IkeSaDown>()).ClosedByPeer);
    }

    // ================================================================================= CHILD SA delete

    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildDeleteRegular(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        Assert.True(w.Ike(aActs).DeleteChild(w.Now, ChildOf(w, aActs)));
        var request = w.Expect(aActs, ExchangeType.Informational, response: false);
        Assert.Single(request.Inner.OfType<DeletePayload>());
        w.Deliver(request);
        Assert.True(w.Expect(!aActs, ExchangeType.Informational, response: true) is var answer && answer.Has<DeletePayload>());
        w.Deliver(answer);
        w.AssertAgree(0);
        w.AssertNoIkeSaDown();
    }

    /// <summary>§2.25.1: both ends delete the same CHILD SA at once: each answers without a Delete payload.</summary>
    [Theory]
    [MemberData(nameof(Initiators))]
    public void ChildDeleteCollision(bool moonInitiates)
    {
        var w = Establish(moonInitiates);
        w.Ike(true).DeleteChild(w.Now, ChildOf(w, true));
        w.Ike(false).DeleteChild(w.Now, ChildOf(w, false));
        var fromA = w.Expect(true, ExchangeType.Informational, response: false);
        var fromB = w.Expect(false, ExchangeType.Informational, response: false);
        w.Deliver(fromA);
        w.Deliver(fromB);
        var answerB = w.Expect(false, ExchangeType.Informational, response: true);
        var answerA = w.Expect(true, ExchangeType.Informational, response: true);
        Assert.False(answerB.Has<DeletePayload>());
        Assert.False(answerA.Has<DeletePayload>());
        w.Deliver(answerB);
        w.Deliver(answerA);
        w.AssertAgree(0);
        w.AssertNoIkeSaDown();
    }

    /// <summary>strongSwan's child_delete collision_drop: one of the crossing deletes is lost; its retransmission gets an empty answer.</summary>
    [Fact]
    public void ChildDeleteCollisionOneLost()
    {
        var w = Establish(true);
        w.Ike(true).DeleteChild(w.Now, ChildOf(w, true));
        w.Ike(false).DeleteChild(w.Now, ChildOf(w, false));
        w.Drop(w.Expect(true, ExchangeType.Informational, response: false));
        w.Pass(false);
        w.Pass(true);
        w.Run(TimeSpan.FromMinutes(1)); // A retransmits; B no longer knows the SA and answers without a Delete
        w.AssertAgree(0);
        w.AssertNoIkeSaDown();
    }

    /// <summary>§2.25.2: a CHILD delete crossing an IKE rekey: the delete is answered as usual, the IKE rekey gets TEMPORARY_FAILURE and is retried.</summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildDeleteCollidesWithIkeRekey(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        var ikeBefore = (w.Ike(true).SpiI, w.Ike(true).SpiR);
        w.Ike(aActs).DeleteChild(w.Now, ChildOf(w, aActs));
        w.Ike(!aActs).Rekey(w.Now);
        var delete = w.Expect(aActs, ExchangeType.Informational, response: false);
        var rekey = w.Expect(!aActs, ExchangeType.CreateChildSa, response: false);
        w.Deliver(delete);
        Assert.True(w.Expect(!aActs, ExchangeType.Informational, response: true) is var answer && answer.Has<DeletePayload>());
        w.Deliver(rekey);
        Assert.Contains(NotifyType.TemporaryFailure, w.Expect(aActs, ExchangeType.CreateChildSa, response: true) is var refusal ? refusal.Notifies : []);
        w.Deliver(answer);
        w.Deliver(refusal);
        w.Run(TimeSpan.FromMinutes(2));
        w.AssertAgree(0);
        Assert.NotEqual(ikeBefore, (w.Ike(true).SpiI, w.Ike(true).SpiR));
        w.AssertNoIkeSaDown();
    }

    /// <summary>A CHILD delete crossing an IKE delete: the IKE SA's deletion answers everything.</summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public void ChildDeleteCollidesWithIkeDelete(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        w.Ike(aActs).DeleteChild(w.Now, ChildOf(w, aActs));
        w.Ike(!aActs).Terminate(w.Now);
        var delete = w.Expect(aActs, ExchangeType.Informational, response: false);
        var ikeDelete = w.Expect(!aActs, ExchangeType.Informational, response: false);
        w.Deliver(delete);
        w.Deliver(ikeDelete);
        w.Flush();
        w.Run(TimeSpan.FromMinutes(2));
        AssertAllGone(w);
    }

    // ================================================================================= IKE SA rekeying

    [Theory]
    [MemberData(nameof(Roles))]
    public void IkeRekeyRegular(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        var child = w.AssertAgree(1).Single();
        var before = (w.Ike(true).SpiI, w.Ike(true).SpiR);
        Assert.True(w.Ike(aActs).Rekey(w.Now));
        var request = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        Assert.True(request.IsIkeRekey);
        Assert.True(request.Has<KeyExchangePayload>() && request.Has<NoncePayload>());
        w.Deliver(request);
        w.Deliver(w.Expect(!aActs, ExchangeType.CreateChildSa, response: true));
        // §2.18: the rekey's initiator deletes the old IKE SA, under the old SA.
        var delete = w.Expect(aActs, ExchangeType.Informational, response: false);
        Assert.Equal((before.SpiI, before.SpiR), (delete.Header.InitiatorSpi, delete.Header.ResponderSpi));
        Assert.Equal(ProtocolId.Ike, delete.Inner.OfType<DeletePayload>().Single().Protocol);
        w.Deliver(delete);
        w.Pass(!aActs);
        Assert.Equal(child.InboundSpi, w.AssertAgree(1).Single().InboundSpi); // the CHILD SA moved over, unchanged
        Assert.NotEqual(before, (w.Ike(true).SpiI, w.Ike(true).SpiR));
        Assert.Single(w.Events(true).OfType<IkeSaRekeyed>());
        Assert.Single(w.Events(false).OfType<IkeSaRekeyed>());
        w.AssertNoIkeSaDown();
    }

    /// <summary>The responder insists on its preferred group for the new IKE SA: INVALID_KE_PAYLOAD, then a retry with it.</summary>
    [Fact]
    public void IkeRekeyInvalidKe()
    {
        var w = Establish(true, s => (s.MoonIke, s.SunIke) = ("aes256gcm16-prfsha256-x25519-ecp256", "aes256gcm16-prfsha256-ecp256-x25519"));
        w.Ike(true).Rekey(w.Now);
        var first = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        Assert.Equal(KeId.Curve25519, first.Inner.OfType<KeyExchangePayload>().Single().Group);
        w.Deliver(first);
        var refusal = w.Expect(false, ExchangeType.CreateChildSa, response: true);
        Assert.Contains(NotifyType.InvalidKePayload, refusal.Notifies);
        w.Deliver(refusal);
        var retry = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        Assert.Equal(KeId.Ecp256, retry.Inner.OfType<KeyExchangePayload>().Single().Group);
        w.Deliver(retry);
        w.Flush();
        w.AssertAgree(1);
        Assert.Equal(KeId.Ecp256, w.Ike(true).Suite!.KeyExchange);
    }

    /// <summary>
    /// §2.8.2: both ends rekey the IKE SA at once. Two new IKE SAs result; the one made with the lowest nonce is
    /// deleted by its creator, the other inherits the CHILD SAs and its creator deletes the old SA. Over several
    /// seeds both outcomes occur, and either way the two ends agree, with no IkeSaDown.
    /// </summary>
    [Fact]
    public void IkeRekeyCollision()
    {
        var winners = new HashSet<bool>();
        for (var seed = 1; seed <= 12; seed++)
        {
            foreach (var moonInitiates in new[] { true, false })
            {
                var w = Establish(moonInitiates, seed: seed);
                var child = w.AssertAgree(1).Single();
                w.A.Entropy.Fill(new byte[seed * 5]); // seeded streams of nearby seeds are correlated: shift A's
                w.Ike(true).Rekey(w.Now);
                w.Ike(false).Rekey(w.Now);
                var fromA = w.Expect(true, ExchangeType.CreateChildSa, response: false);
                var fromB = w.Expect(false, ExchangeType.CreateChildSa, response: false);
                w.Deliver(fromA);
                w.Deliver(fromB);
                Assert.DoesNotContain(NotifyType.TemporaryFailure, w.Expect(false, ExchangeType.CreateChildSa, response: true) is var toA ? toA.Notifies : []);
                Assert.DoesNotContain(NotifyType.TemporaryFailure, w.Expect(true, ExchangeType.CreateChildSa, response: true) is var toB ? toB.Notifies : []);
                w.Deliver(toA);
                w.Deliver(toB);
                w.Flush();
                Assert.Equal(child.InboundSpi, w.AssertAgree(1).Single().InboundSpi);
                var aSpi = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(fromA.Inner.OfType<SecurityAssociationPayload>().Single().Proposals[0].Spi.Span);
                winners.Add(w.Ike(true).SpiI == aSpi);
                Assert.Contains(w.Events(true).OfType<Alert>(), a => a.Message.StartsWith(w.Ike(true).SpiI == aSpi ? "IKE SA rekey collision won" : "IKE SA rekey collision lost", StringComparison.Ordinal));
                static byte[] N(WireMessage m) => m.Inner.OfType<NoncePayload>().Single().Nonce.ToArray();
                static byte[] Low(byte[] x, byte[] y) => x.AsSpan().SequenceCompareTo(y) <= 0 ? x : y;
                var aLoses = Low(N(fromA), N(toA)).AsSpan().SequenceCompareTo(Low(N(fromB), N(toB))) < 0;
                Assert.True(aLoses != (w.Ike(true).SpiI == aSpi), $"A's rekey SA {(aLoses ? "has" : "does not have")} the lowest nonce but {(aLoses ? "survived" : "was deleted")}");
                Assert.Single(w.Events(true).OfType<IkeSaRekeyed>());
                Assert.Single(w.Events(false).OfType<IkeSaRekeyed>());
                w.AssertNoIkeSaDown();
                w.Run(TimeSpan.FromMinutes(3)); // nothing left over times out or goes down later
                w.AssertAgree(1);
                w.AssertNoIkeSaDown();
            }
        }

        Assert.True(winners.Count == 2, "winners: " + string.Join(",", winners));
    }

    /// <summary>An IKE rekey collision where B decides and deletes (old or redundant SA) before A has its response.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void IkeRekeyCollisionDelayedResponse(int seed)
    {
        var w = Establish(true, seed: seed);
        w.A.Entropy.Fill(new byte[seed * 5]);
        w.Ike(true).Rekey(w.Now);
        w.Ike(false).Rekey(w.Now);
        var fromA = w.Expect(true, ExchangeType.CreateChildSa, response: false);
        var fromB = w.Expect(false, ExchangeType.CreateChildSa, response: false);
        w.Deliver(fromA);
        w.Deliver(fromB);
        var lateForA = w.Expect(false, ExchangeType.CreateChildSa, response: true);
        w.Deliver(w.Expect(true, ExchangeType.CreateChildSa, response: true));
        w.Pass(false); // B's delete (of the old SA if it won, of its redundant SA if it lost)
        w.Flush();
        w.Deliver(lateForA);
        w.Run(TimeSpan.FromMinutes(3));
        w.AssertAgree(1);
        w.AssertNoIkeSaDown();
        Assert.Single(w.Events(true).OfType<IkeSaRekeyed>());
        Assert.Single(w.Events(false).OfType<IkeSaRekeyed>());
    }

    /// <summary>strongSwan's ike_rekey collision_dropped_request: A's request is lost, B's rekey completes, and A follows it.</summary>
    [Theory]
    [MemberData(nameof(Initiators))]
    public void IkeRekeyCollisionDroppedRequest(bool moonInitiates)
    {
        var w = Establish(moonInitiates);
        var before = (w.Ike(true).SpiI, w.Ike(true).SpiR);
        w.Ike(true).Rekey(w.Now);
        w.Ike(false).Rekey(w.Now);
        w.Drop(w.Expect(true, ExchangeType.CreateChildSa, response: false));
        var fromB = w.Expect(false, ExchangeType.CreateChildSa, response: false);
        w.Deliver(fromB);
        w.Run(TimeSpan.FromMinutes(3));
        w.AssertAgree(1);
        var bSpi = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(fromB.Inner.OfType<SecurityAssociationPayload>().Single().Proposals[0].Spi.Span);
        Assert.NotEqual(before, (w.Ike(true).SpiI, w.Ike(true).SpiR));
        Assert.Contains(bSpi, new[] { w.Ike(true).SpiI, w.Ike(true).SpiR });
        w.AssertNoIkeSaDown();
    }

    /// <summary>An IKE rekey crossing an IKE delete: the delete wins (TEMPORARY_FAILURE for the rekey), both SAs are gone.</summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public void IkeRekeyCollidesWithIkeDelete(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        w.Ike(aActs).Rekey(w.Now);
        w.Ike(!aActs).Terminate(w.Now);
        var rekey = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        var delete = w.Expect(!aActs, ExchangeType.Informational, response: false);
        w.Deliver(rekey);
        Assert.Contains(NotifyType.TemporaryFailure, w.Expect(!aActs, ExchangeType.CreateChildSa, response: true) is var refusal ? refusal.Notifies : []);
        w.Deliver(delete);
        w.Flush();
        w.Deliver(refusal);
        w.Run(TimeSpan.FromMinutes(2));
        AssertAllGone(w);
        Assert.Empty(w.Events(true).OfType<IkeSaRekeyed>());
        Assert.Empty(w.Events(false).OfType<IkeSaRekeyed>());
        Assert.True(Assert.Single(w.Events(aActs).OfType<IkeSaDown>()).ClosedByPeer);
    }

    /// <summary>§2.25.1: an IKE rekey arriving while the responder is creating a CHILD SA gets TEMPORARY_FAILURE; both complete afterwards.</summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public void IkeRekeyCollidesWithChildCreate(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        var config = w.Ike(aActs).Config.Children.Single(c => c.Name == "net2");
        w.Ike(aActs).CreateChild(w.Now, config);
        w.Ike(!aActs).Rekey(w.Now);
        var create = w.Expect(aActs, ExchangeType.CreateChildSa, response: false);
        var rekey = w.Expect(!aActs, ExchangeType.CreateChildSa, response: false);
        w.Deliver(create);
        w.Deliver(rekey);
        Assert.Contains(NotifyType.TemporaryFailure, w.Expect(!aActs, ExchangeType.CreateChildSa, response: true) is var r1 ? r1.Notifies : []);
        Assert.Contains(NotifyType.TemporaryFailure, w.Expect(aActs, ExchangeType.CreateChildSa, response: true) is var r2 ? r2.Notifies : []);
        w.Deliver(r1);
        w.Deliver(r2);
        w.Run(TimeSpan.FromMinutes(2));
        w.AssertAgree(1); // the CHILD SA creation was refused (a new one is not retried automatically) and the IKE SA rekeyed
        Assert.Single(w.Events(true).OfType<IkeSaRekeyed>());
    }

    // ================================================================================= IKE SA delete

    [Theory]
    [MemberData(nameof(Roles))]
    public void IkeDeleteRegular(bool moonInitiates, bool aActs)
    {
        var w = Establish(moonInitiates);
        w.Ike(aActs).Terminate(w.Now);
        var delete = w.Expect(aActs, ExchangeType.Informational, response: false);
        Assert.Equal(ProtocolId.Ike, delete.Inner.OfType<DeletePayload>().Single().Protocol);
        w.Deliver(delete);
        var answer = w.Expect(!aActs, ExchangeType.Informational, response: true);
        Assert.Empty(answer.Inner);
        Assert.Empty(w.Side(!aActs).IkeSas);
        w.Deliver(answer);
        Assert.Empty(w.Side(aActs).IkeSas);
        Assert.True(Assert.Single(w.Events(!aActs).OfType<IkeSaDown>()).ClosedByPeer);
        Assert.False(Assert.Single(w.Events(aActs).OfType<IkeSaDown>()).ClosedByPeer);
        Assert.Empty(Wire.Live(w.Events(true)));
        Assert.Empty(Wire.Live(w.Events(false)));
    }

    /// <summary>Both ends delete the IKE SA at once: each answers the other's delete and is gone; the late answers are dropped.</summary>
    [Theory]
    [MemberData(nameof(Initiators))]
    public void IkeDeleteCollision(bool moonInitiates)
    {
        var w = Establish(moonInitiates);
        w.Ike(true).Terminate(w.Now);
        w.Ike(false).Terminate(w.Now);
        var fromA = w.Expect(true, ExchangeType.Informational, response: false);
        var fromB = w.Expect(false, ExchangeType.Informational, response: false);
        w.Deliver(fromA);
        w.Deliver(fromB);
        w.Flush();
        w.Run(TimeSpan.FromMinutes(2));
        AssertAllGone(w);
        Assert.Single(w.Events(true).OfType<IkeSaDown>());
        Assert.Single(w.Events(false).OfType<IkeSaDown>());
    }
}
