using Oakley.Iana;

namespace Oakley.Crypto.Registry;

/// <summary>Where a transform may be used.</summary>
[Flags]
public enum TransformUsage
{
    Ike = 1,
    Esp = 2,
    Both = Ike | Esp,
}

/// <summary>
/// One registry entry: an IANA transform (type, ID and, where the transform has one, key length) with its
/// strongSwan proposal keyword and aliases.
/// </summary>
public sealed record TransformInfo(TransformType Type, ushort Id, ushort KeyLengthBits, string Keyword, TransformUsage Usage, params string[] Aliases)
{
    /// <summary>A one-line description for logs, e.g. "ENCR_AES_GCM_16 (256)".</summary>
    public string Describe() => Type switch
    {
        TransformType.Encryption => $"ENCR {(EncrId)Id}" + (KeyLengthBits != 0 ? $" {KeyLengthBits}" : string.Empty),
        TransformType.PseudoRandomFunction => $"PRF {(PrfId)Id}",
        TransformType.Integrity => $"INTEG {(IntegId)Id}",
        TransformType.KeyExchange => $"KE {(KeId)Id}",
        TransformType.SequenceNumbers => $"ESN {(EsnId)Id}",
        _ => $"{Type} {Id}",
    };
}

/// <summary>A transform as a proposal carries it: type, ID and key length in bits (0 when the transform has none).</summary>
public readonly record struct TransformSpec(TransformType Type, ushort Id, ushort KeyLengthBits = 0)
{
    public static TransformSpec Encr(EncrId id, ushort keyLengthBits = 0) => new(TransformType.Encryption, (ushort)id, keyLengthBits);

    public static TransformSpec Prf(PrfId id) => new(TransformType.PseudoRandomFunction, (ushort)id);

    public static TransformSpec Integ(IntegId id) => new(TransformType.Integrity, (ushort)id);

    public static TransformSpec Ke(KeId id) => new(TransformType.KeyExchange, (ushort)id);

    public static TransformSpec Esn(EsnId id) => new(TransformType.SequenceNumbers, (ushort)id);
}
