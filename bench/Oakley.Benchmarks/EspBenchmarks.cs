using BenchmarkDotNet.Attributes;
using Oakley.Crypto.Registry;
using Oakley.Esp;
using Oakley.Protocol.Ikev2;

namespace Oakley.Benchmarks;

/// <summary>ESP seal, and seal followed by open (open alone would trip the anti-replay window), per packet.</summary>
[Config(typeof(BenchConfig))]
public class EspBenchmarks
{
    private EspSa _tx = null!;
    private EspSa _rx = null!;
    private byte[] _payload = [];
    private byte[] _packet = [];
    private byte[] _back = [];

    [Params("aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128-sha256")]
    public string Suite { get; set; } = "aes128gcm16";

    [Params(64, 1400)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var p = ProposalString.Parse(Suite, ProtocolId.Esp);
        var encr = p.OfType(TransformType.Encryption).Single();
        var encryption = TransformRegistry.GetEncryption((EncrId)encr.Id, encr.KeyLengthBits)!;
        var integ = p.OfType(TransformType.Integrity).Select(t => TransformRegistry.GetIntegrity((IntegId)t.Id)).FirstOrDefault();
        var ek = new byte[encryption.KeyMaterialSize];
        var ik = new byte[integ?.KeySize ?? 0];
        _tx = new EspSa(0x1000, encryption, ek, integ, ik, false, 4096, new SystemEntropy());
        _rx = new EspSa(0x1000, encryption, ek, integ, ik, false, 4096, new SystemEntropy());
        _payload = new byte[Size];
        _packet = new byte[Size + 128];
        _back = new byte[Size + 128];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tx.Dispose();
        _rx.Dispose();
    }

    [Benchmark]
    public int Seal()
    {
        _tx.Seal(_payload, 4, _packet, out var n);
        return n;
    }

    [Benchmark]
    public EspOpenResult SealThenOpen()
    {
        _tx.Seal(_payload, 4, _packet, out var n);
        return _rx.Open(_packet.AsSpan(0, n), _back, out _, out _);
    }
}
