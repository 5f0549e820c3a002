using BenchmarkDotNet.Attributes;
using Oakley.Crypto;
using Oakley.Crypto.KeyExchange;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Benchmarks;

/// <summary>
/// Each key-exchange method's two costs as a handshake pays them: key generation (create + public value)
/// and derivation (validate the peer's value + compute the shared secret; for ML-KEM's responder this is
/// encapsulation).
/// </summary>
[Config(typeof(BenchConfig))]
public class KeyExchangeBenchmarks
{
    private readonly IEntropySource _entropy = new SystemEntropy();
    private byte[] _peer = [];

    [Params(KeId.Modp768, KeId.Modp1024, KeId.Modp1536, KeId.Modp2048, KeId.Modp3072, KeId.Modp4096, KeId.Modp6144, KeId.Modp8192,
        KeId.Modp1024s160, KeId.Modp2048s224, KeId.Modp2048s256,
        KeId.Ecp256, KeId.Ecp384, KeId.Ecp521, KeId.Ecp192, KeId.Ecp224,
        KeId.Brainpool224, KeId.Brainpool256, KeId.Brainpool384, KeId.Brainpool512,
        KeId.Curve25519, KeId.Curve448, KeId.MlKem512, KeId.MlKem768, KeId.MlKem1024)]
    public KeId Method { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using var peer = KeyExchangeMethods.Create(Method, _entropy);
        _peer = peer.GetPublicKey(); // for a KEM this is the initiator's encapsulation key: we measure the responder
    }

    [Benchmark]
    public int KeyGen()
    {
        using var ke = KeyExchangeMethods.Create(Method, _entropy);
        return ke.GetPublicKey().Length;
    }

    [Benchmark]
    public int Derive()
    {
        using var ke = KeyExchangeMethods.Create(Method, _entropy);
        if (!KeyExchangeMethods.IsKem(Method))
        {
            ke.GetPublicKey();
        }

        ke.SetPeerPublicKey(_peer);
        return ke.GetSharedSecret().Length;
    }
}

/// <summary>The OS CSPRNG for benchmarks (the host injects the same in production).</summary>
internal sealed class SystemEntropy : IEntropySource
{
    public void Fill(Span<byte> destination) => System.Security.Cryptography.RandomNumberGenerator.Fill(destination);
}
