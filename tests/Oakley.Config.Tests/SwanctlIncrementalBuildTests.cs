using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Engine.Certificates;

namespace Oakley.Config.Tests;

/// <summary>
/// SwanctlLoader.Build takes a connection over from the store's last build when its section and the build inputs
/// (pools, authorities, certificates, CRLs, trusted keys) are unchanged: the result must equal a full build.
/// </summary>
public class SwanctlIncrementalBuildTests
{
    private static string Conf(int n, bool withPool = true)
    {
        var text = new System.Text.StringBuilder("connections {\n");
        for (var i = 0; i < n; i++)
        {
            text.Append($$"""
                  c{{i}} {
                    local_addrs = 192.0.2.1
                    remote_addrs = 198.51.100.{{i + 1}}
                    {{(i == 0 && withPool ? "pools = p4" : "")}}
                    local {
                      auth = psk
                      id = gw-{{i}}.example
                    }
                    remote {
                      auth = psk
                      id = peer-{{i}}.example
                    }
                    children {
                      net{{i}} {
                        local_ts = 198.51.100.0/24
                        remote_ts = 203.0.113.{{i + 1}}/32
                      }
                    }
                  }

                """);
        }

        text.Append("}\npools {\n  p4 {\n    addrs = 10.3.0.0/28\n  }\n}\nsecrets {\n");
        for (var i = 0; i < n; i++)
        {
            text.Append($"  ike-{i} {{\n    id-a = gw-{i}.example\n    id-b = peer-{i}.example\n    secret = \"s{i}\"\n  }}\n");
        }

        return text.Append("}\n").ToString();
    }

    private static SettingsSection Parse(string text) =>
        new SettingsParser(p => throw new FileNotFoundException(p), _ => []).ParseText(text, "swanctl.conf");

    private static List<string> Fingerprints(SwanctlConfig config) =>
        config.Connections.Select(c => $"{c.Ike.Fingerprint()} {c.Version} {c.KeyingTries} {c.Unique} {string.Join(",", c.ChildPolicies.Select(p => $"{p.Key}={p.Value}"))}").ToList();

    /// <summary>As swanctl --load-all sends it: pools, then one secret and one connection per change.</summary>
    private static (SwanctlStore Store, SwanctlConfig Config) LoadPiecewise(SettingsSection root)
    {
        var store = new SwanctlStore(new SourceLocation("vici", 0, 0));
        SwanctlConfig config = SwanctlLoader.Build(store);
        foreach (var pool in root.Section("pools")!.Sections)
        {
            (store, config, _, _) = store.Change(s => s.SetPool(pool));
        }

        foreach (var secret in root.Section("secrets")!.Sections)
        {
            var data = System.Text.Encoding.UTF8.GetBytes(secret.Value("secret")!.Value);
            var owners = new[] { secret.Value("id-a")!.Value, secret.Value("id-b")!.Value };
            (store, config, _, _) = store.Change(s =>
            {
                s.SetSecret(secret.Name, SwanctlStore.SharedSecret(secret.Name, SharedSecretType.Ike, data, owners, secret.Location));
                return 0;
            });
        }

        foreach (var conn in root.Section("connections")!.Sections)
        {
            (store, config, _, _) = store.Change(s => s.SetConnection(conn), conn.Name);
        }

        return (store, config);
    }

    [Fact]
    public void PiecewiseLoads_GiveTheConfigurationOfTheWholeFile()
    {
        var root = Parse(Conf(20));
        var (store, piecewise) = LoadPiecewise(root);
        var whole = SwanctlLoader.Build(SwanctlStore.FromFile(root, null));
        Assert.Equal(20, piecewise.Connections.Count);
        Assert.Equal(Fingerprints(whole), Fingerprints(piecewise));
        Assert.Equal(Fingerprints(whole), Fingerprints(SwanctlLoader.Build(Fresh(store.Clone()))));
        foreach (var c in whole.Connections)
        {
            Assert.NotNull(piecewise.Secrets.FindSharedKey(c.Ike.LocalId, c.Ike.RemoteId));
        }
    }

    /// <summary>The same store without the last build to take from: every connection built anew.</summary>
    private static SwanctlStore Fresh(SwanctlStore store)
    {
        store.Built = null;
        return store;
    }

