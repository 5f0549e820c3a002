using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Oakley.Engine;
using Oakley.Protocol.Ikev2;
using Oakley.Tests.Shared;

namespace Oakley.Config.Tests;

/// <summary>
/// swanctl's credential directories next to swanctl.conf (issue 15): certificates in PEM and DER, keys in every
/// form strongSwan reads (PKCS#8, encrypted PKCS#8 with its passphrase from secrets, PKCS#1, SEC1, PKCS#12),
/// warnings for loose permissions and unreadable files, and connection errors with file:line.
/// </summary>
public sealed class SwanctlCredentialTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oakley-swanctl-").FullName;
    private readonly TestPki.Ca _ca = TestPki.NewCa("ecdsa256");

    public void Dispose() => Directory.Delete(_dir, true);

    private string Conf(string local, string remote = "auth = pubkey", string secrets = "") => $$"""
        connections {
          gw {
            local_addrs = 192.0.2.1
            remote_addrs = 192.0.2.2
            local {
              {{local}}
            }
            remote {
              {{remote}}
            }
            children {
              net {
                local_ts = 198.51.100.0/24
                remote_ts = 203.0.113.0/24
              }
            }
          }
        }
        secrets {
        {{secrets}}
        }
        """;

    private void Write(string relative, byte[] bytes, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private static byte[] Pem(string label, byte[] der) => System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString(label, der) + "\n");

    private SwanctlConfig Load(string text)
    {
        File.WriteAllText(Path.Combine(_dir, "swanctl.conf"), text);
        return SwanctlFile.Load(Path.Combine(_dir, "swanctl.conf"));
    }

    private (Engine.Certificates.Certificate Cert, ECDsa Key) Moon()
    {
        var (cert, _) = TestPki.Issue(_ca, "ecdsa256", "moon.example");
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(TestPki.Key("ecdsa256", "moon.example").Pkcs8, out _);
        Write("x509ca/ca.pem", Pem("CERTIFICATE", _ca.Root.Der));
        Write("x509/moon.der", cert.Der);
        return (cert, key);
    }

    [Theory]
    [InlineData("pkcs8")]
    [InlineData("sec1")]
    [InlineData("der")]
    public void Certificate_AndItsKey_InEachForm_Authenticate_WithTheSubjectAsDefaultId(string form)
    {
        var (cert, key) = Moon();
        Write("private/moon.key", form switch
        {
            "pkcs8" => Pem("PRIVATE KEY", key.ExportPkcs8PrivateKey()),
            "sec1" => Pem("EC PRIVATE KEY", key.ExportECPrivateKey()),
            _ => key.ExportPkcs8PrivateKey(),
        });
        var config = Load(Conf("auth = pubkey\n      certs = moon.der", "auth = pubkey\n      cacerts = ca.pem"));
        var ike = Assert.Single(config.Connections).Ike;
        Assert.Equal(AuthClass.PublicKey, ike.LocalAuth.Class);
        Assert.Equal(cert.Fingerprint, Assert.Single(ike.LocalAuth.Certificates).Fingerprint);
        Assert.Equal(IdentificationType.DerAsn1Dn, ike.LocalId.Type);
        Assert.Equal("C=CH, O=Oakley Test, CN=moon.example", ike.LocalId.ToString());
        Assert.Equal(_ca.Root.Fingerprint, Assert.Single(ike.RemoteAuth.CaCertificates).Fingerprint);
        Assert.NotNull(config.Secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span));
        Assert.Single(config.Secrets.Certificates.Authorities);
        Assert.DoesNotContain(config.Warnings, w => w.Message.Contains("private", StringComparison.Ordinal));
    }

    [Fact]
    public void RsaPkcs1Key_IsRead()
    {
        using var rsa = RSA.Create(2048);
        Write("rsa/key.pem", Pem("RSA PRIVATE KEY", rsa.ExportRSAPrivateKey()));
        var config = Load(Conf("auth = psk\n      id = moon.example", "auth = psk"));
        Assert.NotNull(config.Secrets.FindPrivateKey(rsa.ExportSubjectPublicKeyInfo()));
    }

    [Fact]
    public void EncryptedPkcs8_NeedsItsPassphraseFromSecrets()
    {
        var (cert, key) = Moon();
        var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000);
        Write("private/moon.key", Pem("ENCRYPTED PRIVATE KEY", key.ExportEncryptedPkcs8PrivateKey("not-a-real-passphrase", pbe)));
        var without = Load(Conf("auth = pubkey\n      certs = moon.der"));
        Assert.Null(without.Secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span));
        Assert.Contains(without.Warnings, w => w.Message.EndsWith("moon.key is encrypted, and no secrets entry (private-*, rsa-*, ecdsa-*, pkcs8-* with file = moon.key) gives its passphrase", StringComparison.Ordinal));

        var wrong = Load(Conf("auth = pubkey\n      certs = moon.der", secrets: "  private-moon {\n    file = moon.key\n    secret = wrong\n  }"));
        Assert.Contains(wrong.Warnings, w => w.Message.Contains("the passphrase from secrets does not decrypt it", StringComparison.Ordinal));
        Assert.DoesNotContain(wrong.Warnings, w => w.Message.Contains("wrong", StringComparison.Ordinal));

        var with = Load(Conf("auth = pubkey\n      certs = moon.der", secrets: "  private-moon {\n    file = moon.key\n    secret = not-a-real-passphrase\n  }"));
        Assert.NotNull(with.Secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span));
        Assert.DoesNotContain(with.Warnings, w => w.Message.Contains("not-a-real-passphrase", StringComparison.Ordinal));
    }

    [Fact]
    public void Pkcs12_GivesKeyAndCertificates()
    {
        var (cert, key) = Moon();
        File.Delete(Path.Combine(_dir, "x509/moon.der"));
        using var x509 = X509CertificateLoader.LoadCertificate(cert.Der);
        using var withKey = x509.CopyWithPrivateKey(key);
        Write("pkcs12/moon.p12", withKey.Export(X509ContentType.Pkcs12, "p12-test-passphrase"));
        var config = Load(Conf("auth = pubkey\n      id = moon.example", secrets: "  pkcs12-moon {\n    file = moon.p12\n    secret = p12-test-passphrase\n  }"));
        Assert.NotNull(config.Secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span));
        // No certs = …: the certificate of pkcs12/ that confirms local.id is used.
        Assert.Equal(cert.Fingerprint, Assert.Single(config.Connections[0].Ike.LocalAuth.Certificates).Fingerprint);
    }

    [Fact]
    public void LooseKeyPermissions_AreAWarning()
    {
        var (_, key) = Moon();
        Write("private/moon.key", Pem("PRIVATE KEY", key.ExportPkcs8PrivateKey()), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var config = Load(Conf("auth = pubkey\n      certs = moon.der"));
        Assert.Contains(config.Warnings, w => w.Message.EndsWith("moon.key is accessible by group or others (mode 644): a private key should be chmod 600", StringComparison.Ordinal));
    }

    [Fact]
    public void EapTlsRounds_ReadTheirCerts()
    {
        var (cert, _) = Moon();
        var ike = Assert.Single(Load(Conf("auth = eap-tls\n      certs = moon.der\n      id = moon.example")).Connections).Ike;
        Assert.Equal(AuthClass.Eap, ike.LocalAuth.Class);
        Assert.Equal(cert.Fingerprint, Assert.Single(ike.LocalAuth.Certificates).Fingerprint);
        var missing = Assert.Throws<ConfigException>(() => Load(Conf("auth = eap-tls\n      certs = nope.pem\n      id = moon.example")));
        Assert.Matches(@"swanctl.conf:7: error: certificate file 'nope.pem' not found", missing.Message);
    }

    [Fact]
    public void ConnectionErrors_NameTheFileAndLine()
    {
        Moon();
        var missing = Assert.Throws<ConfigException>(() => Load(Conf("auth = pubkey\n      certs = nope.pem")));
        Assert.Matches(@"swanctl.conf:7: error: certificate file 'nope.pem' not found \(.*/x509/nope.pem\)$", missing.Message);
        var id = Assert.Throws<ConfigException>(() => Load(Conf("auth = pubkey\n      certs = moon.der\n      id = sun.example")));
        Assert.EndsWith("error: connection 'gw': ID 'sun.example' not confirmed by certificate 'C=CH, O=Oakley Test, CN=moon.example'; its subjectAltNames are DNS:moon.example", id.Message, StringComparison.Ordinal);
        var scheme = Assert.Throws<ConfigException>(() => Load(Conf("auth = pubkey\n      certs = moon.der", "auth = rsa-md5")));
        Assert.Contains("'md5' is not a hash", scheme.Message, StringComparison.Ordinal);
        Write("x509/broken.pem", System.Text.Encoding.ASCII.GetBytes("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
        var warned = Load(Conf("auth = pubkey\n      certs = moon.der"));
        Assert.Contains(warned.Warnings, w => w.Message.Contains("broken.pem: not a usable X.509 certificate", StringComparison.Ordinal));
    }

    [Fact]
    public void Revocation_PolicyAndCrlsOfX509crl_AreLoaded()
    {
        var (cert, _) = Moon();
        var crl = TestRevocation.Crl(_ca, "ecdsa256", [(cert, TestPki.Epoch.AddDays(1))], TestPki.Epoch, TestPki.Epoch.AddYears(1));
        Write("x509crl/lab.crl", Pem("X509 CRL", crl));
        Write("x509crl/broken.crl", [0x30, 0x01]);
        var config = Load(Conf("auth = pubkey\n      certs = moon.der", "auth = pubkey\n      revocation = strict"));
        Assert.Equal(Engine.Certificates.RevocationPolicy.Strict, config.Connections[0].Ike.RemoteAuth.Revocation);
        var loaded = Assert.Single(config.Secrets.Certificates.Revocation.LocalCrls);
        Assert.NotNull(loaded.Find(cert));
        Assert.Contains(config.Warnings, w => w.Message.Contains("broken.crl: not a usable CRL", StringComparison.Ordinal));
        var bad = Assert.Throws<ConfigException>(() => Load(Conf("auth = pubkey\n      certs = moon.der", "auth = pubkey\n      revocation = sometimes")));
        Assert.EndsWith("invalid value for 'revocation': 'sometimes' (strict, ifuri or relaxed)", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AuthValues_SelectSignatureSchemes()
    {
        Moon();
        var ike = Load(Conf("auth = pubkey\n      certs = moon.der", "auth = rsa/pss-sha384-sha256")).Connections[0].Ike;
        Assert.Equal(["rsa-pss-sha256", "rsa-pss-sha384"], ike.RemoteAuth.Schemes.Select(s => s.Name));
        var sha1 = Load(Conf("auth = pubkey\n      certs = moon.der", "auth = rsa-sha1")).Connections[0].Ike;
        Assert.Equal(["rsa-pkcs1-sha1"], sha1.RemoteAuth.Schemes.Select(s => s.Name));
        var all = Load(Conf("auth = pubkey\n      certs = moon.der")).Connections[0].Ike;
        Assert.DoesNotContain(all.RemoteAuth.Schemes, s => s.Name.EndsWith("sha1", StringComparison.Ordinal));
    }
}
