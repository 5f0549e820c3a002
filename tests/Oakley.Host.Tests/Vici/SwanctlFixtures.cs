using System.Security.Cryptography;
using Oakley.Tests.Shared;

namespace Oakley.Host.Tests.Vici;

/// <summary>
/// Realistic swanctl directories (swanctl.conf with x509/, x509ca/, private/ where they need them) for the proof that
/// the file path and VICI configure the daemon alike: PSK net-to-net with several children, certificates with an
/// authority, an EAP gateway with pools and two authentication rounds.
/// </summary>
internal static class SwanctlFixtures
{
    public const string Psk = """
        connections {
          site {
            version = 2
            local_addrs = 192.0.2.1
            remote_addrs = 192.0.2.2, 192.0.2.3
            proposals = aes256gcm16-prfsha256-x25519, aes128-sha256-modp3072
            dpd_delay = 30s
            rekey_time = 2h
            keyingtries = 3
            unique = replace
            local {
              auth = psk
              id = a.example
            }
            remote {
              auth = psk
              id = b.example
            }
            children {
              net {
                local_ts = 198.51.100.0/24
                remote_ts = 203.0.113.0/24, 203.0.113.128/25[tcp/443]
                esp_proposals = aes256gcm16, aes128gcm16-x25519
                start_action = trap
                dpd_action = restart
                rekey_time = 30m
              }
              host {
                mode = transport
                local_ts = dynamic
                remote_ts = dynamic
                esp_proposals = aes256gcm16-esn
                rekey_bytes = 500m
              }
            }
          }
          backup {
            local_addrs = 192.0.2.1
            remote_addrs = 192.0.2.9
            local {
              auth = psk
            }
            remote {
              auth = psk
              id = c.example
            }
            children {
              all {
                local_ts = 0.0.0.0/0
                remote_ts = 10.9.0.0/16
              }
            }
          }
        }
        secrets {
          ike-ab {
            id-a = a.example
            id-b = b.example
            secret = "net-to-net-psk-not-secret"
          }
          ike-c {
            id = c.example
            secret = 0x0123456789abcdef0123456789abcdef
          }
        }
        """;

    public const string Certificates = """
        connections {
          gw {
            local_addrs = 192.0.2.1
            remote_addrs = 192.0.2.2
            send_cert = always
            local {
              auth = pubkey
              certs = moon.pem
              id = moon.example
            }
            remote {
              auth = ecdsa-sha256
              id = sun.example
              cacerts = ca.pem
              revocation = ifuri
            }
            children {
              net {
                local_ts = 198.51.100.0/24
                remote_ts = 203.0.113.0/24
              }
            }
          }
          bysubject {
            remote_addrs = 192.0.2.5
            local_addrs = 192.0.2.1
            local {
              auth = pubkey
              id = moon.example
            }
            remote {
              auth = pubkey
            }
            children {
              net {
                remote_ts = 10.5.0.0/16
              }
            }
          }
        }
        authorities {
          test-ca {
            cacert = ca.pem
            crl_uris = http://crl.example/ca.crl, http://crl2.example/ca.crl
          }
        }
        """;

    public const string EapGateway = """
        connections {
          rw {
            local_addrs = 192.0.2.1
            pools = ipv4, ipv6
            local {
              auth = pubkey
              certs = moon.pem
            }
            remote {
              auth = eap-mschapv2
              eap_id = %any
            }
            remote-2 {
              auth = eap-md5
            }
            children {
              net {
                local_ts = 0.0.0.0/0, ::/0
                esp_proposals = aes256gcm16-x25519
              }
            }
          }
        }
        pools {
          ipv4 {
            addrs = 10.3.0.0/24
            dns = 10.1.0.53, 10.1.0.54
            split_include = 10.1.0.0/16
          }
          ipv6 {
            addrs = 2001:db8:3::/120
          }
        }
        secrets {
          eap-carol {
            id = carol
            secret = "carol-password-not-secret"
          }
          eap-dave {
            id-1 = dave
            id-2 = dave@example.org
            secret = "dave-password-not-secret"
          }
        }
        """;

    /// <summary>Writes <paramref name="conf"/> and a PKI (x509ca/ca.pem, x509/moon.pem, private/moon.key) into a new directory.</summary>
    public static string Write(string conf, string name, TestPki.Ca ca)
    {
        var dir = Directory.CreateTempSubdirectory($"oakley-vici-{name}-").FullName;
        var (moon, _) = TestPki.Issue(ca, "ecdsa256", "moon.example");
        WriteFile(dir, "swanctl.conf", System.Text.Encoding.UTF8.GetBytes(conf + "\n"));
        WriteFile(dir, "x509ca/ca.pem", Pem("CERTIFICATE", ca.Root.Der));
        WriteFile(dir, "x509ca/intermediate.pem", Pem("CERTIFICATE", ca.Intermediate.Der));
        WriteFile(dir, "x509/moon.pem", Pem("CERTIFICATE", moon.Der));
        WriteFile(dir, "private/moon.key", Pem("PRIVATE KEY", TestPki.Key("ecdsa256", "moon.example").Pkcs8));
        return dir;
    }

    private static void WriteFile(string dir, string relative, byte[] bytes)
    {
        var path = Path.Combine(dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static byte[] Pem(string label, byte[] der) => System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString(label, der) + "\n");
}
