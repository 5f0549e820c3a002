using Oakley.Crypto.Cipher;
using Oakley.Crypto.Integrity;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>The transforms chosen for one SA, resolved to implementations.</summary>
public sealed record NegotiatedSuite(AlgorithmProposal Proposal, EncryptionAlgorithm Encryption, IntegrityAlgorithm? Integrity,
    Crypto.Prf.Prf? Prf, KeId KeyExchange, bool Esn)
{
    public override string ToString() => ProposalString.Format(Proposal);
}

/// <summary>SA payload construction and proposal selection (RFC 7296 §2.7, §3.3).</summary>
public static class ProposalNegotiation
{
    /// <summary>Our proposals as an SA payload, numbered from 1, each with <paramref name="spi"/>.</summary>
    public static SecurityAssociationPayload ToPayload(IReadOnlyList<AlgorithmProposal> proposals, ReadOnlyMemory<byte> spi, KeId? firstKe = null)
    {
        var list = new List<Proposal>();
        byte number = 1;
        foreach (var p in proposals)
        {
            var transforms = new List<Transform>();
            var specs = p.Transforms.ToList();
            if (firstKe is { } ke && specs.Any(t => t.Type == TransformType.KeyExchange && t.Id == (ushort)ke))
            {
                // Put the group we send a KE payload for first, so a responder preferring our order picks it.
                var chosen = specs.First(t => t.Type == TransformType.KeyExchange && t.Id == (ushort)ke);
                specs.Remove(chosen);
                specs.Insert(specs.FindIndex(t => t.Type == TransformType.KeyExchange) is var i and >= 0 ? i : specs.Count, chosen);
            }

            foreach (var t in specs)
            {
                transforms.Add(Transform.Create(t.Type, t.Id, t.KeyLengthBits));
            }

            list.Add(new Proposal(number++, p.Protocol, spi, transforms));
        }

        return new SecurityAssociationPayload(list);
    }

    /// <summary>
    /// Selects the first of our proposals (in our configured order) that one of the peer's proposals can
    /// satisfy: for every transform type, our first transform that the peer also offers. Returns null when
    /// nothing matches (NO_PROPOSAL_CHOSEN).
    /// </summary>
    public static (AlgorithmProposal Selected, Proposal PeerProposal)? Select(IReadOnlyList<AlgorithmProposal> ours, IReadOnlyList<Proposal> theirs, ProtocolId protocol)
    {
        foreach (var mine in ours)
        {
            foreach (var peer in theirs)
            {
                if (peer.Protocol == protocol && Match(mine, peer) is { } chosen)
                {
                    return (new AlgorithmProposal(protocol, chosen), peer);
                }
            }
        }

        return null;
    }

    /// <summary>
    /// For every transform type either side names, our first transform of that type that the peer also offers, in
    /// the order our types first appear; null if a type has none (a type only one side names is a mismatch: RFC 7296
    /// §3.3.3 implies ESN "no" only for AH/ESP peers that cannot do ESN, not in general).
    /// </summary>
    private static List<TransformSpec>? Match(AlgorithmProposal mine, Proposal peer)
    {
        var chosen = new List<TransformSpec>(5);
        foreach (var t in mine.Transforms)
        {
            if (HasType(chosen, t.Type))
            {
                continue;
            }

            var pick = FirstOffered(mine.Transforms, t.Type, peer.Transforms);
            if (pick is null)
            {
                return null;
            }

            chosen.Add(pick.Value);
        }

        foreach (var pt in peer.Transforms)
        {
            if (!HasType(chosen, pt.Type))
            {
                return null;
            }
        }

        return chosen.Count > 0 ? chosen : null;
    }

    private static TransformSpec? FirstOffered(IReadOnlyList<TransformSpec> mine, TransformType type, List<Transform> peer)
    {
        foreach (var t in mine)
        {
            if (t.Type != type)
            {
                continue;
            }

            foreach (var pt in peer)
            {
                if (pt.Type == t.Type && pt.Id == t.Id && (pt.KeyLength ?? 0) == t.KeyLengthBits)
                {
                    return t;
                }
            }
        }

        return null;
    }

