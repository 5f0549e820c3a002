using BenchmarkDotNet.Attributes;
using NSec.Cryptography;
using Oakley.Crypto.Cipher;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Benchmarks;

/// <summary>
/// AEAD seal and open through Oakley's cipher contexts, at 64 and 1400 bytes, plus NSec's ChaCha20-Poly1305
/// for the backend comparison the design asks for.
/// </summary>
[Config(typeof(BenchConfig))]
public class AeadBenchmarks
{
    private readonly byte[] _iv = new byte[8];
    private readonly byte[] _aad = new byte[8];
    private byte[] _plain = [];
    private byte[] _cipher = [];
    private byte[] _tag = [];
    private byte[] _out = [];
    private CipherContext _ctx = null!;
    private Key _nsecKey = null!;
    private readonly byte[] _nonce = new byte[12];
    private byte[] _nsecCipher = [];

    [Params("aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128ccm16", "aes256gcm8")]
    public string Algorithm { get; set; } = "aes128gcm16";

    [Params(64, 1400)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        TransformRegistry.TryGetByKeyword(Algorithm, out var info);
        var algorithm = TransformRegistry.GetEncryption((EncrId)info.Id, info.KeyLengthBits)!;
        var key = new byte[algorithm.KeyMaterialSize];
        new Random(5).NextBytes(key);
        _ctx = algorithm.CreateContext(key);
        _plain = new byte[Size];
        _cipher = new byte[Size];
        _out = new byte[Size];
        _tag = new byte[algorithm.IcvSize];
        _ctx.Encrypt(_iv, _aad, _plain, _cipher, _tag);
        var nsecKey = new byte[32];
        new Random(6).NextBytes(nsecKey);
        _nsecKey = Key.Import(AeadAlgorithm.ChaCha20Poly1305, nsecKey, KeyBlobFormat.RawSymmetricKey);
        _nsecCipher = new byte[Size + 16];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ctx.Dispose();
        _nsecKey.Dispose();
    }

    [Benchmark]
    public void Seal() => _ctx.Encrypt(_iv, _aad, _plain, _cipher, _tag);

    [Benchmark]
    public bool Open() => _ctx.Decrypt(_iv, _aad, _cipher, _tag, _out);

    /// <summary>NSec (libsodium) ChaCha20-Poly1305 seal, for comparison with the BCL path (only meaningful for chacha20poly1305 rows).</summary>
    [Benchmark]
    public void SealNSecChaCha() => AeadAlgorithm.ChaCha20Poly1305.Encrypt(_nsecKey, _nonce, _aad, _plain, _nsecCipher);
}
