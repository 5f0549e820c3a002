using Oakley.Engine.Rules;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tests;

/// <summary>
/// The payload rules, table by table (RFC 7296 §1.2–§1.5, §2.21, §3): for each exchange and direction a well-formed
/// message passes; without each required payload, with a second copy of each non-repeatable one and with a payload
/// the message may not carry it fails with that payload named and the RFC's answer; error answers stand in for the
/// required payloads of a response.
/// </summary>
public class PayloadRuleCheckTests
{
    private static readonly byte[] Spi4 = [1, 2, 3, 4];

    private static SecurityAssociationPayload Sa(ProtocolId protocol) => new(
    [
        new Proposal(1, protocol, protocol == ProtocolId.Ike ? new byte[8] : Spi4, [new Transform(TransformType.Encryption, 20, null)]),
    ]);

    private static TrafficSelectorPayload Ts(bool initiator) =>
        new(initiator, [TrafficSelector.Ip(0, 0, 65535, new byte[] { 192, 0, 2, 0 }, new byte[] { 192, 0, 2, 255 })]);

    private static IkePayload Make(PayloadType type) => type switch
    {
        PayloadType.SecurityAssociation => Sa(ProtocolId.Esp),
        PayloadType.KeyExchange => new KeyExchangePayload(KeId.Modp2048, new byte[256]),
        PayloadType.Nonce => new NoncePayload(new byte[32]),
        PayloadType.IdentificationInitiator => new IdentificationPayload(true, IdentificationType.Fqdn, "moon.example"u8.ToArray()),
        PayloadType.IdentificationResponder => new IdentificationPayload(false, IdentificationType.Fqdn, "sun.example"u8.ToArray()),
        PayloadType.Authentication => new AuthenticationPayload(AuthMethod.SharedKeyMessageIntegrityCode, new byte[32]),
        PayloadType.TrafficSelectorInitiator => Ts(true),
        PayloadType.TrafficSelectorResponder => Ts(false),
        PayloadType.CertificateRequest => new CertificateRequestPayload(CertificateEncoding.Pkcs7WrappedX509, new byte[20]),
        PayloadType.Delete => DeletePayload.ForChildSas(ProtocolId.Esp, [0x11111111u]),
        PayloadType.VendorId => new VendorIdPayload(new byte[16]),
        PayloadType.Notify => new NotifyPayload(NotifyType.NatDetectionSourceIp, new byte[20]),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>A well-formed message of each kind and direction, as RFC 7296 draws it (with Notify and Vendor ID payloads twice).</summary>
    private static List<IkePayload> Good(MessageKind kind, bool response)
    {
        List<IkePayload> payloads = kind switch
        {
            MessageKind.IkeSaInit => [Sa(ProtocolId.Ike), Make(PayloadType.KeyExchange), Make(PayloadType.Nonce)],
            MessageKind.IkeAuth when !response => [Make(PayloadType.IdentificationInitiator), Make(PayloadType.Authentication), Sa(ProtocolId.Esp), Ts(true), Ts(false)],
            MessageKind.IkeAuth => [Make(PayloadType.IdentificationResponder), Make(PayloadType.Authentication), Sa(ProtocolId.Esp), Ts(true), Ts(false)],
            MessageKind.CreateChild or MessageKind.RekeyChild => [Sa(ProtocolId.Esp), Make(PayloadType.Nonce), Make(PayloadType.KeyExchange), Ts(true), Ts(false)],
            MessageKind.RekeyIke => [Sa(ProtocolId.Ike), Make(PayloadType.Nonce), Make(PayloadType.KeyExchange)],
            _ => [Make(PayloadType.Delete), Make(PayloadType.Delete)],
        };
        if (kind == MessageKind.RekeyChild && !response)
        {
            payloads.Insert(0, new NotifyPayload(ProtocolId.Esp, Spi4, NotifyType.RekeySa, default));
        }

        payloads.AddRange([Make(PayloadType.Notify), Make(PayloadType.Notify), Make(PayloadType.VendorId), Make(PayloadType.VendorId)]);
        return payloads;
    }

    public static TheoryData<MessageKind, bool> Messages()
    {
        var data = new TheoryData<MessageKind, bool>();
        foreach (var kind in Enum.GetValues<MessageKind>())
        {
            data.Add(kind, false);
            data.Add(kind, true);
        }

        return data;
    }

    private static ExchangeType ExchangeOf(MessageKind kind) => kind switch
    {
        MessageKind.IkeSaInit => ExchangeType.IkeSaInit,
        MessageKind.IkeAuth => ExchangeType.IkeAuth,
        MessageKind.Informational => ExchangeType.Informational,
        _ => ExchangeType.CreateChildSa,
    };

    private static PayloadRuleAnswer AnswerOf(MessageKind kind, bool response) =>
        !response ? PayloadRuleAnswer.InvalidSyntax : kind == MessageKind.IkeSaInit ? PayloadRuleAnswer.Drop : PayloadRuleAnswer.FailExchange;

    /// <summary>Checks as the engine does: requests (and the harness's responses) classified by their payloads, CREATE_CHILD_SA responses as what was asked.</summary>
    private static PayloadRuleVerdict Check(MessageKind kind, bool response, List<IkePayload> payloads) =>
        PayloadRuleCheck.Check(ExchangeOf(kind), response, payloads, response ? kind : null);

    [Theory]
    [MemberData(nameof(Messages))]
    public void AWellFormedMessage_Passes(MessageKind kind, bool response)
    {
        var payloads = Good(kind, response);
        var verdict = Check(kind, response, payloads);
        Assert.True(verdict.IsOk, verdict.ToString());
        Assert.Equal(PayloadRuleAnswer.None, verdict.Answer);
        // A response is classified by its payloads too (as the test harness does): a CHILD SA rekey's has no REKEY_SA.
        Assert.Equal(kind == MessageKind.RekeyChild && response ? MessageKind.CreateChild : kind, PayloadRules.Classify(ExchangeOf(kind), payloads));
        Assert.True(PayloadRuleCheck.Check(ExchangeOf(kind), response, payloads).IsOk);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void EachRequiredPayload_Removed_Fails_NamingIt_WithTheRfcAnswer(MessageKind kind, bool response)
    {
        var rules = PayloadRules.For(kind, response);
        var required = rules.Payloads.Where(r => r.Required).Select(r => r.Type).ToList();
        foreach (var type in required)
        {
            var payloads = Good(kind, response).Where(p => p.Type != type).ToList();
            var verdict = Check(kind, response, payloads);
            Assert.Equal((PayloadViolation.Missing, type), (verdict.Violation, verdict.Payload));
            Assert.Equal(AnswerOf(kind, response), verdict.Answer);
            Assert.Contains($"lacks {type}", verdict.ToString(), StringComparison.Ordinal);
        }

        // The tables require what RFC 7296 draws (IKE_AUTH's IDi, IDr and AUTH are left to the authentication, whose
        // EAP rounds carry them in some messages only, §2.16).
        var expected = (kind, response) switch
        {
            (MessageKind.IkeSaInit, _) => new[] { PayloadType.SecurityAssociation, PayloadType.KeyExchange, PayloadType.Nonce },
            (MessageKind.IkeAuth, false) => [],
            (MessageKind.IkeAuth, true) => [],
            (MessageKind.CreateChild or MessageKind.RekeyChild, _) => [PayloadType.SecurityAssociation, PayloadType.Nonce, PayloadType.TrafficSelectorInitiator, PayloadType.TrafficSelectorResponder],
            (MessageKind.RekeyIke, _) => [PayloadType.SecurityAssociation, PayloadType.Nonce, PayloadType.KeyExchange],
            _ => [],
        };
        Assert.Equal(expected.Order(), required.Order());
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void ASecondCopyOfANonRepeatablePayload_Fails(MessageKind kind, bool response)
    {
        var good = Good(kind, response);
        var once = PayloadRules.For(kind, response).Payloads.Where(r => !r.Repeatable).Select(r => r.Type).ToHashSet();
        var tested = 0;
        foreach (var p in good.Where(p => once.Contains(p.Type)))
        {
            var payloads = good.Append(p).ToList();
            var verdict = Check(kind, response, payloads);
            Assert.Equal((PayloadViolation.Repeated, p.Type), (verdict.Violation, verdict.Payload));
            Assert.Equal(AnswerOf(kind, response), verdict.Answer);
            tested++;
        }

        Assert.Equal(kind != MessageKind.Informational, tested > 0);
    }

    [Theory]
    [InlineData(MessageKind.IkeSaInit, false, PayloadType.CertificateRequest)] // only the responder asks for certificates (§1.2)
    [InlineData(MessageKind.IkeSaInit, true, PayloadType.IdentificationResponder)]
    [InlineData(MessageKind.IkeAuth, false, PayloadType.KeyExchange)] // the first CHILD SA has no KE (§1.2)
    [InlineData(MessageKind.IkeAuth, true, PayloadType.Nonce)]
    [InlineData(MessageKind.CreateChild, false, PayloadType.Authentication)]
    [InlineData(MessageKind.CreateChild, true, PayloadType.Delete)]
    [InlineData(MessageKind.RekeyIke, false, PayloadType.TrafficSelectorInitiator)] // §1.3.2: SA, Ni, KEi only
    [InlineData(MessageKind.RekeyIke, true, PayloadType.TrafficSelectorResponder)]
    [InlineData(MessageKind.Informational, false, PayloadType.SecurityAssociation)]
    [InlineData(MessageKind.Informational, true, PayloadType.Nonce)]
    public void APayloadTheMessageMayNotCarry_Fails(MessageKind kind, bool response, PayloadType extra)
    {
        var payloads = Good(kind, response).Append(Make(extra)).ToList();
        var verdict = Check(kind, response, payloads);
        Assert.Equal((PayloadViolation.NotAllowed, extra), (verdict.Violation, verdict.Payload));
        Assert.Equal(AnswerOf(kind, response), verdict.Answer);
    }

    [Theory]
    [InlineData(ExchangeType.IkeAuth)]
    [InlineData(ExchangeType.CreateChildSa)]
    [InlineData(ExchangeType.Informational)]
    public void SkOrSkfInsideSk_IsRefused(ExchangeType exchange)
    {
        foreach (var inner in new IkePayload[] { new EncryptedFragmentPayload(PayloadType.Notify, 1, 2, new byte[16]), new EncryptedPayload(PayloadType.Notify, new byte[16]) })
        {
            var verdict = PayloadRuleCheck.Check(exchange, false, [new NotifyPayload(NotifyType.InitialContact), inner]);
            Assert.Equal((PayloadViolation.Misplaced, inner.Type), (verdict.Violation, verdict.Payload));
            Assert.Equal(PayloadRuleAnswer.InvalidSyntax, verdict.Answer);
        }

        // IKE_SA_INIT is never protected (RFC 7296 §1.2) nor fragmented (RFC 7383 §2.5).
        var init = PayloadRuleCheck.Check(ExchangeType.IkeSaInit, false, [.. Good(MessageKind.IkeSaInit, false), new EncryptedPayload(PayloadType.Notify, new byte[16])]);
        Assert.Equal(PayloadViolation.NotAllowed, init.Violation);
    }

    public static TheoryData<MessageKind, NotifyType> ErrorAnswers => new()
    {
        { MessageKind.IkeSaInit, NotifyType.NoProposalChosen },
        { MessageKind.IkeSaInit, NotifyType.InvalidKePayload },
        { MessageKind.IkeSaInit, NotifyType.Cookie },
        { MessageKind.IkeAuth, NotifyType.AuthenticationFailed },
        { MessageKind.CreateChild, NotifyType.NoProposalChosen },
        { MessageKind.CreateChild, NotifyType.TsUnacceptable },
        { MessageKind.CreateChild, NotifyType.InvalidKePayload },
        { MessageKind.RekeyChild, NotifyType.ChildSaNotFound },
        { MessageKind.RekeyChild, NotifyType.TemporaryFailure },
        { MessageKind.RekeyIke, NotifyType.TemporaryFailure },
        { MessageKind.RekeyIke, NotifyType.NoAdditionalSas },
        { MessageKind.Informational, NotifyType.InvalidSyntax },
    };

    [Theory]
    [MemberData(nameof(ErrorAnswers))]
    public void AResponseThatIsAnErrorNotify_NeedsNoRequiredPayloads(MessageKind kind, NotifyType error)
    {
        var verdict = Check(kind, true, [new NotifyPayload(error)]);
        Assert.True(verdict.IsOk, verdict.ToString());

        // The same notify does not make a request complete; a status notify other than COOKIE does not answer.
        if (PayloadRules.For(kind, false).Payloads.Any(r => r.Required))
        {
            Assert.Equal(PayloadViolation.Missing, PayloadRuleCheck.Check(ExchangeOf(kind), false, [new NotifyPayload(error)]).Violation);
        }

        if (PayloadRules.For(kind, true).Payloads.Any(r => r.Required))
        {
            Assert.Equal(PayloadViolation.Missing, Check(kind, true, [new NotifyPayload(NotifyType.UseTransportMode)]).Violation);
        }
    }

    [Fact]
    public void Cookie_AnswersOnlyIkeSaInit_AndAnErrorDoesNotExcuseAnExtraPayload()
    {
        Assert.Equal((PayloadViolation.Missing, PayloadType.SecurityAssociation), Verdict(Check(MessageKind.CreateChild, true, [new NotifyPayload(NotifyType.Cookie)])));
        var errorWithDuplicate = Check(MessageKind.IkeAuth, true, [new NotifyPayload(NotifyType.AuthenticationFailed), Make(PayloadType.Authentication), Make(PayloadType.Authentication)]);
        Assert.Equal((PayloadViolation.Repeated, PayloadType.Authentication), Verdict(errorWithDuplicate));
        Assert.Equal((PayloadViolation.NotAllowed, PayloadType.Delete), Verdict(Check(MessageKind.IkeSaInit, true, [new NotifyPayload(NotifyType.Cookie), Make(PayloadType.Delete)])));

        static (PayloadViolation, PayloadType) Verdict(PayloadRuleVerdict v) => (v.Violation, v.Payload);
    }

    [Fact]
    public void NotifyVendorIdAndDelete_AreRepeatable_AndEmptyInformationalIsALivenessCheck()
    {
        Assert.All(PayloadRules.All, rules =>
        {
            Assert.True(rules.Find(PayloadType.Notify)!.Value.Repeatable);
            Assert.True(rules.Find(PayloadType.VendorId)!.Value.Repeatable);
        });
        Assert.True(PayloadRuleCheck.Check(ExchangeType.Informational, false, []).IsOk);
        Assert.True(PayloadRuleCheck.Check(ExchangeType.Informational, true, []).IsOk);
        var many = Enumerable.Range(0, 40).Select(_ => Make(PayloadType.Notify)).Concat(Enumerable.Range(0, 10).Select(_ => Make(PayloadType.Delete))).ToList();
        Assert.True(PayloadRuleCheck.Check(ExchangeType.Informational, false, many).IsOk);
    }

    [Fact]
    public void CreateChildSa_IsClassifiedByItsPayloads_AndExchangesWithoutRulesPass()
    {
        Assert.Equal(MessageKind.RekeyIke, PayloadRules.Classify(ExchangeType.CreateChildSa, Good(MessageKind.RekeyIke, false)));
        Assert.Equal(MessageKind.RekeyChild, PayloadRules.Classify(ExchangeType.CreateChildSa, Good(MessageKind.RekeyChild, false)));
        Assert.Equal(MessageKind.CreateChild, PayloadRules.Classify(ExchangeType.CreateChildSa, Good(MessageKind.CreateChild, false)));
        Assert.Equal(MessageKind.CreateChild, PayloadRules.Classify(ExchangeType.CreateChildSa, []));
        Assert.Null(PayloadRules.Classify((ExchangeType)43, [])); // IKE_INTERMEDIATE: not implemented; dropped by the dispatch

        // An IKE rekey request with traffic selectors is an IKE rekey that carries what it may not; a CHILD SA
        // response checked as an IKE rekey lacks its KE.
        var rekeyWithTs = PayloadRuleCheck.Check(ExchangeType.CreateChildSa, false, [.. Good(MessageKind.RekeyIke, false), Ts(true)]);
        Assert.Equal((MessageKind.RekeyIke, PayloadViolation.NotAllowed), (rekeyWithTs.Kind!.Value, rekeyWithTs.Violation));
        var childAsIke = PayloadRuleCheck.Check(ExchangeType.CreateChildSa, true, [Sa(ProtocolId.Esp), Make(PayloadType.Nonce), Ts(true), Ts(false)], MessageKind.RekeyIke);
        Assert.Equal(PayloadViolation.NotAllowed, childAsIke.Violation);
        Assert.True(PayloadRuleCheck.Check((ExchangeType)43, false, [Make(PayloadType.Authentication)]).IsOk);
    }
}
