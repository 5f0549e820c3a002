using System.Security.Cryptography;
using Oakley.Config;
using Oakley.Tests.Shared;

namespace Oakley.Host.Tests;

/// <summary>list-certs and list-authorities (issue 15): what was loaded, whose key is held, who uses it, revocation from x509crl/; no key material.</summary>
public sealed class CertificateViewsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-views-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private void Write(string relative, byte[] bytes)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void ListCerts_ShowsEachCertificate_ItsKeyHolderAndUser_AndTheCrlVerdict()
    {
        var ca = TestPki.NewCa("ecdsa256", "Views");
        var (moon, _) = TestPki.Issue(ca, "ecdsa256", "moon.example", ["IP:192.0.2.1"], eku: ["1.3.6.1.5.5.7.3.1"]);
        var (sun, _) = TestPki.Issue(ca, "ecdsa256", "sun.example");
        var (_, pkcs8) = TestPki.Key("ecdsa256", "moon.example");
        Write("x509ca/root.der", ca.Root.Der);
        Write("x509/int.der", ca.Intermediate.Der);
        Write("x509/moon.der", moon.Der);
        Write("x509/sun.der", sun.Der);
        Write("private/moon.key", pkcs8);
        Write("x509crl/int.crl", TestRevocation.Crl(ca, "ecdsa256", [(sun, TestPki.Epoch.AddDays(2))], TestPki.Epoch.AddDays(3), TestPki.Epoch.AddYears(3)));
        File.WriteAllText(Path.Combine(_dir, "swanctl.conf"), """
            connections {
              gw {
                local_addrs = 192.0.2.1
                local {
                  auth = pubkey
                  certs = moon.der
                }
                remote {
                  auth = pubkey
                }
              }
            }
            authorities {
              views {
                cacert = root.der
                crl_uris = http://crl.example/int.crl
              }
            }
            """);
        var config = SwanctlFile.Load(Path.Combine(_dir, "swanctl.conf"));
        var now = TestPki.Epoch.AddDays(30);
        var certs = CertificateViews.ListCerts(config, now)["certificates"]!.AsArray();
        var m = certs.Single(c => (string)c!["subject"]! == "C=CH, O=Oakley Test, CN=moon.example")!;
        Assert.True((bool)m["has-private-key"]!);
        Assert.Equal(["gw (local)"], m["used-by"]!.AsArray().Select(u => (string)u!));
        Assert.Equal(["DNS:moon.example", "IP:192.0.2.1"], m["alt-names"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(["serverAuth"], m["flags"]!.AsArray().Select(f => (string)f!));
        Assert.Equal("ECDSA", (string)m["key-type"]!);
        Assert.StartsWith("good (CRL from ", (string)m["revocation"]!, StringComparison.Ordinal);
        var s = certs.Single(c => (string)c!["subject"]! == "C=CH, O=Oakley Test, CN=sun.example")!;
        Assert.False((bool)s["has-private-key"]!);
        Assert.StartsWith("certificate 'C=CH, O=Oakley Test, CN=sun.example' revoked on 2026-01-03, keyCompromise (CRL from ", (string)s["revocation"]!, StringComparison.Ordinal);
        var root = certs.Single(c => (bool)c!["trusted"]!)!;
        Assert.Equal("X509_CA", (string)root["type"]!);
        Assert.DoesNotContain(Convert.ToBase64String(pkcs8), CertificateViews.ListCerts(config, now).ToJsonString(), StringComparison.Ordinal);

        var authority = Assert.Single(CertificateViews.ListAuthorities(config)["authorities"]!.AsArray())!;
        Assert.Equal("views", (string)authority["name"]!);
        Assert.Equal(["http://crl.example/int.crl"], authority["crl-uris"]!.AsArray().Select(u => (string)u!));
    }
}
