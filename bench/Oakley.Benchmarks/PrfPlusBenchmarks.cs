using BenchmarkDotNet.Attributes;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Benchmarks;

/// <summary>
/// The IKE SA key derivation of one handshake: SKEYSEED plus prf+ for the seven keys of an
/// aes256gcm16 proposal (SK_d, SK_pi, SK_pr at the PRF's size, SK_ei/SK_er 36 bytes each).
/// </summary>
[Config(typeof(BenchConfig))]
public class PrfPlusBenchmarks
{
    private readonly byte[] _ni = new byte[32];
    private readonly byte[] _nr = new byte[32];
    private readonly byte[] _gir = new byte[32];
    private Oakley.Crypto.Prf.Prf _prf = null!;

    [Params(PrfId.HmacSha2_256, PrfId.HmacSha2_384, PrfId.HmacSha2_512, PrfId.Aes128Xcbc)]
    public PrfId Prf { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _prf = TransformRegistry.GetPrf(Prf)!;
        new Random(1).NextBytes(_ni);
        new Random(2).NextBytes(_nr);
        new Random(3).NextBytes(_gir);
    }

    [Benchmark]
    public int IkeSaKeys()
    {
        var skeyseed = Ikev2KeySchedule.DeriveSkeyseed(_prf, _ni, _nr, _gir);
        using var keys = Ikev2KeySchedule.DeriveKeys(_prf, skeyseed, _ni, _nr, 0x0102030405060708, 0x1112131415161718, 36, 0);
        return keys.SK_d.Length;
    }

    [Benchmark]
    public int ChildSaKeys()
    {
        using var keys = Ikev2KeySchedule.DeriveChildKeys(_prf, _gir, _ni, _nr, 36, 0);
        return keys.EncryptionKeyInitiatorToResponder.Length;
    }
}
