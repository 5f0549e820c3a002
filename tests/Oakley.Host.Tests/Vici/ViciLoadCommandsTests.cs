using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Config;
using Oakley.Host.Vici;
using Oakley.Tests.Shared;

namespace Oakley.Host.Tests.Vici;

/// <summary>The configuration-loading commands called directly with the messages swanctl sends (load_conns.c, load_creds.c, ...).</summary>
public sealed class ViciLoadCommandsTests
{
    private readonly TestConfigStore _store = TestConfigStore.Empty();
    private readonly ViciCommands _commands = new();

    public ViciLoadCommandsTests() => ViciLoadCommands.Register(_commands, _store, NullLogger.Instance);

    private async Task<ViciSection> Call(string name, ViciSection request) => await _commands.Find(name)!(request, null!);

    private static string? Errmsg(ViciSection reply) => reply.Text("success") == "yes" ? null : reply.Text("errmsg") ?? "(no errmsg)";

    /// <summary>swanctl's load-conn for a PSK connection: list keys as lists, the rest as values.</summary>
    private static ViciSection Conn(string name = "gw", string espProposals = "aes256gcm16", string? pools = null)
    {
        var message = new ViciSection();
        var conn = message.AddSection(name);
        conn.AddList("local_addrs", ["192.0.2.1"]).AddList("remote_addrs", ["192.0.2.2"]).Add("version", "2");
        if (pools is not null)
        {
            conn.AddList("pools", [pools]);
        }

        conn.AddSection("local").Add("auth", "psk").Add("id", "a.example");
        conn.AddSection("remote").Add("auth", "psk").Add("id", "b.example");
        conn.AddSection("children").AddSection("net").AddList("local_ts", ["198.51.100.0/24"]).AddList("remote_ts", ["203.0.113.0/24", "10.1.0.0/16"])
            .AddList("esp_proposals", [espProposals]).Add("start_action", "trap");
        return message;
    }

    [Fact]
    public void DecodedLists_KeepTheirItems()
    {
        var decoded = ViciEncoding.Decode(ViciEncoding.Encode(new ViciSection().AddList("l", ["a", "b"]).Add("k", "v")));
        Assert.Equal(["a", "b"], decoded.TextList("l"));
        Assert.Equal("v", decoded.Text("k"));
    }

    [Fact]
    public async Task LoadConn_ListsBecomeTheFilesValues_AndGetConnsNamesIt()
    {
        Assert.Null(Errmsg(await Call("load-conn", Conn())));
        var conn = Assert.Single(_store.Current.Connections);
        Assert.Equal(["203.0.113.0/24", "10.1.0.0/16"], conn.Ike.Children[0].RemoteTs.Select(t => t.ToString()));
        Assert.Equal(Config.ChildAction.Trap, conn.ChildPolicies["net"].StartAction);
        Assert.Equal(["gw"], (await Call("get-conns", new ViciSection())).TextList("conns"));
    }

    [Fact]
    public async Task LoadConn_WithABadValue_NamesTheKeyPath_AndKeepsTheOldConnection()
    {
        await Call("load-conn", Conn());
        var before = _store.Current.Connections[0].Ike.Fingerprint();
        var error = Errmsg(await Call("load-conn", Conn(espProposals: "aes257gcm16")));
        Assert.StartsWith("connections.gw.children.net.esp_proposals: esp_proposals: ", error, StringComparison.Ordinal);
        Assert.Equal(before, Assert.Single(_store.Current.Connections).Ike.Fingerprint());

        var unknown = Conn("other");
        unknown.Section("other")!.Add("local_adrs", "192.0.2.1");
        Assert.Equal("unknown option 'connections.other.local_adrs' (did you mean 'local_addrs'?)", Errmsg(await Call("load-conn", unknown)));
        Assert.Equal("connections: 'x' is not a section: the request holds one section per connection", Errmsg(await Call("load-conn", new ViciSection().Add("x", "y"))));
    }