    private static bool HasType(List<TransformSpec> specs, TransformType type)
    {
        foreach (var s in specs)
        {
            if (s.Type == type)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The peer's proposals of <paramref name="protocol"/> in swanctl syntax, for the log line that explains a
    /// NO_PROPOSAL_CHOSEN (strongSwan logs "received proposals" and "configured proposals" the same way).
    /// </summary>
    public static string Describe(IReadOnlyList<Proposal> theirs, ProtocolId protocol)
    {
        ArgumentNullException.ThrowIfNull(theirs);
        var described = theirs.Where(p => p.Protocol == protocol)
            .Select(p => ProposalString.Format(new AlgorithmProposal(protocol, p.Transforms.Select(t => new TransformSpec(t.Type, t.Id, t.KeyLength ?? 0)))))
            .ToList();
        return described.Count == 0 ? "none" : string.Join(", ", described);
    }

    /// <summary>The peer's single accepted proposal, as a response SA payload carries it (§3.3.6: same number, our SPI).</summary>
    public static SecurityAssociationPayload Accepted(AlgorithmProposal selected, byte number, ReadOnlyMemory<byte> spi) =>
        new([new Proposal(number, selected.Protocol, spi, selected.Transforms.Select(t => Transform.Create(t.Type, t.Id, t.KeyLengthBits)).ToList())]);

    /// <summary>Checks that a responder's answer is one proposal we offered, reduced to one transform per type.</summary>
    public static AlgorithmProposal? ValidateResponse(IReadOnlyList<AlgorithmProposal> offered, SecurityAssociationPayload response, ProtocolId protocol)
    {
        if (response.Proposals.Count != 1)
        {
            return null;
        }

        var p = response.Proposals[0];
        if (p.Protocol != protocol)
        {
            return null;
        }

        var specs = new List<TransformSpec>(p.Transforms.Count);
        foreach (var t in p.Transforms)
        {
            if (HasType(specs, t.Type))
            {
                return null; // more than one transform of a type
            }

            specs.Add(new TransformSpec(t.Type, t.Id, t.KeyLength ?? 0));
        }

        foreach (var o in offered)
        {
            if (Reduces(o, specs))
            {
                return new AlgorithmProposal(protocol, specs);
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="specs"/> (one per type) is <paramref name="offered"/> reduced to one transform of each of its types.</summary>
    private static bool Reduces(AlgorithmProposal offered, List<TransformSpec> specs)
    {
        foreach (var s in specs)
        {
            if (!offered.Transforms.Contains(s))
            {
                return false;
            }
        }

        foreach (var t in offered.Transforms)
        {
            if (!HasType(specs, t.Type))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Resolves a selected proposal to implementations. Every SA that negotiated the same transforms gets the same
    /// immutable suite (and its <see cref="NegotiatedSuite.Proposal"/>): a daemon holding many SAs holds a few
    /// suites, not two per SA (at most <see cref="MaxCachedSuites"/> are kept).
    /// </summary>
    public static NegotiatedSuite Resolve(AlgorithmProposal selected)
    {
        ArgumentNullException.ThrowIfNull(selected);
        return Suites.Intern(selected, ResolveNew);
    }

    internal const int MaxCachedSuites = 64;

    private static readonly InternCache<NegotiatedSuite, AlgorithmProposal> Suites =
        new(MaxCachedSuites, static (suite, proposal) => SameTransforms(suite.Proposal, proposal));

    private static bool SameTransforms(AlgorithmProposal a, AlgorithmProposal b)
    {
        if (a.Protocol != b.Protocol || a.Transforms.Count != b.Transforms.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Transforms.Count; i++)
        {
            if (a.Transforms[i] != b.Transforms[i])
            {
                return false;
            }
        }

        return true;
    }

    private static NegotiatedSuite ResolveNew(AlgorithmProposal selected)
    {
        var encr = selected.OfType(TransformType.Encryption).Single();
        var encryption = TransformRegistry.GetEncryption((EncrId)encr.Id, encr.KeyLengthBits)
            ?? throw new InvalidOperationException($"no implementation for {encr}");
        var integ = selected.OfType(TransformType.Integrity).Select(t => TransformRegistry.GetIntegrity((IntegId)t.Id)).FirstOrDefault();
        var prf = selected.OfType(TransformType.PseudoRandomFunction).Select(t => TransformRegistry.GetPrf((PrfId)t.Id)).FirstOrDefault();
        var ke = selected.OfType(TransformType.KeyExchange).Select(t => (KeId)t.Id).FirstOrDefault();
        var esn = selected.OfType(TransformType.SequenceNumbers).Any(t => t.Id == (ushort)EsnId.Esn);
        return new NegotiatedSuite(selected, encryption, integ, prf, ke, esn);
    }
}
