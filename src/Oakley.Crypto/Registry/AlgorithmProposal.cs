using Oakley.Iana;

namespace Oakley.Crypto.Registry;

/// <summary>
/// One proposal as configured: a protocol and, per transform type, the acceptable transforms in order of
/// preference (RFC 7296 §3.3: one of each type is chosen).
/// </summary>
public sealed class AlgorithmProposal
{
    public AlgorithmProposal(ProtocolId protocol, IEnumerable<TransformSpec> transforms)
    {
        Protocol = protocol;
        Transforms = [.. transforms];
    }

    public ProtocolId Protocol { get; }

    /// <summary>All transforms, in the order they were given.</summary>
    public IReadOnlyList<TransformSpec> Transforms { get; }

    public IEnumerable<TransformSpec> OfType(TransformType type)
    {
        // An iterator rather than Where with a capturing lambda: one object per call instead of three (this runs
        // several times per handshake).
        foreach (var t in Transforms)
        {
            if (t.Type == type)
            {
                yield return t;
            }
        }
    }

    public bool IsAead => OfType(TransformType.Encryption).Any(t => TransformRegistry.GetEncryption((EncrId)t.Id, t.KeyLengthBits)?.IsAead == true);

    public override string ToString() => ProposalString.Format(this);
}

/// <summary>A proposal string that cannot be parsed: names the token and its position (a config error, not a peer error).</summary>
public sealed class ProposalParseException : FormatException
{
    public ProposalParseException(string message, string proposal, string? token = null, int position = -1)
        : base(message)
    {
        Proposal = proposal;
        Token = token;
        Position = position;
    }

    public ProposalParseException()
        : this("invalid proposal", string.Empty)
    {
    }

    public ProposalParseException(string message)
        : this(message, string.Empty)
    {
    }

    public ProposalParseException(string message, Exception innerException)
        : base(message, innerException)
    {
        Proposal = string.Empty;
    }

    public string Proposal { get; }

    public string? Token { get; }

    /// <summary>Character offset of <see cref="Token"/> in <see cref="Proposal"/>, or -1.</summary>
    public int Position { get; }
}