    [Fact]
    public async Task UnloadConn_RemovesIt_AndAnUnknownNameIsRefused()
    {
        await Call("load-conn", Conn());
        Assert.Null(Errmsg(await Call("unload-conn", new ViciSection().Add("name", "gw"))));
        Assert.Empty(_store.Current.Connections);
        Assert.Equal("unload: connection 'gw' not found", Errmsg(await Call("unload-conn", new ViciSection().Add("name", "gw"))));
        Assert.Equal("unload: missing connection name", Errmsg(await Call("unload-conn", new ViciSection())));
    }

    [Fact]
    public async Task LoadShared_IsFoundForItsOwners_AnEmptySecretIsRefusedAsTheFileRefusesIt()
    {
        var request = new ViciSection().Add("id", "ike-ab").Add("type", "ike").Add("data", Encoding.UTF8.GetBytes("psk-not-secret")).AddList("owners", ["a.example", "b.example"]);
        Assert.Null(Errmsg(await Call("load-shared", request)));
        Assert.Equal("psk-not-secret"u8.ToArray(), _store.Current.Secrets.FindSharedKey(Engine.Identity.Parse("a.example"), Engine.Identity.Parse("b.example")));
        Assert.Equal(["ike-ab"], (await Call("get-shared", new ViciSection())).TextList("keys"));

        var empty = Errmsg(await Call("load-shared", new ViciSection().Add("id", "ike-x").Add("type", "IKE").Add("data", "").AddList("owners", ["c.example"])));
        var file = Assert.Throws<ConfigException>(() => SwanctlLoader.Load(new SettingsParser(_ => throw new FileNotFoundException(), _ => [])
            .ParseText("secrets {\n  ike-x {\n    id = c.example\n    secret = \"\"\n  }\n}\n", "swanctl.conf")));
        Assert.Equal(file.Errors.Single().Message, empty);
        Assert.Equal("invalid shared key type: RSA", Errmsg(await Call("load-shared", new ViciSection().Add("type", "RSA").Add("data", "x"))));

        // Without an id it is used but neither listed nor unloadable (as charon's); unload-shared of an unknown id succeeds.
        Assert.Null(Errmsg(await Call("load-shared", new ViciSection().Add("type", "eap").Add("data", "pw").AddList("owners", ["carol"]))));
        Assert.Equal(["ike-ab"], (await Call("get-shared", new ViciSection())).TextList("keys"));
        Assert.NotNull(_store.Current.Secrets.FindEapSecret(Engine.Identity.Parse("carol"), null));
        Assert.Null(Errmsg(await Call("unload-shared", new ViciSection().Add("id", "ike-ab"))));
        Assert.Null(_store.Current.Secrets.FindSharedKey(Engine.Identity.Parse("a.example"), Engine.Identity.Parse("b.example")));
        Assert.Null(Errmsg(await Call("unload-shared", new ViciSection().Add("id", "nothing"))));
    }

    [Fact]
    public async Task LoadKey_AnswersCharonsKeyId_AndGetKeysAndUnloadKeyUseIt()
    {
        var (key, pkcs8) = TestPki.Key("ecdsa256", "vici");
        using var ec = ECDsa.Create();
        ec.ImportPkcs8PrivateKey(pkcs8, out _);
        var q = ec.ExportParameters(false).Q;
        // KEYID_PUBKEY_SHA1 of an EC key: SHA-1 of the uncompressed point (the subjectPublicKey bits), computed here apart.
        var expected = Convert.ToHexStringLower(SHA1.HashData([0x04, .. q.X!, .. q.Y!]));

        var reply = await Call("load-key", new ViciSection().Add("type", "ECDSA").Add("data", pkcs8.ToArray()));
        Assert.Null(Errmsg(reply));
        Assert.Equal(expected, reply.Text("id"));
        Assert.Equal([expected], (await Call("get-keys", new ViciSection())).TextList("keys"));
        Assert.NotNull(_store.Current.Secrets.FindPrivateKey(key.ExportSubjectPublicKeyInfo()));
        Assert.Equal("parsing RSA private key failed: the data holds a ECDSA key", Errmsg(await Call("load-key", new ViciSection().Add("type", "rsa").Add("data", pkcs8.ToArray()))));
        Assert.Equal("invalid key type: dsa", Errmsg(await Call("load-key", new ViciSection().Add("type", "dsa").Add("data", "x"))));

        Assert.Null(Errmsg(await Call("unload-key", new ViciSection().Add("id", expected))));
        Assert.Empty((await Call("get-keys", new ViciSection())).TextList("keys"));
        Assert.Equal("key not found", Errmsg(await Call("unload-key", new ViciSection().Add("id", expected))));
    }

