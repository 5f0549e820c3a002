using System.Buffers.Binary;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using static Oakley.Engine.Tasks.ExchangeHelpers;

namespace Oakley.Engine.Tasks;

/// <summary>
/// The responder's choice of a CHILD SA (in IKE_AUTH and CREATE_CHILD_SA): the child configuration by traffic selector
/// narrowing (RFC 7296 §2.9), the ESP proposal, the PFS key exchange, and the accepting payloads. It installs the SA.
/// </summary>
internal static class ChildSelection
{
    /// <summary>The PFS-related inputs of a CREATE_CHILD_SA request (null in IKE_AUTH), and the CHILD SA it rekeys.</summary>
    public sealed record CreateChildInputs(byte[] NonceI, byte[] NonceR, KeyExchangePayload? Ke, uint RequestId, ChildSa? Rekeys = null);

    /// <summary>Chooses and installs the CHILD SA a request asks for, and returns the answer (or the refusal notify).</summary>
    public static List<IkePayload> Respond(DateTimeOffset now, IkeSa sa, List<IkePayload> request, CreateChildInputs? create, out ChildSa? installed)
    {
        installed = null;
        var proposals = request.OfType<SecurityAssociationPayload>().FirstOrDefault();
        var tsi = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
        var tsr = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
        if (proposals is null || tsi is null || tsr is null)
        {
            return []; // childless IKE_AUTH (RFC 6023)
        }

        var theirTsi = tsi.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var theirTsr = tsr.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var transport = request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
        var candidates = Candidates(sa, theirTsi, theirTsr);
        foreach (var (child, remote, local) in candidates)
        {
            var ours = create is not null ? child.EspProposals : child.EspProposals.Select(StripKe).ToList();
            var selection = ProposalNegotiation.Select(ours, proposals.Proposals, ProtocolId.Esp);
            if (create is { Ke: null } && selection is null)
            {
                // The peer offers no PFS: accept without it if our proposals allow that once the KE is removed.
                selection = ProposalNegotiation.Select(child.EspProposals.Select(StripKe).ToList(), proposals.Proposals, ProtocolId.Esp);
            }

            if (selection is not { } s || s.PeerProposal.Spi.Length != 4)
            {
                continue;
            }

            byte[]? pfsSecret = null;
            KeyExchangePayload? keReply = null;
            if (s.Selected.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault() is { } group)
            {
                if (create?.Ke is not { } ke || ke.Group != group)
                {
                    return [InvalidKe(group)];
                }

                using var ourKe = KeyExchangeMethods.Create(group, sa.Services.Entropy);
                ourKe.SetPeerPublicKey(ke.Data.Span);
                keReply = new KeyExchangePayload(group, ourKe.GetPublicKey());
                pfsSecret = ourKe.GetSharedSecret().ToArray();
            }

            var useTransport = transport && child.TransportMode;
            var inbound = sa.Services.NewChildSpi();
            var outbound = BinaryPrimitives.ReadUInt32BigEndian(s.PeerProposal.Spi.Span);
            installed = sa.InstallChild(now, child, inbound, outbound, s.Selected, local, remote, useTransport, create?.NonceI, create?.NonceR, pfsSecret,
                weInitiatedExchange: create is not null ? false : null, rekeys: create?.Rekeys);
            installed.UnconfirmedSinceRequest = create?.RequestId;
            return Reply(s, inbound, useTransport, create?.NonceR, keReply, local, remote);
        }

        return Refusal(now, sa, proposals, candidates, create is not null);
    }

    /// <summary>
    /// The child configurations whose selectors meet the proposed ones: TSi (the initiator's side) narrowed with our
    /// remote_ts, TSr with our local_ts (§2.9). strongSwan-like preference: a child whose own selectors are exactly the
    /// result is the most specific match (a TCP-only child beats an any-protocol one for a TCP proposal); then one that
    /// needed no narrowing.
    /// </summary>
    private static List<(ChildConfig Child, List<TrafficSelectorRange> Remote, List<TrafficSelectorRange> Local)> Candidates(
        IkeSa sa, List<TrafficSelectorRange> theirTsi, List<TrafficSelectorRange> theirTsr) =>
        sa.Config.Children
            .Select(c => (Child: c, Remote: Narrow(theirTsi, c.EffectiveRemoteTs(sa.DynamicRemoteTs)), Local: Narrow(theirTsr, c.EffectiveLocalTs(sa.DynamicLocalTs))))
            .Where(c => c.Remote.Count > 0 && c.Local.Count > 0)
            .OrderByDescending(c => c.Remote.SequenceEqual(c.Child.EffectiveRemoteTs(sa.DynamicRemoteTs)) && c.Local.SequenceEqual(c.Child.EffectiveLocalTs(sa.DynamicLocalTs)))
            .ThenByDescending(c => c.Remote.SequenceEqual(theirTsi) && c.Local.SequenceEqual(theirTsr))
            .ToList();

    private static List<IkePayload> Refusal(DateTimeOffset now, IkeSa sa, SecurityAssociationPayload proposals,
        List<(ChildConfig Child, List<TrafficSelectorRange> Remote, List<TrafficSelectorRange> Local)> candidates, bool createChild)
    {
        if (candidates.Count > 0)
        {
            var ours = candidates[0].Child.EspProposals.Select(p => createChild ? p : StripKe(p));
            sa.Services.EmitAlert(now, sa.Id, $"CHILD SA '{candidates[0].Child.Name}': no acceptable ESP proposal, sending NO_PROPOSAL_CHOSEN: received "
                + $"{ProposalNegotiation.Describe(proposals.Proposals, ProtocolId.Esp)}; configured {ProposalString.FormatList(ours)}", sa.Config.Name);
            return [new NotifyPayload(NotifyType.NoProposalChosen)];
        }

        sa.Services.EmitAlert(now, sa.Id, "traffic selectors unacceptable: no CHILD SA configuration matches", sa.Config.Name);
        return [new NotifyPayload(NotifyType.TsUnacceptable)];
    }

    /// <summary>
    /// The payloads that accept a CHILD SA: USE_TRANSPORT_MODE if agreed, the chosen proposal with our SPI, in
    /// CREATE_CHILD_SA our nonce and KE, and the narrowed selectors (TSi: the initiator's side).
    /// </summary>
    private static List<IkePayload> Reply((AlgorithmProposal Selected, Proposal PeerProposal) s, uint inbound, bool transport, byte[]? nonceR,
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
}
