using BenchmarkDotNet.Attributes;
using Oakley.Crypto.Registry;
using Oakley.Esp;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Benchmarks;

/// <summary>
/// ESP seal, and seal followed by open (open alone would trip the anti-replay window), per packet; and the same
/// through the data plane (SPD lookup, seal, SAD lookup, open, policy check). MemoryDiagnoser must show 0 B.
/// </summary>
[Config(typeof(BenchConfig))]
public class EspBenchmarks
{
    private EspSa _tx = null!;
    private EspSa _rx = null!;
    private byte[] _payload = [];
    private byte[] _packet = [];
    private byte[] _back = [];
    private byte[] _ipPacket = [];
    private EspDataPlane _outPlane = null!;
    private EspDataPlane _inPlane = null!;

    [Params("aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128-sha256")]
    public string Suite { get; set; } = "aes128gcm16";

    [Params(64, 512, 1400)]
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

        // An IPv4 UDP packet of Size bytes from 198.51.100.1 to 203.0.113.1, and two planes that carry it.
        _ipPacket = new byte[Math.Max(Size, 28)];
        _ipPacket[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_ipPacket.AsSpan(2), (ushort)_ipPacket.Length);
        _ipPacket[9] = 17;
        _ipPacket[12] = 198; _ipPacket[13] = 51; _ipPacket[14] = 100; _ipPacket[15] = 1;
        _ipPacket[16] = 203; _ipPacket[17] = 0; _ipPacket[18] = 113; _ipPacket[19] = 1;
        var local = new Selector(false, 0xC6336400, 0xC63364FF, 0, 0, 65535);
        var remote = new Selector(false, 0xCB007100, 0xCB0071FF, 0, 0, 65535);
        var txPlane = new EspSa(0x2000, encryption, ek, integ, ik, false, 4096, new SystemEntropy());
        var rxPlane = new EspSa(0x2000, encryption, ek, integ, ik, false, 4096, new SystemEntropy());
        var outDb = SecurityDatabases.Of([new Policy(local, remote, txPlane, "bench")], []);
        var inDb = SecurityDatabases.Of([], [new InboundSa(rxPlane, [new Policy(remote, local, null, "bench")])]);
        _outPlane = new EspDataPlane(outDb);
        _inPlane = new EspDataPlane(inDb);
        _packet = new byte[_ipPacket.Length + 128];
        _back = new byte[_ipPacket.Length + 128];
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
    public int DataPlaneOutThenIn()
    {
        _outPlane.Outbound(_ipPacket, _packet, out var n, out _);
        return _inPlane.Inbound(_packet.AsSpan(0, n), _back);
    }

    [Benchmark]
    public EspOpenResult SealThenOpen()
    {
        _tx.Seal(_payload, 4, _packet, out var n);
        return _rx.Open(_packet.AsSpan(0, n), _back, out _, out _);
    }
}
