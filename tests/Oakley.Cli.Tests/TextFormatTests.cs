using System.Text.Json.Nodes;

namespace Oakley.Cli.Tests;

/// <summary>The text output of the client verbs, from the daemon's JSON responses.</summary>
public class TextFormatTests
{
    private static JsonObject Json(string text) => JsonNode.Parse(text)!.AsObject();

    [Fact]
    public void ListSas_Empty_SaysNoIkeSas()
    {
        Assert.Equal("no IKE SAs", TextFormat.Render("list-sas", Json("""{"ok":true,"ike-sas":[]}""")));
    }

    [Fact]
    public void ListPools_HasSwanctlsColumns_AndALinePerLease()
    {
        Assert.Equal("no pools loaded", TextFormat.Render("list-pools", Json("""{"ok":true,"pools":[]}""")));
        var text = TextFormat.Render("list-pools", Json("""
            {"ok":true,"pools":[{"name":"p4","base":"10.3.0.1","online":2,"offline":1,"size":14,"leases":[
              {"address":"10.3.0.1","status":"online","identity":"carol@example.org"},
              {"address":"10.3.0.2","status":"offline","identity":"dave@example.org"}]},
             {"name":"p6","base":"2001:db8::1","online":0,"offline":0,"size":"18446744073709551615"}]}
            """));
        Assert.Equal(
            "p4                   10.3.0.1                             2 / 1 / 14\n" +
            "  10.3.0.1                       online   'carol@example.org'\n" +
            "  10.3.0.2                       offline  'dave@example.org'\n" +
            "p6                   2001:db8::1                    0 / 0 / 18446744073709551615", text);
    }

    [Fact]
    public void ListConns_Empty_SaysNoConnections()
    {
        Assert.Equal("no connections loaded", TextFormat.Render("list-conns", Json("""{"ok":true,"connections":[]}""")));
    }

    [Fact]
    public void Stats_IsANameValueTable_WithTheGroupsIndentedUnderTheirNames()
    {
        var text = TextFormat.Render("stats", Json("""
            {"esp-drops":{"no-policy":12,"bad-icv":0},"acquires":3,"ok":true,"ike-sas":1,"half-open-peak":27,"dropped":{}}
            """));
        Assert.Equal(
            "acquires                   3\n" +
            "ike-sas                    1\n" +
            "half-open-peak            27\n" +
            "esp-drops:\n" +
            "  no-policy               12\n" +
            "  bad-icv                  0\n" +
            "dropped: none", text);
    }

    private const string Sa = """
        {"name":"gw","uniqueid":2,"state":"ESTABLISHED","local-host":"192.0.2.1","local-port":500,"local-id":"moon.example",
         "remote-host":"192.0.2.2","remote-port":4500,"remote-id":"sun.example","initiator":true,"encap":true,
         "initiator-spi":"0011223344556677","responder-spi":"8899aabbccddeeff","proposal":"aes256gcm16-prfsha256-curve25519",
         "established":3,"rekey-time":14000,
         "child-sas":[{"name":"net","mode":"TUNNEL","protocol":"ESP","encap":true,"spi-in":"c1a2b3c4","spi-out":"d1e2f3a4",
           "encr-alg":"AES_CBC","encr-keysize":128,"integ-alg":"HMAC_SHA2_256_128","esn":true,"install-time":3,"rekey-time":3500,
           "life-time":3900,"local-ts":["198.51.100.0/24"],"remote-ts":["203.0.113.0/24","203.0.113.7/32"],
           "bytes-in":84,"packets-in":1,"bytes-out":168,"packets-out":2,"replay-highest":1}]}
        """;