    [Fact]
    public async Task LoadCert_SortsAnchorsFromEndEntities_AndRefusesACaFlagWithoutTheConstraint()
    {
        var ca = TestPki.NewCa("ecdsa256", "Vici Cert");
        var (moon, _) = TestPki.Issue(ca, "ecdsa256", "moon.example");
        Assert.Null(Errmsg(await Call("load-cert", new ViciSection().Add("type", "X509").Add("flag", "CA").Add("data", ca.Root.Der))));
        Assert.Null(Errmsg(await Call("load-cert", new ViciSection().Add("type", "X509").Add("flag", "NONE").Add("data", moon.Der))));
        Assert.Contains(_store.Current.Credentials.Authorities, c => c.Fingerprint == ca.Root.Fingerprint);
        Assert.Contains(_store.Current.Credentials.EndEntities, c => c.Fingerprint == moon.Fingerprint);
        Assert.StartsWith("ca certificate lacks CA basic constraint, rejected", Errmsg(await Call("load-cert", new ViciSection().Add("type", "X509").Add("flag", "CA").Add("data", moon.Der))));
        Assert.Equal("invalid certificate type 'PGP'", Errmsg(await Call("load-cert", new ViciSection().Add("type", "PGP").Add("data", "x"))));
        Assert.Equal("attribute certificates (X509_AC) are not supported", Errmsg(await Call("load-cert", new ViciSection().Add("type", "X509_AC").Add("data", "x"))));

        // A connection naming its certificate by data finds the key loaded over VICI.
        Assert.Null(Errmsg(await Call("load-key", new ViciSection().Add("type", "any").Add("data", TestPki.Key("ecdsa256", "moon.example").Pkcs8.ToArray()))));
        var message = new ViciSection();
        var gw = message.AddSection("gw").AddList("local_addrs", ["192.0.2.1"]).AddList("remote_addrs", ["192.0.2.2"]);
        gw.AddSection("local").Add("auth", "pubkey").AddList("certs", [moon.Der]);
        gw.AddSection("remote").Add("auth", "pubkey").Add("id", "sun.example").AddList("cacerts", [ca.Root.Der]);
        gw.AddSection("children").AddSection("net").AddList("remote_ts", ["10.0.0.0/8"]);
        Assert.Null(Errmsg(await Call("load-conn", message)));
        var ike = Assert.Single(_store.Current.Connections).Ike;
        Assert.Equal(moon.Fingerprint, Assert.Single(ike.LocalAuth.Certificates).Fingerprint);
        Assert.Equal("CN=moon.example", ike.LocalId.ToString().Split(", ").Last());
        Assert.Null(Errmsg(await Call("clear-creds", new ViciSection())));
        Assert.Empty(_store.Current.Credentials.Authorities);
        Assert.Empty((await Call("get-keys", new ViciSection())).TextList("keys"));
    }

