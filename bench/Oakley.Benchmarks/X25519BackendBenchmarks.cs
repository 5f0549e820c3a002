using BenchmarkDotNet.Attributes;
using NSec.Cryptography;
using Oakley.Crypto.KeyExchange;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Benchmarks;

/// <summary>Why Curve25519 goes through a raw libsodium P/Invoke: NSec's Key/Agree path against ours.</summary>
[Config(typeof(BenchConfig))]
public class X25519BackendBenchmarks
{
    private readonly SystemEntropy _entropy = new();
    private byte[] _peer = [];
    private PublicKey _nsecPeer = null!;

    [GlobalSetup]
    public void Setup()
    {
        using var k = KeyExchangeMethods.Create(KeId.Curve25519, _entropy);
        _peer = k.GetPublicKey();
        _nsecPeer = PublicKey.Import(KeyAgreementAlgorithm.X25519, _peer, KeyBlobFormat.RawPublicKey);
    }

    [Benchmark(Baseline = true)]
    public int Oakley_KeyGenAndAgree()
    {
        using var k = KeyExchangeMethods.Create(KeId.Curve25519, _entropy);
        k.GetPublicKey();
        k.SetPeerPublicKey(_peer);
        return k.GetSharedSecret().Length;
    }

    [Benchmark]
    public int NSec_KeyGenAndAgree()
    {
        using var key = Key.Create(KeyAgreementAlgorithm.X25519);
        _ = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        using var shared = KeyAgreementAlgorithm.X25519.Agree(key, _nsecPeer);
        return shared is null ? 0 : 32;
    }
}
