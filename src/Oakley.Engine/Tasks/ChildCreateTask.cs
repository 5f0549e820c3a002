using System.Buffers.Binary;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using static Oakley.Engine.Tasks.ExchangeHelpers;

namespace Oakley.Engine.Tasks;

/// <summary>
/// Creating a CHILD SA (RFC 7296 §1.3.1), in IKE_AUTH (no KE, the IKE_SA_INIT nonces) or in CREATE_CHILD_SA (its own
/// nonces, optional PFS with one INVALID_KE_PAYLOAD retry). Refusals (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...) fail
/// the CHILD SA, not the IKE SA. <see cref="ChildRekeyTask"/> is this task with REKEY_SA and the rekey's ending.
/// </summary>
internal class ChildCreateTask : IInitiatorTask, IResponderTask, IDisposable
{
    private readonly bool _inIkeAuth;
    private List<IkePayload>? _reply;
    private KeyExchange? _ke;
    private KeId? _forcedGroup;
    private bool _retriedKe;
    private uint _spi;

    /// <summary>A task in CREATE_CHILD_SA: the initiator's for <paramref name="config"/>, or the responder's (null).</summary>
    public ChildCreateTask(IkeSa sa, ChildConfig? config)
        : this(sa, config, inIkeAuth: false)
    {
    }

    private ChildCreateTask(IkeSa sa, ChildConfig? config, bool inIkeAuth)
    {
        Sa = sa;
        Config = config;
        _inIkeAuth = inIkeAuth;
    }

    /// <summary>The first CHILD SA, inside IKE_AUTH: the initiator's for <paramref name="config"/>, or the responder's (null).</summary>
    public static ChildCreateTask InIkeAuth(IkeSa sa, ChildConfig? config = null) => new(sa, config, inIkeAuth: true);

    protected IkeSa Sa { get; }

    public ChildConfig? Config { get; }

    /// <summary>Our nonce of this exchange (CREATE_CHILD_SA only).</summary>
    protected byte[] Nonce { get; private set; } = [];

    /// <summary>The CHILD SA this exchange rekeys (<see cref="ChildRekeyTask"/>), else null.</summary>
    public virtual ChildSa? Rekeys => null;

    public ExchangeType Exchange => _inIkeAuth ? ExchangeType.IkeAuth : ExchangeType.CreateChildSa;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        var child = Config!;
        if (_spi == 0)
        {
            // A retry after INVALID_KE_PAYLOAD keeps SPI and nonce, with a key of the wanted group.
            _spi = Sa.Services.NewChildSpi();
            Nonce = _inIkeAuth ? [] : Sa.Services.NewNonce();
        }

        var pfsGroup = _inIkeAuth ? null : _forcedGroup ?? child.EspProposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Select(t => (KeId?)t.Id).FirstOrDefault();
        _ke?.Dispose();
        _ke = pfsGroup is { } g ? KeyExchangeMethods.Create(g, Sa.Services.Entropy) : null;
        AddRekeyNotify(request);
        if (child.TransportMode)
        {
            request.Add(new NotifyPayload(NotifyType.UseTransportMode));
        }

        if (_inIkeAuth)
        {
            request.Add(ProposalNegotiation.ToPayload(child.EspProposals.Select(StripKe).ToList(), SpiBytes(_spi)));
        }
        else
        {
            request.Add(ProposalNegotiation.ToPayload(child.EspProposals, SpiBytes(_spi), pfsGroup));
            request.Add(new NoncePayload(Nonce));
            if (_ke is { } ke)
            {
                request.Add(new KeyExchangePayload(ke.Method, ke.GetPublicKey()));
            }
        }