    [Fact]
    public void AnUnchangedConnection_IsTakenOver_AndAChangedOneIsBuiltAgain()
    {
        var root = Parse(Conf(3));
        var (store, before) = LoadPiecewise(root);
        var replaced = Parse(Conf(3).Replace("remote_addrs = 198.51.100.2", "remote_addrs = 198.51.100.99", StringComparison.Ordinal)).Section("connections")!.Sections[1];
        var (_, after, _, _) = store.Change(s => s.SetConnection(replaced), replaced.Name);
        Assert.Same(before.Connections[0].Ike, after.Connections[0].Ike);
        Assert.NotSame(before.Connections[1].Ike, after.Connections[1].Ike);
        Assert.Equal("198.51.100.99", Assert.Single(after.Connections[1].Ike.RemoteAddresses).ToString());
        Assert.Same(before.Connections[2].Ike, after.Connections[2].Ike);
    }

    [Fact]
    public void APoolRemoval_AfterTheConnections_MakesTheDependentConnectionInactive()
    {
        var (store, before) = LoadPiecewise(Parse(Conf(3)));
        Assert.Equal(3, before.Connections.Count);
        var (_, after, inactive, removed) = store.Change(s => s.RemovePool("p4"));
        Assert.True(removed);
        Assert.Equal("c0", Assert.Single(inactive).Name);
        Assert.Equal(["c1", "c2"], after.Connections.Select(c => c.Ike.Name));
    }

    [Fact]
    public void ACertificateLoadedAfterTheConnections_ReachesThem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gw.example", key, HashAlgorithmName.SHA256);
        using var x509 = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var cert = Certificate.Parse(x509.RawData, out var error) ?? throw new InvalidOperationException(error);
        // auth = pubkey without certs: the connection takes a loaded end-entity certificate that confirms its id.
        var conn = Parse("""
            connections {
              pk {
                remote_addrs = 192.0.2.2
                local {
                  auth = pubkey
                  id = "CN=gw.example"
                }
                remote {
                  auth = pubkey
                  id = peer.example
                }
              }
            }
            """).Section("connections")!.Sections[0];
        var (store, _) = LoadPiecewise(Parse(Conf(2)));
        (store, var without, var inactive, _) = store.Change(s => s.SetConnection(conn));
        Assert.Equal("pk", Assert.Single(inactive).Name);
        Assert.DoesNotContain(without.Connections, c => c.Ike.Name == "pk");
        var (_, with, stillInactive, _) = store.Change(s =>
        {
            s.AddCertificate(cert, authority: false, "vici");
            return 0;
        });
        Assert.Empty(stillInactive);
        var pk = Assert.Single(with.Connections, c => c.Ike.Name == "pk");
        Assert.Same(cert, Assert.Single(pk.Ike.LocalAuth.Certificates));
    }

    [Fact]
    public void AStoreChangedApartFromACommonCopy_DoesNotTakeTheOtherCopysBuild()
    {
        var (store, _) = LoadPiecewise(Parse(Conf(2)));
        // One copy loses the pool (and builds), the other keeps it: the second must not see the first's build.
        var (gone, goneConfig, _, _) = store.Change(s => s.RemovePool("p4"));
        Assert.Single(goneConfig.Connections);
        var (_, kept, inactive, _) = store.Change(s => s.RemoveConnection("c1"));
        Assert.Empty(inactive);
        Assert.Equal("c0", Assert.Single(kept.Connections).Ike.Name);
        Assert.NotEqual(gone.InputsStamp, store.InputsStamp);
    }

    [Theory]
    [InlineData("gw.example", "peer.example")]
    [InlineData("GW.example", "other.example")]
    [InlineData("x.wild.example", "nobody.example")]
    [InlineData("nobody.example", "198.51.100.7")]
    [InlineData("C=CH, O=Oakley Test, CN=dn", "nobody.example")]
    [InlineData("C=CH, O=Oakley Test, CN=other", "nobody.example")]
    [InlineData("nobody.example", "noone.example")]
    public void SharedKeyPresence_AgreesWithFindSharedKey(string local, string remote)
    {
        var store = new CredentialStore();
        store.Add([Identity.Parse("gw.example")], [1]);
        store.Add([Identity.Parse("*.wild.example")], [2]);
        store.Add([Identity.Parse("198.51.100.7")], [3]);
        store.Add([Identity.Parse("C=CH, O=Oakley Test, CN=dn")], [4]);
        var (l, r) = (Identity.Parse(local), Identity.Parse(remote));
        Assert.Equal(store.FindSharedKey(l, r) is not null, store.SharedKeyPresence()(l, r));
        store.Add([], [5]);
        Assert.True(store.SharedKeyPresence()(l, r));
    }
}
