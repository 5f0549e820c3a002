using System.Text;
using Oakley.Iana;

namespace Oakley.Crypto.Registry;

/// <summary>
/// strongSwan's proposal syntax: keywords joined by '-', e.g. <c>aes256gcm16-prfsha384-ecp384</c>,
/// <c>aes128-sha256-modp2048</c>, <c>chacha20poly1305-prfsha256-x25519-ke1_mlkem768</c>; ESP adds
/// <c>esn</c>/<c>noesn</c> and takes a KE group to mean PFS. A list is comma-separated; <c>default</c> expands
/// to <see cref="DefaultIke"/> or <see cref="DefaultEsp"/>.
/// Rules mirrored from strongSwan:
/// <list type="bullet">
/// <item>IKE without a PRF keyword: one PRF per integrity keyword, of the same hash (sha256 gives prfsha256).</item>
/// <item>IKE with only AEAD ciphers needs an explicit PRF ("a PRF algorithm is mandatory in IKE proposals").</item>
/// <item>AEAD and non-AEAD ciphers cannot share a proposal; a non-AEAD cipher needs an integrity algorithm.</item>
/// <item>ESP without an ESN keyword means no ESN.</item>
/// </list>
/// </summary>
public static class ProposalString
{
    /// <summary>Oakley's default IKE proposals (modelled on strongSwan 5.9's defaults, without legacy algorithms).</summary>
    public const string DefaultIke =
        "aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-curve25519-ecp256-ecp384-ecp521-modp3072-modp4096-modp2048," +
        "aes128-aes192-aes256-sha256-sha384-sha512-curve25519-ecp256-ecp384-ecp521-modp3072-modp4096-modp2048";

    /// <summary>Oakley's default ESP proposals (no PFS, no ESN, as strongSwan's defaults).</summary>
    public const string DefaultEsp = "aes128gcm16-aes256gcm16-chacha20poly1305,aes128-aes192-aes256-sha256-sha384-sha512";

