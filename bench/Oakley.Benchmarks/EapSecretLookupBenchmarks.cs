using BenchmarkDotNet.Attributes;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Benchmarks;

/// <summary>
/// The gateway's EAP secret lookup (swanctl <c>secrets.eap-*</c> in the daemon's <see cref="CredentialStore"/>), which
/// EAP-MSCHAPv2 does once per client authentication: what it costs with 1,000 and 60,000 users' secrets loaded
/// (<c>oakley bench handshake --auth eap-mschapv2</c> showed the responder's cost per IKE SA growing with the users).
/// </summary>
[Config(typeof(BenchConfig))]
public class EapSecretLookupBenchmarks
{
    private CredentialStore _store = null!;
    private Identity _user = null!;
    private Identity _server = null!;

    [Params(1_000, 60_000)]
    public int Users { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new CredentialStore();
        for (var k = 1; k <= Users; k++)
        {
            _store.AddEap([Identity.Parse($"user{k}")], System.Text.Encoding.UTF8.GetBytes($"password of user{k}"));
        }

        _user = Identity.Parse($"user{Users / 2}");
        _server = Identity.Parse("responder.example");
    }

    [Benchmark]
    public byte[]? FindEapSecret() => _store.FindEapSecret(_user, _server) ?? throw new InvalidOperationException("not found");
}
