using Oakley.Iana;

namespace Oakley.Crypto.KeyExchange;

/// <summary>Creates key exchanges by IANA Transform Type 4 ID.</summary>
public static class KeyExchangeMethods
{
    public static bool IsSupported(KeId id) =>
        ModpGroup.Has(id) || EcpKeyExchange.Supports(id) || id is KeId.Curve25519 or KeId.Curve448 or KeId.MlKem512 or KeId.MlKem768 or KeId.MlKem1024;

    /// <summary>True for KEMs, whose two KE payloads differ (encapsulation key, then ciphertext).</summary>
    public static bool IsKem(KeId id) => id is KeId.MlKem512 or KeId.MlKem768 or KeId.MlKem1024;

    public static KeyExchange Create(KeId id, IEntropySource entropy)
    {
        ArgumentNullException.ThrowIfNull(entropy);
        if (ModpGroup.Has(id))
        {
            return new ModpKeyExchange(id, entropy);
        }

        if (EcpKeyExchange.Supports(id))
        {
            return new EcpKeyExchange(id, entropy);
        }

        return id switch
        {
            KeId.Curve25519 => new X25519KeyExchange(entropy),
            KeId.Curve448 => new X448KeyExchange(entropy),
            KeId.MlKem512 or KeId.MlKem768 or KeId.MlKem1024 => new MlKemKeyExchange(id, entropy),
            _ => throw new NotSupportedException($"key exchange method {id} ({(ushort)id}) is not supported"),
        };
    }

    /// <summary>The length of the KE data a peer must send: for KEMs it depends on the sender's role.</summary>
    public static int PublicKeyLength(KeId id, bool fromInitiator)
    {
        if (ModpGroup.Has(id))
        {
            return ModpGroup.Get(id).Length;
        }

        return id switch
        {
            KeId.Ecp256 or KeId.Brainpool256 => 64,
            KeId.Ecp384 or KeId.Brainpool384 => 96,
            KeId.Ecp521 => 132,
            KeId.Ecp192 => 48,
            KeId.Ecp224 or KeId.Brainpool224 => 56,
            KeId.Brainpool512 => 128,
            KeId.Curve25519 => 32,
            KeId.Curve448 => 56,
            KeId.MlKem512 or KeId.MlKem768 or KeId.MlKem1024 => fromInitiator ? MlKemKeyExchange.EncapsulationKeyLength(id) : MlKemKeyExchange.CiphertextLength(id),
            _ => throw new NotSupportedException($"key exchange method {id} is not supported"),
        };
    }
}