    /// <summary>Parses a comma-separated list of proposals; <c>default</c> expands in place.</summary>
    public static List<AlgorithmProposal> ParseList(string text, ProtocolId protocol)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<AlgorithmProposal>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0)
            {
                throw new ProposalParseException($"empty proposal in '{text}'", text);
            }

            if (part.Equals("default", StringComparison.OrdinalIgnoreCase))
            {
                result.AddRange(ParseList(protocol == ProtocolId.Ike ? DefaultIke : DefaultEsp, protocol));
                continue;
            }

            result.Add(Parse(part, protocol));
        }

        return result;
    }

    /// <summary>Parses one proposal. Throws <see cref="ProposalParseException"/> naming the offending keyword.</summary>
    public static AlgorithmProposal Parse(string text, ProtocolId protocol)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (protocol is not (ProtocolId.Ike or ProtocolId.Esp or ProtocolId.Ah))
        {
            throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "proposals are for IKE, ESP or AH");
        }

        var usage = protocol == ProtocolId.Ike ? TransformUsage.Ike : TransformUsage.Esp;
        var transforms = new List<TransformSpec>();
        var position = 0;
        foreach (var raw in text.Split('-'))
        {
            var spec = ParseKeyword(raw.Trim(), text, position, protocol, usage);
            position += raw.Length + 1;
            if (!transforms.Contains(spec))
            {
                transforms.Add(spec);
            }
        }

        CheckCiphers(transforms, text, protocol);
        if (protocol == ProtocolId.Ike)
        {
            CompleteIke(transforms, text);
        }
        else if (!transforms.Any(t => t.Type == TransformType.SequenceNumbers))
        {
            transforms.Add(TransformSpec.Esn(EsnId.NoEsn));
        }

        return new AlgorithmProposal(protocol, transforms.OrderBy(t => TypeOrder(t.Type)));
    }

    /// <summary>One keyword of a proposal (with an optional RFC 9370 <c>keN_</c> prefix), checked against the protocol.</summary>
    private static TransformSpec ParseKeyword(string token, string text, int tokenPosition, ProtocolId protocol, TransformUsage usage)
    {
        if (token.Length == 0)
        {
            throw new ProposalParseException($"empty keyword in proposal '{text}'", text, token, tokenPosition);
        }

        var type = TransformType.KeyExchange;
        var keyword = token.ToLowerInvariant();
        if (keyword.Length > 4 && keyword.StartsWith("ke", StringComparison.Ordinal) && keyword[3] == '_' && keyword[2] is >= '1' and <= '7')
        {
            // RFC 9370 additional key exchanges: ke1_mlkem768 ... ke7_...
            type = (TransformType)((int)TransformType.AdditionalKeyExchange1 + (keyword[2] - '1'));
            keyword = keyword[4..];
        }

        if (!TransformRegistry.TryGetByKeyword(keyword, out var info))
        {
            throw new ProposalParseException($"unknown algorithm '{token}' in proposal '{text}'", text, token, tokenPosition);
        }

        if (type != TransformType.KeyExchange && info.Type != TransformType.KeyExchange)
        {
            throw new ProposalParseException($"'{token}': only key exchange methods can be additional key exchanges", text, token, tokenPosition);
        }

        if (info.Type == TransformType.PseudoRandomFunction && protocol != ProtocolId.Ike)
        {
            throw new ProposalParseException($"'{token}': a PRF belongs in IKE proposals only", text, token, tokenPosition);
        }

        if (info.Type == TransformType.SequenceNumbers && protocol == ProtocolId.Ike)
        {
            throw new ProposalParseException($"'{token}': 'esn'/'noesn' belong in ESP/AH proposals, not '{text}'", text, token, tokenPosition);
        }

        if ((info.Usage & usage) == 0)
        {
            throw new ProposalParseException($"'{token}' cannot be used in {protocol} proposals", text, token, tokenPosition);
        }

        return new TransformSpec(info.Type == TransformType.KeyExchange ? type : info.Type, info.Id, info.KeyLengthBits);
    }

    /// <summary>Encryption and integrity must fit together: AEAD alone, or a classic cipher with integrity (AH: integrity only).</summary>
    private static void CheckCiphers(List<TransformSpec> transforms, string text, ProtocolId protocol)
    {
        var encryption = transforms.Where(t => t.Type == TransformType.Encryption).ToList();
        var aead = encryption.Count(t => TransformRegistry.GetEncryption((EncrId)t.Id, t.KeyLengthBits)!.IsAead);
        if (protocol != ProtocolId.Ah && encryption.Count == 0)
        {
            throw new ProposalParseException($"proposal '{text}' has no encryption algorithm", text);
        }

        if (protocol == ProtocolId.Ah && encryption.Count != 0)
        {
            throw new ProposalParseException($"AH proposal '{text}' cannot contain encryption algorithms", text);
        }

        if (aead != 0 && aead != encryption.Count)
        {
            throw new ProposalParseException($"proposal '{text}' mixes AEAD and non-AEAD encryption algorithms; split it into two proposals", text);
        }

        var hasInteg = transforms.Any(t => t.Type == TransformType.Integrity);
        if (aead != 0 && hasInteg)
        {
            throw new ProposalParseException($"proposal '{text}' combines an AEAD algorithm with an integrity algorithm", text);
        }

        if (aead == 0 && !hasInteg)
        {
            throw new ProposalParseException(protocol == ProtocolId.Ah
                ? $"AH proposal '{text}' needs an integrity algorithm"
                : $"proposal '{text}' needs an integrity algorithm for its non-AEAD cipher", text);
        }
    }

    /// <summary>An IKE proposal needs a PRF (taken from the integrity algorithms if none is named) and a key exchange method.</summary>
    private static void CompleteIke(List<TransformSpec> transforms, string text)
    {
        if (!transforms.Any(t => t.Type == TransformType.PseudoRandomFunction))
        {
            // strongSwan: "no explicit PRF found, we assume the same algorithm as used for integrity".
            foreach (var integ in transforms.Where(t => t.Type == TransformType.Integrity).ToList())
            {
                var prf = PrfForIntegrity((IntegId)integ.Id);
                if (prf is { } p && !transforms.Contains(TransformSpec.Prf(p)))
                {
                    transforms.Add(TransformSpec.Prf(p));
                }
            }

            if (!transforms.Any(t => t.Type == TransformType.PseudoRandomFunction))
            {
                throw new ProposalParseException($"a PRF algorithm is mandatory in IKE proposals: add e.g. prfsha256 to '{text}'", text);
            }
        }

        if (!transforms.Any(t => t.Type == TransformType.KeyExchange))
        {
            throw new ProposalParseException($"IKE proposal '{text}' needs a key exchange method", text);
        }
    }

    /// <summary>Formats a proposal with the canonical keywords in strongSwan's order (ENCR, INTEG, PRF, KE, ADDKE, ESN).</summary>
    public static string Format(AlgorithmProposal proposal)
    {
        ArgumentNullException.ThrowIfNull(proposal);
        var sb = new StringBuilder();
        foreach (var t in proposal.Transforms.OrderBy(t => TypeOrder(t.Type)))
        {
            // An ESP proposal's implicit "noesn" is left out, as strongSwan prints it.
            if (t.Type == TransformType.SequenceNumbers && t.Id == (ushort)EsnId.NoEsn && !proposal.OfType(TransformType.SequenceNumbers).Any(x => x.Id == (ushort)EsnId.Esn))
            {
                continue;
            }

            if (sb.Length > 0)
            {
                sb.Append('-');
            }

            var info = TransformRegistry.Find(t.Type, t.Id, t.KeyLengthBits);
            if (t.Type >= TransformType.AdditionalKeyExchange1)
            {
                sb.Append("ke").Append((int)(t.Type - TransformType.AdditionalKeyExchange1) + 1).Append('_');
            }

            sb.Append(info?.Keyword ?? $"{t.Type}:{t.Id}" + (t.KeyLengthBits != 0 ? $"/{t.KeyLengthBits}" : string.Empty));
        }

        return sb.ToString();
    }

    public static string FormatList(IEnumerable<AlgorithmProposal> proposals) => string.Join(',', proposals.Select(Format));

    /// <summary>The PRF that strongSwan pairs with an integrity algorithm when no PRF is configured.</summary>
    public static PrfId? PrfForIntegrity(IntegId integ) => integ switch
    {
        IntegId.HmacMd5_96 => PrfId.HmacMd5,
        IntegId.HmacSha1_96 => PrfId.HmacSha1,
        IntegId.AesXcbc96 => PrfId.Aes128Xcbc,
        IntegId.AesCmac96 => PrfId.Aes128Cmac,
        IntegId.HmacSha2_256_128 => PrfId.HmacSha2_256,
        IntegId.HmacSha2_384_192 => PrfId.HmacSha2_384,
        IntegId.HmacSha2_512_256 => PrfId.HmacSha2_512,
        _ => null,
    };

    private static int TypeOrder(TransformType type) => type switch
    {
        TransformType.Encryption => 0,
        TransformType.Integrity => 1,
        TransformType.PseudoRandomFunction => 2,
        TransformType.KeyExchange => 3,
        TransformType.SequenceNumbers => 20,
        _ => 3 + (int)type,
    };
}