        // A rekey proposes the selectors the old SA ended up with (§2.8), a new SA those of its configuration.
        var tsi = Rekeys?.LocalTs ?? child.EffectiveLocalTs(Sa.DynamicLocalTs);
        var tsr = Rekeys?.RemoteTs ?? child.EffectiveRemoteTs(Sa.DynamicRemoteTs);
        request.Add(new TrafficSelectorPayload(true, tsi.Select(t => t.ToPayload()).ToList()));
        request.Add(new TrafficSelectorPayload(false, tsr.Select(t => t.ToPayload()).ToList()));
        return TaskOutcome.Done;
    }

    /// <summary>A rekey names the SA it replaces first (<see cref="ChildRekeyTask"/>).</summary>
    protected virtual void AddRekeyNotify(List<IkePayload> request)
    {
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        var payloads = response.Payloads;
        var child = Config!;
        if (!_inIkeAuth && !_retriedKe && RequestedGroup(payloads, child.EspProposals) is { } wanted)
        {
            _retriedKe = true;
            _forcedGroup = wanted;
            return TaskOutcome.NeedMore;
        }

        try
        {
            Install(now, payloads, child);
        }
        finally
        {
            Dispose();
        }

        return TaskOutcome.Done;
    }

    private void Install(DateTimeOffset now, List<IkePayload> payloads, ChildConfig child)
    {
        var error = Error(payloads);
        var proposals = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
        var nonce = payloads.OfType<NoncePayload>().FirstOrDefault();
        var tsi = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
        var tsr = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
        if (error is not null || proposals is null || (nonce is null && !_inIkeAuth) || tsi is null || tsr is null)
        {
            Refused(now, error?.NotifyType, $"CHILD SA '{child.Name}' was not created: {error?.NotifyType.ToString() ?? "incomplete response"}", badAnswer: false);
            return;
        }

        var offered = _inIkeAuth ? child.EspProposals.Select(StripKe).ToList() : child.EspProposals;
        var selected = ProposalNegotiation.ValidateResponse(offered, proposals, ProtocolId.Esp);
        var ke = payloads.OfType<KeyExchangePayload>().FirstOrDefault();
        var selectedGroup = selected?.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault();
        if (selected is null || proposals.Proposals[0].Spi.Length != 4 || selectedGroup != _ke?.Method || (_ke is not null && ke?.Group != _ke.Method))
        {
            Refused(now, NotifyType.NoProposalChosen, $"CHILD SA '{child.Name}': responder chose a proposal we did not offer", badAnswer: true);
            return;
        }

        var transport = payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
        if (_inIkeAuth && child.TransportMode != transport)
        {
            Refused(now, null, $"CHILD SA '{child.Name}': mode mismatch (we asked {(child.TransportMode ? "transport" : "tunnel")})", badAnswer: true);
            return;
        }

        byte[]? shared = null;
        if (_ke is { } ourKe)
        {
            ourKe.SetPeerPublicKey(ke!.Data.Span);
            shared = ourKe.GetSharedSecret();
        }

        var nonceR = nonce?.Nonce.ToArray();
        var installed = Sa.InstallChild(now, child, _spi, BinaryPrimitives.ReadUInt32BigEndian(proposals.Proposals[0].Spi.Span), selected,
            tsi.Selectors.Where(t => t.IsIp).Select(TrafficSelectorRange.FromPayload).ToList(),
            tsr.Selectors.Where(t => t.IsIp).Select(TrafficSelectorRange.FromPayload).ToList(),
            transport, _inIkeAuth ? null : Nonce, nonceR, shared, weInitiatedExchange: _inIkeAuth ? null : true, rekeys: Rekeys);
        Installed(now, installed, nonceR ?? []);
    }

    /// <summary>The CHILD SA is up (a rekey then settles the old one).</summary>
    protected virtual void Installed(DateTimeOffset now, ChildSa installed, byte[] nonceR)
    {
    }

    /// <summary>
    /// The peer refused the CHILD SA (<paramref name="error"/>), or answered what we did not ask for (<paramref name="badAnswer"/>):
    /// the operator and the host (initiate waits) learn why.
    /// </summary>
    protected virtual void Refused(DateTimeOffset now, NotifyType? error, string reason, bool badAnswer)
    {
        Sa.Services.EmitAlert(now, Sa.Id, reason);
        Sa.Services.Emit(new ChildSaFailed(now, Sa.Id, Sa.Config.Name, Config!.Name, reason));
    }

    public virtual TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        if (_inIkeAuth)
        {
            // No virtual IP could be assigned: the configuration task's INTERNAL_ADDRESS_FAILURE is the answer (as strongSwan's).
            _reply = Sa.PeerVirtualIps is { Count: 0 } ? [] : ChildSelection.Respond(now, Sa, request.Payloads, null, out _);
            return TaskOutcome.Done;
        }

        if (CheckCreateChild(Sa, request.Payloads, ikeRekey: false, out var refusal) is not { } nonce)
        {
            _reply = [refusal!];
            return TaskOutcome.Done;
        }

        CreateAnswering(now, request, nonce, out _);
        return TaskOutcome.Done;
    }

    /// <summary>Chooses and installs the CHILD SA of the peer's CREATE_CHILD_SA request; the answer becomes the reply.</summary>
    /// <param name="rekeys">The CHILD SA the request's REKEY_SA names (null: a new CHILD SA).</param>
    protected void CreateAnswering(DateTimeOffset now, Received request, NoncePayload nonce, out (byte[] NonceI, byte[] NonceR, ChildSa? Installed) result,
        ChildSa? rekeys = null)
    {
        var inputs = new ChildSelection.CreateChildInputs(nonce.Nonce.ToArray(), Sa.Services.NewNonce(),
            request.Payloads.OfType<KeyExchangePayload>().FirstOrDefault(), Sa.Window.ExpectedPeerRequestId, rekeys);
        _reply = ChildSelection.Respond(now, Sa, request.Payloads, inputs, out var installed);
        result = (inputs.NonceI, inputs.NonceR, installed);
    }

    /// <summary>The whole answer is one refusal.</summary>
    protected void Refuse(NotifyPayload refusal) => _reply = [refusal];

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => response.AddRange(_reply ?? []);

    public void Dispose()
    {
        _ke?.Dispose();
        _ke = null;
    }
}