    [Fact]
    public async Task Pools_LoadAndList_AConnectionNeedsItsPool_AndAPoolWithOnlineLeasesStays()
    {
        Assert.StartsWith("connections.gw.pools: no pool 'ipv4'", Errmsg(await Call("load-conn", Conn(pools: "ipv4"))));
        var pool = new ViciSection();
        pool.AddSection("ipv4").Add("addrs", "10.3.0.0/28").AddList("dns", ["10.1.0.53", "10.1.0.54"]);
        Assert.Null(Errmsg(await Call("load-pool", pool)));
        Assert.Null(Errmsg(await Call("load-conn", Conn(pools: "ipv4"))));
        Assert.Equal(["10.1.0.53", "10.1.0.54"], Assert.Single(_store.Current.Pools).Dns.Select(a => a.ToString()));

        var listed = await Call("get-pools", new ViciSection().Add("leases", "yes"));
        var entry = listed.Section("ipv4")!;
        Assert.Equal(("10.3.0.1", "14", "0", "0"), (entry.Text("base"), entry.Text("size"), entry.Text("online"), entry.Text("offline")));
        Assert.NotNull(entry.Section("leases"));

        _store.Online["ipv4"] = 1;
        Assert.Equal("ipv4 has online leases, unable to unload", Errmsg(await Call("unload-pool", new ViciSection().Add("name", "ipv4"))));
        _store.Online.Clear();
        // Unloading it leaves the connection that names it inactive (not refused: swanctl unloads pools before it loads connections).
        Assert.Null(Errmsg(await Call("unload-pool", new ViciSection().Add("name", "ipv4"))));
        Assert.Empty(_store.Current.Connections);
        Assert.Equal(["gw"], (await Call("get-conns", new ViciSection())).TextList("conns"));
        Assert.Equal("ipv4 not found", Errmsg(await Call("unload-pool", new ViciSection().Add("name", "ipv4"))));
        Assert.StartsWith("pools.bad.addrs: ", Errmsg(await Call("load-pool", new ViciSection().AddSection("bad", new ViciSection().Add("addrs", "10.3.0.0")))));
    }

    [Fact]
    public async Task Authorities_LoadWithTheirCertificateData_AndUnload()
    {
        var ca = TestPki.NewCa("ecdsa256", "Vici Authority");
        var request = new ViciSection();
        request.AddSection("test-ca").Add("cacert", ca.Root.Der).AddList("crl_uris", ["http://crl.example/a.crl", "http://crl.example/b.crl"]);
        Assert.Null(Errmsg(await Call("load-authority", request)));
        var authority = Assert.Single(_store.Current.Credentials.NamedAuthorities);
        Assert.Equal(("test-ca", ca.Root.Fingerprint), (authority.Name, authority.Certificate.Fingerprint));
        Assert.Equal(["http://crl.example/a.crl", "http://crl.example/b.crl"], _store.Current.Credentials.AuthorityUris[ca.Root.Fingerprint].Crl);
        Assert.Equal(["test-ca"], (await Call("get-authorities", new ViciSection())).TextList("authorities"));
        Assert.Null(Errmsg(await Call("unload-authority", new ViciSection().Add("name", "test-ca"))));
        Assert.Empty(_store.Current.Credentials.NamedAuthorities);
        Assert.Equal("unload: authority 'test-ca' not found", Errmsg(await Call("unload-authority", new ViciSection().Add("name", "test-ca"))));
        var bad = new ViciSection();
        bad.AddSection("broken").Add("cacert", "not a certificate"u8.ToArray());
        Assert.StartsWith("authorities.broken.cacert: certificate data: not a usable X.509 certificate", Errmsg(await Call("load-authority", bad)));
    }

    [Fact]
    public async Task LoadToken_IsRefused_AndFlushCertsChecksItsType()
    {
        Assert.Equal("loading private key from token failed: PKCS#11 tokens are not supported by Oakley", Errmsg(await Call("load-token", new ViciSection().Add("handle", "01"))));
        Assert.Null(Errmsg(await Call("flush-certs", new ViciSection().Add("type", "X509_CRL"))));
        Assert.Equal("invalid certificate type 'nonsense'", Errmsg(await Call("flush-certs", new ViciSection().Add("type", "nonsense"))));
    }
}
