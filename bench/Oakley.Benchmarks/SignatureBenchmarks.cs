using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Oakley.Crypto.Signature;

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
            "ed25519" => (Ed("1.3.101.112", 32), SignatureSchemes.Ed25519),
            _ => (Ed("1.3.101.113", 57), SignatureSchemes.Ed448),
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

    private static byte[] Ed(string oid, int length)
    {
        var inner = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        inner.WriteOctetString(RandomNumberGenerator.GetBytes(length));
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(oid);
            }

            writer.WriteOctetString(inner.Encode());
        }

        return writer.Encode();
    }
}