    private const string Listing =
        "gw: #2, ESTABLISHED, IKEv2, 0011223344556677_i* 8899aabbccddeeff_r\n" +
        "  local  'moon.example' @ 192.0.2.1[500]\n" +
        "  remote 'sun.example' @ 192.0.2.2[4500]\n" +
        "  aes256gcm16-prfsha256-curve25519\n" +
        "  established 3s ago, rekeying in 14000s\n" +
        "  net: TUNNEL-in-UDP, ESP, SPIs: c1a2b3c4_i d1e2f3a4_o\n" +
        "    AES_CBC-128/HMAC_SHA2_256_128/ESN\n" +
        "    installed 3s ago, rekeying in 3500s, expires in 3900s\n" +
        "    in  c1a2b3c4,        84 bytes,       1 packets\n" +
        "    out d1e2f3a4,       168 bytes,       2 packets\n" +
        "    local  198.51.100.0/24\n" +
        "    remote 203.0.113.0/24 203.0.113.7/32";

    [Fact]
    public void Initiate_RendersTheEstablishedSa_AsListSasDoes()
    {
        var initiate = Json($$"""{"ok":true,"ike-sa-id":2,"ike-sa":{{Sa}}}""");
        var listSas = Json($$"""{"ok":true,"ike-sas":[{{Sa}}]}""");
        Assert.Equal(Listing, TextFormat.Render("initiate", initiate).Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal(Listing, TextFormat.Render("list-sas", listSas).Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void AGatewaysSa_ShowsTheEapIdentityAndTheVirtualIps_AsSwanctlDoes()
    {
        var sa = Sa.Replace("\"remote-id\":\"sun.example\",", "\"remote-id\":\"sun.example\",\"remote-eap-id\":\"carol\",\"local-vips\":[],\"remote-vips\":[\"203.0.113.65\",\"2001:db8:ee::1\"],", StringComparison.Ordinal);
        var text = TextFormat.Render("list-sas", Json($$"""{"ok":true,"ike-sas":[{{sa}}]}""")).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Contains("  local  'moon.example' @ 192.0.2.1[500]\n", text, StringComparison.Ordinal);
        Assert.Contains("  remote 'sun.example' @ 192.0.2.2[4500] EAP: 'carol' [203.0.113.65 2001:db8:ee::1]\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ListConns_ShowsEapRounds_LaterRounds_VipsAndPools()
    {
        var conn = """
            {"ok":true,"connections":[{"name":"rw","version":"IKEv2","local-addrs":["192.0.2.1"],"remote-addrs":["%any"],
             "local-id":"gw.example","remote-id":"%any","proposals":"default","children":[],
             "local-auth":{"class":"public key","certs":["C=CH, CN=gw"],"cacerts":[],"pubkeys":[]},
             "local-auth-more":[],
             "remote-auth":{"class":"public key","certs":[],"cacerts":[],"pubkeys":[]},
             "remote-auth-more":[{"class":"EAP (eap-mschapv2)","eap_id":"%any","certs":[],"cacerts":[],"pubkeys":[]}],
             "vips":[],"pools":["rw4","rw6"]}]}
            """;
        var text = TextFormat.Render("list-conns", Json(conn)).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Contains("  remote-2 EAP (eap-mschapv2) authentication:\n    id: %any\n    eap_id: %any\n", text, StringComparison.Ordinal);
        Assert.Contains("  pools: rw4, rw6\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("vips", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Initiate_SaGoneBeforeItWasListed_SaysSo()
    {
        Assert.Equal("IKE SA #4 was established, but it is gone again", TextFormat.Render("initiate", Json("""{"ok":true,"ike-sa-id":4,"ike-sa":null}""")));
    }

    [Fact]
    public void ListSas_ConnectingSa_HasNoEstablishedLine()
    {
        var text = TextFormat.Render("list-sas", Json("""
            {"ok":true,"ike-sas":[{"name":"gw","uniqueid":1,"state":"CONNECTING","local-host":"192.0.2.1","local-port":500,
             "local-id":"moon.example","remote-host":"192.0.2.2","remote-port":500,"remote-id":null,"initiator":true,
             "initiator-spi":"0011223344556677","responder-spi":"0000000000000000","proposal":null,"established":null,
             "rekey-time":null,"child-sas":[]}]}
            """));
        Assert.Equal(
            "gw: #1, CONNECTING, IKEv2, 0011223344556677_i* 0000000000000000_r\n" +
            "  local  'moon.example' @ 192.0.2.1[500]\n" +
            "  remote '' @ 192.0.2.2[500]", text.Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
