using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Oakley.Crypto.Signature;
using Oakley.Tests.Shared;

namespace Oakley.Benchmarks;

/// <summary>
/// What one IKE_AUTH signature costs per key type (issue 15): a sign and a verify over signed octets of a typical
/// size. The floor of a certificate handshake: each side signs once and verifies once.
/// </summary>
[Config(typeof(BenchConfig))]
public class SignatureBenchmarks
{
    private readonly byte[] _octets = new byte[600];
    private SignaturePrivateKey _key = null!;
    private SignaturePublicKey _public = null!;
    private SignatureScheme _scheme = null!;
    private byte[] _signature = [];

    [Params("rsa3072-pss", "rsa3072-pkcs1", "ecdsa256", "ecdsa384", "ed25519", "ed448")]
    public string Key { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        RandomNumberGenerator.Fill(_octets);
        (var pkcs8, _scheme) = Key switch
        {
            "rsa3072-pss" => (Rsa(), SignatureSchemes.RsaPssSha256),
            "rsa3072-pkcs1" => (Rsa(), SignatureSchemes.RsaPkcs1Sha256),
            "ecdsa256" => (Ec(ECCurve.NamedCurves.nistP256), SignatureSchemes.EcdsaSha256),
            "ecdsa384" => (Ec(ECCurve.NamedCurves.nistP384), SignatureSchemes.EcdsaSha384),
            "ed25519" => (EdDsaTestKeys.Pkcs8(RandomNumberGenerator.GetBytes(32), ed448: false), SignatureSchemes.Ed25519),
            _ => (EdDsaTestKeys.Pkcs8(RandomNumberGenerator.GetBytes(57), ed448: true), SignatureSchemes.Ed448),
        };
        _key = SignaturePrivateKey.FromPkcs8(pkcs8, out var why) ?? throw new InvalidOperationException(why);
        _public = SignaturePublicKey.FromSubjectPublicKeyInfo(_key.ExportSubjectPublicKeyInfo(), out why) ?? throw new InvalidOperationException(why);
        _signature = _key.Sign(_scheme, _octets);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
        _public.Dispose();
    }

    [Benchmark]
    public int Sign() => _key.Sign(_scheme, _octets).Length;

    [Benchmark]
    public bool Verify() => _public.Verify(_scheme, _octets, _signature);

    private static byte[] Rsa()
    {
        using var rsa = RSA.Create(3072);
        return rsa.ExportPkcs8PrivateKey();
    }

    private static byte[] Ec(ECCurve curve)
    {
        using var ec = ECDsa.Create(curve);
        return ec.ExportPkcs8PrivateKey();
    }
}
