using System.Security.Cryptography;
using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>Public keys from DNS (IPSECKEY, RFC 4025; issue 15): the record format, and IKE_AUTH with a key looked up for the peer's FQDN.</summary>
public class IpsecKeyTests
{
    /// <summary>RDATA: precedence 10, gateway type 0 (none), algorithm 2 (RSA), then the RFC 3110 key.</summary>
    internal static byte[] Rdata(RSA rsa, byte gatewayType = 0, byte algorithm = 2, byte[]? gateway = null)
    {
        var p = rsa.ExportParameters(false);
        return [10, gatewayType, algorithm, .. gateway ?? [], (byte)p.Exponent!.Length, .. p.Exponent, .. p.Modulus!];
    }

    [Fact]
    public void Parse_ReadsRfc3110RsaKeys_WithAnyGatewayForm()
    {
        using var rsa = RSA.Create(2048);
        var spki = rsa.ExportSubjectPublicKeyInfo();
        foreach (var (type, gateway) in new (byte, byte[])[] { (0, []), (1, [192, 0, 2, 1]), (2, new byte[16]), (3, [4, (byte)'m', (byte)'o', (byte)'o', (byte)'n', 0]) })
        {
            var key = IpsecKey.Parse(Rdata(rsa, type, gateway: gateway), out var error);
            Assert.True(key is not null, error);
            Assert.Equal(spki, key!.SubjectPublicKeyInfo.ToArray());
        }

        Assert.Null(IpsecKey.Parse(Rdata(rsa, algorithm: 1), out var dsa));
        Assert.Equal("IPSECKEY algorithm 1 is not supported (2, RSA, is)", dsa);
        Assert.Null(IpsecKey.Parse([10, 0], out var shortRecord));
        Assert.Equal("IPSECKEY record shorter than its header", shortRecord);
        Assert.Null(IpsecKey.Parse([10, 7, 2, 1, 2, 3], out var badGateway));
        Assert.Equal("IPSECKEY record with a bad gateway (type 7)", badGateway);
        Assert.Null(IpsecKey.Parse([10, 0, 2, 3, 1, 0], out var truncated));
        Assert.Equal("IPSECKEY RSA key malformed (RFC 3110)", truncated);
    }

    [Theory]
    [InlineData(true, "signed")]
    [InlineData(false, "signed")]
    [InlineData(true, "unsigned")]
    [InlineData(false, "unsigned")]
    public void PeerKeyFromDns_IsUsedOnlyWhenTheResolverValidatedIt(bool moonInitiates, string answer)
    {
        var (sunKey, _) = TestPki.Key("rsa2048", "sun dns");
        var (moonKey, _) = TestPki.Key("rsa2048", "moon dns");
        var sunPub = SignaturePublicKey.FromSubjectPublicKeyInfo(sunKey.ExportSubjectPublicKeyInfo(), out _)!;
        var moonPub = SignaturePublicKey.FromSubjectPublicKeyInfo(moonKey.ExportSubjectPublicKeyInfo(), out _)!;
        var dns = new FakeDns(answer == "signed" ? new KeyLookup([sunPub], null, false)
            : new KeyLookup([], "the IPSECKEY records of sun.example are not DNSSEC-validated (resolver 192.0.2.53:53 did not set AD)", false));
        var scenario = new Scenario
        {
            MoonPsk = null,
            SunPsk = null,
            MoonLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [moonPub] },
            MoonRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey },
            SunLocalAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [sunPub] },
            SunRemoteAuth = new AuthConfig { Class = AuthClass.PublicKey, PublicKeys = [moonPub] },
            MoonCertificates = new CertificateStore([], []) { KeyDirectory = dns },
        };
        scenario.MoonKeys.Add(moonKey);
        scenario.SunKeys.Add(sunKey);
        var pair = scenario.Build();
        pair.Initiate(moonInitiates);
        // The first IKE_AUTH waits for the lookup (dropped); the retransmission after it completes is processed.
        Assert.Empty(pair.EventsA.OfType<IkeSaUp>());
        dns.Complete();
        pair.RunUntilIdle(TimeSpan.FromSeconds(30));
        Assert.Equal(["sun.example"], dns.Asked.Distinct());
        if (answer == "signed")
        {
            Assert.Single(pair.EventsA.OfType<IkeSaUp>());
            Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        }
        else
        {
            Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains(
                "no public key for 'sun.example': the IPSECKEY records of sun.example are not DNSSEC-validated (resolver 192.0.2.53:53 did not set AD)", StringComparison.Ordinal));
            Assert.Empty(pair.A.IkeSas);
            Assert.Empty(pair.B.IkeSas);
        }
    }

    /// <summary>A DNS whose answer is in flight until the test completes it.</summary>
    private sealed class FakeDns(KeyLookup answer) : IPublicKeyDirectory
    {
        private bool _done;

        public List<string> Asked { get; } = [];

        public void Complete() => _done = true;

        public KeyLookup Lookup(string fqdn)
        {
            Asked.Add(fqdn);
            return _done ? answer : new KeyLookup([], null, true);
        }
    }
}
