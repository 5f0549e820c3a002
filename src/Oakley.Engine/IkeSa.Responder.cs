using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Engine.Authentication;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;
/// <summary>The responder's IKE_SA_INIT and IKE_AUTH, with the first CHILD SA (proposal selection, TS narrowing) (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    // ------------------------------------------------------------------------------------------------
    // Responder: IKE_SA_INIT (called by the endpoint after its stateless checks) and IKE_AUTH
    // ------------------------------------------------------------------------------------------------

    internal byte[] RespondInit(DateTimeOffset now, byte[] request, IkeMessage m, AlgorithmProposal selected, byte proposalNumber, KeyExchangePayload ke, NoncePayload nonce)
    {
        Touch();
        State = IkeSaState.Connecting;
        _halfOpenDeadline = now + _endpoint.Settings.HalfOpenTimeout;
        _initRequest = request;
        _nonceI = nonce.Nonce.ToArray();
        _nonceR = _endpoint.NewNonce();
        _keGroup = ke.Group;
        _ke = KeyExchangeMethods.Create(ke.Group, _endpoint.Entropy);
        _ke.SetPeerPublicKey(ke.Data.Span); // validates the peer's value (RFC 6989)
        DetectNat(now, m, SpiI, 0);
        var response = new IkeMessage { InitiatorSpi = SpiI, ResponderSpi = SpiR, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Response, MessageId = 0 };
        response.Payloads.Add(ProposalNegotiation.Accepted(selected, proposalNumber, default));
        response.Payloads.Add(new KeyExchangePayload(ke.Group, _ke.GetPublicKey()));
        response.Payloads.Add(new NoncePayload(_nonceR));
        AddNatDetection(response, SpiI, SpiR);
        // RFC 7383 §2.3: announce support only in answer to the initiator's announcement.
        _fragmentation = Config.Fragmentation != Fragmentation.No && m.Notifies(NotifyType.Ikev2FragmentationSupported).Any();
        if (_fragmentation)
        {
            response.Payloads.Add(new NotifyPayload(NotifyType.Ikev2FragmentationSupported));
        }

        if (m.Notifies(NotifyType.SignatureHashAlgorithms).Any())
        {
            response.Payloads.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, new byte[] { 0, 2, 0, 3, 0, 4 }));
        }

        _initResponse = response.Encode();
        DeriveKeys(selected);
        _expectedPeerRequestId = 1;
        _lastResponse = (0, [_initResponse]);
        return _initResponse;
    }

    private List<IkePayload> RespondAuth(DateTimeOffset now, List<IkePayload> request, out bool destroy)
    {
        destroy = false;
        var idi = request.OfType<IdentificationPayload>().FirstOrDefault(i => i.IsInitiator);
        var auth = request.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idi is null || auth is null)
        {
            // EAP (no AUTH from the initiator) is not implemented yet: answer as RFC 7296 §2.21.2 asks.
            destroy = true;
            _endpoint.EmitAlert(now, Id, "IKE_AUTH request without IDi/AUTH (EAP is not supported yet)");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        RemoteIdentity = new Identity(idi.IdType, idi.Data.ToArray());
        var config = _endpoint.FindConfigForIdentity(Config, RemoteIdentity, Remote);
        if (config is null)
        {
            destroy = true;
            _endpoint.EmitAlert(now, Id, $"no connection matches peer identity '{RemoteIdentity}'");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        Config = config;
        // One authenticator verifies the peer and builds our AUTH: without a key for the pair there is neither.
        var found = Authenticator(RemoteIdentity);
        var authenticator = found.Authenticator;
        var refusal = authenticator is null ? found.Error
            : authenticator.Verify(AuthInputOf(true, _initRequest, _nonceR, idi), auth) ? null : AuthMismatch(authenticator, auth);
        if (authenticator is null || refusal is not null)
        {
            destroy = true;
            _endpoint.EmitAlert(now, Id, refusal!);
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        var idr = new IdentificationPayload(false, Config.LocalId.Type, Config.LocalId.Value);
        var response = new List<IkePayload> { idr, authenticator.Build(AuthInputOf(false, _initResponse, _nonceI, idr)) };
        if (!_endpoint.EnforceUniqueness(now, this, request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.InitialContact)))
        {
            // unique = keep: an IKE SA with this peer exists; this one is refused.
            destroy = true;
            _endpoint.EmitAlert(now, Id, $"refusing a second IKE SA with '{RemoteIdentity}' (unique = keep)");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        // RFC 4555: MOBIKE is used when both sides say MOBIKE_SUPPORTED in IKE_AUTH.
        if (Config.Mobike && request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported))
        {
            MobikeNegotiated = true;
            response.Add(new NotifyPayload(NotifyType.MobikeSupported));
        }

        StoreAdditionalAddresses(request);
        Establish(now);

        response.AddRange(RespondChild(now, request));
        return response;
    }

    /// <summary>Creates the CHILD SA of an IKE_AUTH request: proposal selection and TS narrowing (RFC 7296 §2.9).</summary>
    private List<IkePayload> RespondChild(DateTimeOffset now, List<IkePayload> request, byte[]? nonceI = null, byte[]? nonceR = null,
        KeyExchangePayload? ke = null, bool createChild = false)
    {
        var sa = request.OfType<SecurityAssociationPayload>().FirstOrDefault();
        var tsi = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
        var tsr = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
        if (sa is null || tsi is null || tsr is null)
        {
            return []; // childless IKE_AUTH (RFC 6023)
        }

        var theirTsi = tsi.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var theirTsr = tsr.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var transport = request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
        // TSi is the initiator's side: narrow it with our remote_ts; TSr with our local_ts (§2.9).
        // strongSwan-like preference: a child whose own selectors are exactly the result is the most specific
        // match (a TCP-only child beats an any-protocol one for a TCP proposal); then one that needed no narrowing.
        var candidates = Config.Children
            .Select(c => (Child: c, Remote: Narrow(theirTsi, c.EffectiveRemoteTs(Remote.Address)), Local: Narrow(theirTsr, c.EffectiveLocalTs(Local.Address))))
            .Where(c => c.Remote.Count > 0 && c.Local.Count > 0)
            .OrderByDescending(c => c.Remote.SequenceEqual(c.Child.EffectiveRemoteTs(Remote.Address)) && c.Local.SequenceEqual(c.Child.EffectiveLocalTs(Local.Address)))
            .ThenByDescending(c => c.Remote.SequenceEqual(theirTsi) && c.Local.SequenceEqual(theirTsr))
            .ToList();
        foreach (var (child, remote, local) in candidates)
        {
            var ours = createChild ? child.EspProposals : child.EspProposals.Select(StripKe).ToList();
            var selection = ProposalNegotiation.Select(ours, sa.Proposals, ProtocolId.Esp);
            if (createChild && selection is null && ke is null)
            {
                // The peer offers no PFS: accept without it if our proposals allow that once the KE is removed.
                selection = ProposalNegotiation.Select(child.EspProposals.Select(StripKe).ToList(), sa.Proposals, ProtocolId.Esp);
            }

            if (selection is not { } s || s.PeerProposal.Spi.Length != 4)
            {
                continue;
            }

            byte[]? pfsSecret = null;
            KeyExchangePayload? keReply = null;
            if (s.Selected.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault() is { } group)
            {
                if (ke is null || ke.Group != group)
                {
                    return [InvalidKe(group)];
                }

                using var ourKe = KeyExchangeMethods.Create(group, _endpoint.Entropy);
                ourKe.SetPeerPublicKey(ke.Data.Span);
                keReply = new KeyExchangePayload(group, ourKe.GetPublicKey());
                pfsSecret = ourKe.GetSharedSecret().ToArray();
            }

            var useTransport = transport && child.TransportMode;
            var inbound = _endpoint.NewChildSpi();
            var outbound = BinaryPrimitives.ReadUInt32BigEndian(s.PeerProposal.Spi.Span);
            var installed = InstallChild(now, child, inbound, outbound, s.Selected, local, remote, useTransport, nonceI, nonceR, pfsSecret, weInitiatedExchange: createChild ? false : null);
            installed.UnconfirmedSinceRequest = createChild ? _expectedPeerRequestId : null;
            return ChildReply(s, inbound, useTransport, createChild ? nonceR : null, keReply, local, remote);
        }

        if (candidates.Count > 0)
        {
            var ours = candidates[0].Child.EspProposals.Select(p => createChild ? p : StripKe(p));
            _endpoint.EmitAlert(now, Id, $"CHILD SA '{candidates[0].Child.Name}': no acceptable ESP proposal, sending NO_PROPOSAL_CHOSEN: received "
                + $"{ProposalNegotiation.Describe(sa.Proposals, ProtocolId.Esp)}; configured {ProposalString.FormatList(ours)}");
            return [new NotifyPayload(NotifyType.NoProposalChosen)];
        }

        _endpoint.EmitAlert(now, Id, "traffic selectors unacceptable: no CHILD SA configuration matches");
        return [new NotifyPayload(NotifyType.TsUnacceptable)];
    }

    /// <summary>
    /// The payloads that accept a CHILD SA: USE_TRANSPORT_MODE if agreed, the chosen proposal with our SPI, in
    /// CREATE_CHILD_SA our nonce and KE, and the narrowed selectors (TSi: the initiator's side).
    /// </summary>
    private static List<IkePayload> ChildReply((AlgorithmProposal Selected, Proposal PeerProposal) s, uint inbound, bool transport, byte[]? nonceR,
        KeyExchangePayload? keReply, List<TrafficSelectorRange> local, List<TrafficSelectorRange> remote)
    {
        var reply = new List<IkePayload>();
        if (transport)
        {
            reply.Add(new NotifyPayload(NotifyType.UseTransportMode));
        }

        reply.Add(ProposalNegotiation.Accepted(s.Selected, s.PeerProposal.Number, SpiBytes(inbound)));
        if (nonceR is not null)
        {
            reply.Add(new NoncePayload(nonceR));
            if (keReply is not null)
            {
                reply.Add(keReply);
            }
        }

        reply.Add(new TrafficSelectorPayload(true, remote.Select(t => t.ToPayload()).ToList()));
        reply.Add(new TrafficSelectorPayload(false, local.Select(t => t.ToPayload()).ToList()));
        return reply;
    }

    private static List<TrafficSelectorRange> Narrow(List<TrafficSelectorRange> proposed, IReadOnlyList<TrafficSelectorRange> allowed)
    {
        var result = new List<TrafficSelectorRange>();
        foreach (var p in proposed)
        {
            foreach (var a in allowed)
            {
                if (p.Intersect(a) is { } i && !result.Contains(i))
                {
                    result.Add(i);
                }
            }
        }

        return result;
    }

    private ChildSa InstallChild(DateTimeOffset now, ChildConfig child, uint inboundSpi, uint outboundSpi, AlgorithmProposal selected,
        IReadOnlyList<TrafficSelectorRange> localTs, IReadOnlyList<TrafficSelectorRange> remoteTs, bool transport,
        byte[]? exchangeNonceI = null, byte[]? exchangeNonceR = null, byte[]? pfsSecret = null, bool? weInitiatedExchange = null)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        var keys = _keys!;
        // §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) with the nonces of the exchange that creates the SA.
        using var keymat = Ikev2KeySchedule.DeriveChildKeys(keys.Suite.Prf!, keys.Keys.SK_d, exchangeNonceI ?? _nonceI, exchangeNonceR ?? _nonceR,
            suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0, pfsSecret is null ? [] : [pfsSecret]);
        // KEYMAT is split initiator->responder first (§2.17); "initiator" is the initiator of this exchange.
        var iAmExchangeInitiator = weInitiatedExchange ?? IsOriginalInitiator;
        var outEnc = iAmExchangeInitiator ? keymat.EncryptionKeyInitiatorToResponder : keymat.EncryptionKeyResponderToInitiator;
        var outInt = iAmExchangeInitiator ? keymat.IntegrityKeyInitiatorToResponder : keymat.IntegrityKeyResponderToInitiator;
        var inEnc = iAmExchangeInitiator ? keymat.EncryptionKeyResponderToInitiator : keymat.EncryptionKeyInitiatorToResponder;
        var inInt = iAmExchangeInitiator ? keymat.IntegrityKeyResponderToInitiator : keymat.IntegrityKeyInitiatorToResponder;
        var childSa = new ChildSa
        {
            Config = child,
            InboundSpi = inboundSpi,
            OutboundSpi = outboundSpi,
            Suite = suite,
            LocalTs = localTs,
            RemoteTs = remoteTs,
            TransportMode = transport,
            Installed = now,
            RekeyAt = child.RekeyTime > TimeSpan.Zero ? now + child.RekeyTime - Jitter(child) : DateTimeOffset.MaxValue,
            ExpireAt = child.LifeTime > TimeSpan.Zero ? now + child.LifeTime : DateTimeOffset.MaxValue,
        };
        childSa.Owner = this;
        _children.Add(childSa);
        _endpoint.SetChildOwner(inboundSpi, this);
        var encr = selected.OfType(TransformType.Encryption).Single();
        _endpoint.Emit(new ChildSaInstall(now, Id, Config.Name, child.Name, inboundSpi, outboundSpi, transport, UdpEncapsulation,
            (EncrId)encr.Id, encr.KeyLengthBits, suite.Integrity?.Id ?? IntegId.None, suite.Esn,
            (byte[])inEnc.Clone(), (byte[])inInt.Clone(), (byte[])outEnc.Clone(), (byte[])outInt.Clone(),
            localTs, remoteTs, Local, Remote, child.RekeyTime, child.LifeTime));
        return childSa;
    }

    /// <summary>
    /// swanctl rand_time: a random part of it is taken off rekey_time so that two peers with the same settings
    /// rarely rekey at once (default: life_time - rekey_time).
    /// </summary>
    private TimeSpan Jitter(ChildConfig child)
    {
        var range = child.RandTime ?? (child.LifeTime - child.RekeyTime);
        if (range <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var jitter = range * RandomFraction();
        return jitter < child.RekeyTime ? jitter : TimeSpan.Zero;
    }

    private void Establish(DateTimeOffset now)
    {
        State = IkeSaState.Established;
        EstablishedAt = now;
        _lastInbound = now;
        _halfOpenDeadline = DateTimeOffset.MaxValue;
        ScheduleIkeRekey(now);
        _endpoint.Emit(new IkeSaUp(now, Id, Config.Name, SpiI, SpiR, IsOriginalInitiator, Local, Remote,
            ProposalString.Format(_ikeSelected!), Config.LocalId.ToString(), RemoteIdentity?.ToString() ?? string.Empty));
    }
}
