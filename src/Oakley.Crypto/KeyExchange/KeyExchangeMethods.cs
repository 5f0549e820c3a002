using Oakley.Protocol.Ikev2;

namespace Oakley.Crypto.KeyExchange;

/// <summary>Creates key exchanges by IANA Transform Type 4 ID. (Placeholder until the KE groups land.)</summary>
public static class KeyExchangeMethods
{
    public static bool IsSupported(KeId id) => false;

    public static KeyExchange Create(KeId id, IEntropySource entropy) =>
        throw new NotSupportedException($"key exchange method {id} is not implemented yet");
}
