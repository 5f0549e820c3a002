using Oakley.Crypto.Registry;
using Oakley.Engine.Rules;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// The payload rules at the receive points, end to end: a protected request that breaks them is answered with
/// INVALID_SYNTAX and its IKE SA is gone (RFC 7296 §2.21.2, §3.10.1); a protected response fails its exchange; an
/// IKE_SA_INIT request is answered unprotected and an IKE_SA_INIT response dropped; each is counted. Moon (A)
/// initiates; the peer's messages are forged with the SAs' own keys.
/// </summary>
public class PayloadRuleEnforcementTests
{
    private static readonly byte[] Spi4 = [0x0a, 0x0b, 0x0c, 0x0d];

    private static EnginePair Established()
    {
        var pair = new Scenario().Build();
        pair.Initiate(true);
        Assert.Equal(IkeSaState.Established, pair.B.IkeSas.Single().State);
        return pair;
    }

    private static SecurityAssociationPayload EspSa() => ProposalNegotiation.ToPayload([ProposalString.Parse("aes128gcm16", ProtocolId.Esp)], Spi4);

    private static TrafficSelectorPayload Ts(bool initiator) =>
        new(initiator, [TrafficSelector.Ip(0, 0, 65535, new byte[] { 192, 0, 2, 0 }, new byte[] { 192, 0, 2, 255 })]);

    public static TheoryData<string, ExchangeType, string> BadRequests => new()
    {
        { "CREATE_CHILD_SA without a nonce", ExchangeType.CreateChildSa, "CreateChild request lacks Nonce" },
        { "CREATE_CHILD_SA with two nonces", ExchangeType.CreateChildSa, "CreateChild request carries more than one Nonce" },
        { "IKE rekey with traffic selectors", ExchangeType.CreateChildSa, "RekeyIke request carries TrafficSelectorInitiator" },
        { "INFORMATIONAL with an SA payload", ExchangeType.Informational, "Informational request carries SecurityAssociation" },
        { "SKF inside SK", ExchangeType.Informational, "inside the Encrypted payload" },
    };

    private static List<IkePayload> Payloads(string name) => name switch
    {
        "CREATE_CHILD_SA without a nonce" => [EspSa(), Ts(true), Ts(false)],
        "CREATE_CHILD_SA with two nonces" => [EspSa(), new NoncePayload(new byte[32]), new NoncePayload(new byte[32]), Ts(true), Ts(false)],
        "IKE rekey with traffic selectors" => [ProposalNegotiation.ToPayload([ProposalString.Parse("aes128gcm16-prfsha256-x25519", ProtocolId.Ike)], new byte[8], KeId.Curve25519),
            new NoncePayload(new byte[32]), new KeyExchangePayload(KeId.Curve25519, new byte[32]), Ts(true)],
        "INFORMATIONAL with an SA payload" => [EspSa()],
        _ => [new NotifyPayload(NotifyType.InitialContact), new EncryptedFragmentPayload(PayloadType.Notify, 1, 2, new byte[24])],
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void AProtectedRequestThatBreaksTheRules_GetsInvalidSyntax_IsCounted_AndLeavesNoState(string name, ExchangeType exchange, string reason)
    {
        var pair = Established();
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        Assert.Single(sun.Children);
        var header = new IkeMessage { InitiatorSpi = moon.SpiI, ResponderSpi = moon.SpiR, ExchangeType = exchange, Flags = IkeHeaderFlags.Initiator, MessageId = 2 };
        var forged = moon.Keys!.Protect(header, Payloads(name), true, new SeededEntropy(3));

        pair.B.HandleDatagram(pair.Now, sun.Local, sun.Remote, forged);

        // RFC 7296 §3.10.1: the answer is INVALID_SYNTAX, in the protected response with the request's message ID.
        Assert.True(pair.B.TryPollTransmit(out var answer));
        var m = IkeMessage.Decode(answer.Datagram);
        Assert.Equal((exchange, true, 2u), (m.ExchangeType, m.IsResponse, m.MessageId));
        var notify = Assert.IsType<NotifyPayload>(Assert.Single(moon.Keys.Unprotect(answer.Datagram, m, false)));
        Assert.Equal(NotifyType.InvalidSyntax, notify.NotifyType);
        Assert.False(pair.B.TryPollTransmit(out _));

        // Counted, reported, and the IKE SA is deleted without a Delete (§2.21.2), with its CHILD SA.
        Assert.Equal(1, pair.B.Stats.PayloadRuleViolations);
        Assert.Equal(1, pair.B.Stats.Dropped.GetValueOrDefault("InvalidSyntax"));
        Assert.Empty(pair.B.IkeSas);
        Assert.True(pair.B.IndexesConsistent);
        pair.Deliver();
        Assert.Contains(pair.EventsB.OfType<Alert>(), a => a.Message.Contains(reason, StringComparison.Ordinal));
        Assert.Empty(Wire.Live(pair.EventsB));
        Assert.Contains(pair.EventsB.OfType<IkeSaDown>(), d => d.Reason.Contains("payload rules", StringComparison.Ordinal));
        Assert.Equal(0, pair.A.Stats.PayloadRuleViolations);
    }

    [Fact]
    public void AnIkeAuthRequestWithoutIdi_KeepsItsAnswer_AuthenticationFailed_NotARuleViolation()
    {
        // The table leaves IDi and AUTH to the authentication (EAP rounds omit them, RFC 7296 §2.16), which answers
        // AUTHENTICATION_FAILED (§2.21.2) as before the rules existed.
        var pair = new Scenario().Build();
        pair.Filter = (fromA, t) => !fromA || IkeMessage.Decode(t.Datagram).ExchangeType == ExchangeType.IkeSaInit ? 1 : 0;
        pair.A.Initiate(pair.Now, "moon-sun");
        pair.Deliver();
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        var header = new IkeMessage { InitiatorSpi = moon.SpiI, ResponderSpi = moon.SpiR, ExchangeType = ExchangeType.IkeAuth, Flags = IkeHeaderFlags.Initiator, MessageId = 1 };
        var forged = moon.Keys!.Protect(header, [new AuthenticationPayload(AuthMethod.SharedKeyMessageIntegrityCode, new byte[32]), EspSa(), Ts(true), Ts(false)], true, new SeededEntropy(6));

        pair.B.HandleDatagram(pair.Now, sun.Local, sun.Remote, forged);

        Assert.True(pair.B.TryPollTransmit(out var answer));
        var notify = Assert.IsType<NotifyPayload>(Assert.Single(moon.Keys.Unprotect(answer.Datagram, IkeMessage.Decode(answer.Datagram), false)));
        Assert.Equal(NotifyType.AuthenticationFailed, notify.NotifyType);
        Assert.Equal(0, pair.B.Stats.PayloadRuleViolations);
        Assert.Empty(pair.B.IkeSas);
    }

    [Fact]
    public void AProtectedCreateChildResponseWithoutNonce_FailsTheExchange_AndTheIkeSaCarriesOn()
    {
        var pair = Established();
        pair.Filter = (fromA, t) => fromA || IkeMessage.Decode(t.Datagram).ExchangeType != ExchangeType.CreateChildSa ? 1 : 0;
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        var moon = pair.A.IkeSas.Single();
        var sun = pair.B.IkeSas.Single();
        var header = new IkeMessage { InitiatorSpi = sun.SpiI, ResponderSpi = sun.SpiR, ExchangeType = ExchangeType.CreateChildSa, Flags = IkeHeaderFlags.Response, MessageId = 2 };
        var forged = sun.Keys!.Protect(header, [EspSa(), Ts(true), Ts(false)], false, new SeededEntropy(4));

        pair.A.HandleDatagram(pair.Now, moon.Local, moon.Remote, forged);
        pair.Deliver();

        Assert.Equal(1, pair.A.Stats.PayloadRuleViolations);
        var failed = Assert.Single(pair.EventsA.OfType<ChildSaFailed>());
        Assert.Equal("net2", failed.ChildName);
        Assert.Contains("InvalidSyntax", failed.Reason, StringComparison.Ordinal);
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("CreateChild response lacks Nonce", StringComparison.Ordinal));
        Assert.Equal(IkeSaState.Established, moon.State);
        Assert.Single(moon.Children);

        // The window is free again: the IKE SA still works.
        pair.Filter = (_, _) => 1;
        Assert.True(moon.SendLivenessCheck(pair.Now));
        pair.Deliver();
        Assert.EndsWith("INFORMATIONAL response #3 [EncryptedAndAuthenticated]", pair.Log[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void AnIkeSaInitRequestWithoutKe_IsAnsweredUnprotectedWithInvalidSyntax_WithoutState()
    {
        var pair = new Scenario().Build();
        var request = new IkeMessage { InitiatorSpi = 0x1122334455667788, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Initiator };
        request.Payloads.Add(ProposalNegotiation.ToPayload([ProposalString.Parse("aes128gcm16-prfsha256-x25519", ProtocolId.Ike)], default, KeId.Curve25519));
        request.Payloads.Add(new NoncePayload(new byte[32]));

        pair.B.HandleDatagram(pair.Now, Scenario.SunAddress, Scenario.MoonAddress, request.Encode());

        Assert.True(pair.B.TryPollTransmit(out var answer));
        var m = IkeMessage.Decode(answer.Datagram);
        Assert.Equal((ExchangeType.IkeSaInit, true), (m.ExchangeType, m.IsResponse));
        Assert.Equal(NotifyType.InvalidSyntax, Assert.IsType<NotifyPayload>(Assert.Single(m.Payloads)).NotifyType);
        Assert.Equal(1, pair.B.Stats.PayloadRuleViolations);
        Assert.Equal(1, pair.B.Stats.Dropped.GetValueOrDefault("InvalidSyntax"));
        Assert.Empty(pair.B.IkeSas);
        Assert.Equal(0, pair.B.HalfOpenCount);
    }

    [Fact]
    public void AnIkeSaInitResponseWithTwoSaPayloads_IsDropped_AndTheRetransmissionCompletes()
    {
        var pair = new Scenario().Build();
        var realResponses = 0;
        pair.Filter = (fromA, t) => fromA || realResponses++ > 0 ? 1 : 0; // sun's first answer is lost
        pair.A.Initiate(pair.Now, "moon-sun");
        pair.Deliver();
        var moon = pair.A.IkeSas.Single();
        var forged = new IkeMessage { InitiatorSpi = moon.SpiI, ResponderSpi = 0x0102030405060708, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Response };
        var sa = ProposalNegotiation.ToPayload([ProposalString.Parse("aes256gcm16-prfsha256-x25519", ProtocolId.Ike)], default, KeId.Curve25519);
        forged.Payloads.AddRange([sa, sa, new KeyExchangePayload(KeId.Curve25519, new byte[32]), new NoncePayload(new byte[32])]);

        pair.A.HandleDatagram(pair.Now, moon.Local, moon.Remote, forged.Encode());

        Assert.Equal(1, pair.A.Stats.PayloadRuleViolations);
        Assert.Equal(1, pair.A.Stats.Dropped.GetValueOrDefault("payload rules"));
        Assert.False(pair.A.TryPollTransmit(out _));
        Assert.Equal(IkeSaState.Connecting, moon.State);
        pair.RunUntilIdle(TimeSpan.FromSeconds(10));
        Assert.Equal(IkeSaState.Established, moon.State);
    }

    [Fact]
    public void TheHarnessChecksEveryBuiltMessage_FragmentsReassembled_AndFailsOnAViolation()
    {
        var settings = new EngineSettings { FragmentSize = 200 };
        var pair = new Scenario { MoonSettings = settings, SunSettings = settings }.Build();
        var watch = new PayloadRuleWatch(pair.A, pair.B);
        var fragments = 0;
        pair.Inspect += (_, d) => fragments += IkeMessage.Decode(d).Payloads is [.., EncryptedFragmentPayload] ? 1 : 0;
        pair.Inspect += watch.Inspect;
        pair.Initiate(true);
        Assert.True(fragments > 2, $"{fragments} fragments");
        Assert.True(watch.Checked >= 4, $"{watch.Checked} messages checked"); // IKE_SA_INIT and IKE_AUTH, both ways

        var moon = pair.A.IkeSas.Single();
        var header = new IkeMessage { InitiatorSpi = moon.SpiI, ResponderSpi = moon.SpiR, ExchangeType = ExchangeType.CreateChildSa, Flags = IkeHeaderFlags.Initiator, MessageId = 2 };
        var broken = moon.Keys!.Protect(header, [EspSa(), Ts(true), Ts(false)], true, new SeededEntropy(5));
        var e = Assert.ThrowsAny<Exception>(() => watch.Inspect(true, broken));
        Assert.Contains("lacks Nonce", e.Message, StringComparison.Ordinal);
        var good = moon.Keys.Protect(header, [EspSa(), new NoncePayload(new byte[32]), Ts(true), Ts(false)], true, new SeededEntropy(5));
        watch.Inspect(true, good);
    }
}
