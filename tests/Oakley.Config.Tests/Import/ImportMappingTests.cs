using System.Security.Cryptography;
using Oakley.Config.Import;

namespace Oakley.Config.Tests.Import;

/// <summary>One mapping or one note per test: small ipsec.conf texts through the importer (files injected).</summary>
public sealed class ImportMappingTests
{
    /// <summary>Converts <paramref name="conf"/> (as ipsec.conf) and optional secrets and other files.</summary>
    internal static ImportResult Convert(string conf, string? secrets = null, bool rightIsLocal = false, Dictionary<string, string>? files = null)
    {
        var all = new Dictionary<string, string>(files ?? [], StringComparer.Ordinal) { ["ipsec.conf"] = conf };
        if (secrets is not null)
        {
            all["ipsec.secrets"] = secrets;
        }

        return IpsecImporter.Import("ipsec.conf", secrets is null ? null : "ipsec.secrets", new ImportOptions(rightIsLocal),
            p => all.TryGetValue(p, out var text) ? text : throw new FileNotFoundException(p),
            pattern => all.Keys.Where(k => pattern.Contains('*', StringComparison.Ordinal)
                ? k.StartsWith(pattern[..pattern.IndexOf('*', StringComparison.Ordinal)], StringComparison.Ordinal) && k.EndsWith(pattern[(pattern.IndexOf('*', StringComparison.Ordinal) + 1)..], StringComparison.Ordinal)
                : k == pattern).Order(StringComparer.Ordinal));
    }

    private static string Conn(string body, string name = "c") => $"conn {name}\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add\n" + string.Join("\n", body.Split('\n').Select(l => "\t" + l)) + "\n";

    private static string Notes(ImportResult r) => string.Join("\n", r.Notes);

    private static ConfigException Refused(string conf, string? secrets = null) => Assert.Throws<ConfigException>(() => Convert(conf, secrets));

    [Fact]
    public void A_line_that_is_no_setting_is_an_error_with_file_and_line()
    {
        var e = Refused("conn a\n\tleft=192.0.2.1\n\tnonsense here\n");
        Assert.Equal(("ipsec.conf", 3), (e.Location.File, e.Location.Line));
        Assert.Contains("expected KEY=VALUE", e.Reason, StringComparison.Ordinal);
        Assert.Equal(1, Refused("\tleft=1\n").Location.Line);
        Assert.Equal(2, Refused("config setup\nbogus top level\n").Location.Line);
        Assert.Equal(2, Refused("conn a\n\tleftid=\"unterminated\n").Location.Line);
    }

    [Fact]
    public void Also_naming_no_section_or_looping_is_an_error_at_the_also_line()
    {
        Assert.Equal(3, Refused("conn a\n\tauto=add\n\talso=missing\n").Location.Line);
        var loop = Refused("conn a\n\talso=b\n\tauto=add\nconn b\n\talso=a\n");
        Assert.Contains("loop", loop.Reason, StringComparison.Ordinal);
        Assert.Contains("no such file", Refused("include other.conf\n").Reason, StringComparison.Ordinal);
        Assert.Equal(3, Refused("conn a\n\tauto=add\nconn a\n\tauto=add\n").Location.Line);
    }

    [Fact]
    public void The_conn_wins_over_also_which_wins_over_default()
    {
        var r = Convert("conn %default\n\tesp=aes128gcm16!\n\tike=aes128-sha256-modp2048!\n\tkeyingtries=5\n" +
                        "conn base\n\tesp=aes256gcm16!\n\tkeyingtries=3\n" +
                        "conn c\n\talso=base\n\tkeyingtries=2\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add\n");
        Assert.Contains("keyingtries = 2", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains("esp_proposals = aes256gcm16\n", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains("proposals = aes128-sha256-modp2048\n", r.SwanctlConf, StringComparison.Ordinal);
        Assert.DoesNotContain("conn base", Notes(r), StringComparison.Ordinal); // a template, silently
    }

    [Theory]
    [InlineData("ike=aes256-sha256-modp2048!", "proposals = aes256-sha256-modp2048\n")]
    [InlineData("ike=aes256-sha256-modp2048", "proposals = aes256-sha256-modp2048, default\n")]
    [InlineData("ike=aes256-sha2;modp2048", "proposals = aes256-sha256-modp2048\n")]
    [InlineData("ike=aes_gcm256-sha2;dh19", "proposals = aes256gcm16-prfsha256-ecp256\n")]
    [InlineData("ike=aes_gcm_c-256-sha2_512+sha2_256-dh20+dh31", "proposals = aes256gcm16-prfsha512-prfsha256-ecp384-curve25519\n")]
    [InlineData("phase2alg=aes_gcm256", "esp_proposals = aes256gcm16\n")]
    [InlineData("phase2alg=aes256-sha2_256;modp2048", "esp_proposals = aes256-sha256-modp2048\n")]
    [InlineData("esp=aes128-sha1,3des-md5!", "esp_proposals = aes128-sha1, 3des-md5\n")]
    public void Proposals_map_to_swanctl_keywords(string setting, string expected) =>
        Assert.Contains(expected, Convert(Conn(setting)).SwanctlConf, StringComparison.Ordinal);

    [Fact]
    public void A_Libreswan_ike_without_a_group_gets_modp2048_and_a_note()
    {
        var r = Convert(Conn("ike=aes256-sha2"));
        Assert.Contains("proposals = aes256-sha256-modp2048\n", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains("ipsec.conf:5: conn c: ike=aes256-sha2: 'aes256-sha2' names no DH group", Notes(r), StringComparison.Ordinal);
    }

    [Fact]
    public void A_proposal_Oakley_refuses_is_written_commented_out_with_a_note()
    {
        var r = Convert(Conn("ike=camellia256-sha256-modp2048!"));
        Assert.Contains("    # proposals = camellia256-sha256-modp2048\n", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains("Oakley refuses it", Notes(r), StringComparison.Ordinal);
        Assert.Equal(1, r.Connections);
    }

    [Theory]
    [InlineData("auto=start", "start_action = start")]
    [InlineData("auto=route", "start_action = trap")]
    [InlineData("auto=ondemand", "start_action = trap")]
    [InlineData("closeaction=restart", "close_action = start")]
    [InlineData("closeaction=hold", "close_action = trap")]
    [InlineData("dpdaction=hold", "dpd_action = trap")]
    [InlineData("dpdaction=restart\ndpddelay=10s", "dpd_delay = 10s")]
    [InlineData("type=transport", "mode = transport")]
    [InlineData("keyingtries=%forever", "keyingtries = 0")]
    [InlineData("mobike=no", "mobike = no")]
    [InlineData("fragmentation=force", "fragmentation = force")]
    [InlineData("forceencaps=yes", "encap = yes")]
    [InlineData("leftsendcert=never", "send_cert = never")]
    [InlineData("leftsourceip=%config6", "vips = ::")]
    [InlineData("leftsourceip=%config", "vips = 0.0.0.0")]
    [InlineData("rightsourceip=203.0.113.9", "addrs = 203.0.113.9-203.0.113.9")]
    [InlineData("leftsubnet=198.51.100.0/24,2001:db8::/64\nleftprotoport=tcp/80", "local_ts = 198.51.100.0/24[tcp/80], 2001:db8::/64[tcp/80]")]
    [InlineData("rightprotoport=udp/%any", "remote_ts = 192.0.2.2/32[udp]")]
    [InlineData("rightsubnet=203.0.113.0/24[tcp/443]", "remote_ts = 203.0.113.0/24[tcp/443]")]
    [InlineData("leftauth=pubkey\nrightauth=eap-mschapv2\neap_identity=%identity", "eap_id = %any")]
    [InlineData("leftauth=eap-md5\nrightauth=pubkey\neap_identity=carol", "eap_id = carol")]
    [InlineData("rightauth2=eap-md5\nleftauth=pubkey\nrightauth=pubkey", "remote-2 {\n      auth = eap-md5")]
    [InlineData("authby=secret", "auth = psk")]
    [InlineData("authby=rsasig", "auth = pubkey")]
    [InlineData("rightid=\"C=CH, O=Lab, CN=sun\"", "id = \"C=CH, O=Lab, CN=sun\"")]
    [InlineData("replay_window=32", "replay_window = 32")]
    public void Keywords_map_to_their_swanctl_equivalents(string settings, string expected) =>
        Assert.Contains(expected, Convert(Conn(settings)).SwanctlConf, StringComparison.Ordinal);

    [Fact]
    public void Starter_defaults_the_remote_id_to_the_remote_address()
    {
        var r = Convert(Conn("authby=psk"));
        Assert.Contains("remote {\n      auth = psk\n      id = 192.0.2.2\n", r.SwanctlConf, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ikelifetime=3h", "reauth_time = 171m", "over_time = 9m")]
    [InlineData("ikelifetime=3h\nreauth=no", "rekey_time = 171m", "rand_time = 9m")]
    [InlineData("lifetime=1h\nmargintime=5m\nrekeyfuzz=40%", "rekey_time = 55m\n        life_time = 1h\n        rand_time = 2m", "over_time = 5m")]
    [InlineData("lifebytes=1000000\nmarginbytes=100000", "rekey_bytes = 900000\n        life_bytes = 1000000\n        rand_bytes = 100000", "life_time = 1h")]
    public void Lifetimes_are_computed_as_charon_computes_starters(string settings, string first, string second)
    {
        var conf = Convert(Conn(settings)).SwanctlConf;
        Assert.Contains(first, conf, StringComparison.Ordinal);
        Assert.Contains(second, conf, StringComparison.Ordinal);
    }

    [Fact]
    public void Rekey_no_means_nothing_is_rekeyed_and_a_note_says_so()
    {
        var r = Convert(Conn("rekey=no"));
        Assert.Equal(2, r.SwanctlConf.Split("rekey_time = 0\n").Length - 1);
        Assert.Contains("ipsec.conf:5: conn c: rekey=no: starter then sends no lifetimes", Notes(r), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_lifetimes_a_note_says_swanctl_defaults_apply()
    {
        Assert.Contains("get swanctl's defaults", Notes(Convert(Conn("authby=psk"))), StringComparison.Ordinal);
        Assert.DoesNotContain("get swanctl's defaults", Notes(Convert(Conn("ikelifetime=1h"))), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yes", "replace")]
    [InlineData("no", "no")]
    [InlineData("never", "never")]
    [InlineData("keep", "keep")]
    public void Uniqueids_becomes_each_connections_unique(string uniqueids, string unique) =>
        Assert.Contains($"unique = {unique}\n", Convert($"config setup\n\tuniqueids={uniqueids}\n" + Conn("authby=psk")).SwanctlConf, StringComparison.Ordinal);

    [Theory]
    [InlineData("keyexchange=ikev1", "IKEv1: Oakley does not speak IKEv1")]
    [InlineData("ikev2=no", "IKEv1: Oakley does not speak IKEv1")]
    [InlineData("authby=xauthpsk", "XAuth (IKEv1) is not built in Oakley")]
    [InlineData("rightauth2=xauth\nleftauth=psk\nrightauth=psk", "XAuth is IKEv1")]
    [InlineData("type=passthrough", "bypass policies (mode = pass)")]
    [InlineData("type=drop", "drop policies (mode = drop)")]
    [InlineData("ah=sha256", "AH is not built in Oakley")]
    [InlineData("right=%group", "opportunistic encryption groups")]
    public void What_Oakley_cannot_run_comments_the_whole_connection_out(string settings, string why)
    {
        var r = Convert(Conn(settings));
        Assert.Equal((0, 1), (r.Connections, r.CommentedOut));
        Assert.Contains("# " + "  c {", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains(why, Notes(r), StringComparison.Ordinal);
        Assert.Contains("the connection is written commented out", Notes(r), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("compress=yes", "# ipcomp = yes", "IPComp")]
    [InlineData("mark=0x10/0xff", "# mark_in = 0x10/0xff", "netfilter marks")]
    [InlineData("leftupdown=/usr/local/bin/up", "# updown = /usr/local/bin/up", "updown scripts")]
    [InlineData("reqid=5", "# reqid = 5", "request IDs")]
    [InlineData("installpolicy=no", "# policies = no", "without policies")]
    [InlineData("tfc=%mtu", "# tfc_padding = %mtu", "TFC")]
    [InlineData("right=vpn.example.org", "# remote_addrs = vpn.example.org", "host names")]
    [InlineData("rightgroups=staff", "# groups = staff", "authorization groups")]
    [InlineData("aaa_identity=radius.example", "# aaa_id = radius.example", "AAA")]
    [InlineData("rightsourceip=%dhcp", "# pools = dhcp", "dhcp")]
    [InlineData("leftikeport=4501", "# local_port = 4501", "--port")]
    public void A_key_only_strongSwan_loads_is_written_commented_out_with_a_note(string settings, string line, string why)
    {
        var r = Convert(Conn(settings));
        Assert.Contains(line + "\n", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains(why, Notes(r), StringComparison.Ordinal);
        Assert.Equal(1, r.Connections);
    }

    [Theory]
    [InlineData("rightca=\"C=CH, O=Lab, CN=Root\"", "put the CA certificate into x509ca/")]
    [InlineData("dpddelay=30s", "dpdaction=none (the default)")]
    [InlineData("dpdaction=clear\ndpdtimeout=60", "retransmissions run out")]
    [InlineData("leftsourceip=198.51.100.7", "a fixed source address of this host")]
    [InlineData("leftnexthop=%defaultroute", "not needed")]
    [InlineData("narrowing=yes", "narrow traffic selectors as responders anyway")]
    [InlineData("leftcert=moonCert.pem", "copy /etc/ipsec.d/certs/moonCert.pem to /etc/swanctl/x509/moonCert.pem")]
    [InlineData("leftsigkey=moon.pub", "copy /etc/ipsec.d/certs/moon.pub to /etc/swanctl/pubkey/moon.pub")]
    [InlineData("frobnicate=1", "frobnicate=1: not converted (a keyword this converter does not know)")]
    [InlineData("mtu=1300", "oakley daemon --mtu")]
    [InlineData("leftprotoport=17/1701\nleft=%any", "dynamic[proto/port]")]
    public void Each_thing_not_converted_gets_a_note_with_file_and_line(string settings, string note)
    {
        var notes = Notes(Convert(Conn(settings)));
        Assert.Contains(note, notes, StringComparison.Ordinal);
        Assert.Matches(@"ipsec\.conf:\d+: conn c: ", notes);
    }

    [Theory]
    [InlineData("conn c\n\tleft=%defaultroute\n\tright=192.0.2.2\n\tauthby=psk\n\tauto=add\n", "no leftid and no fixed left address: set local.id")]
    [InlineData("conn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauto=add\n", "public-key authentication without leftcert")]
    [InlineData("conn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=psk\n\tfragmentation=maybe\n\tauto=add\n", "fragmentation=maybe: not yes, no, accept or force")]
    [InlineData("ca x\n\tcrluri=http://crl.example/x.crl\n\tauto=add\n", "ca x: no cacert: not converted")]
    public void What_the_operator_must_add_gets_a_note(string conf, string note) =>
        Assert.Contains(note, Notes(Convert(conf)), StringComparison.Ordinal);

    [Theory]
    [InlineData("leftsubnet=198.51.100.0/33", "leftsubnet=198.51.100.0/33: invalid traffic selector")]
    [InlineData("rightsubnet=not-a-subnet", "rightsubnet=not-a-subnet: invalid traffic selector")]
    [InlineData("rightsourceip=203.0.113.9-203.0.113.1", "rightsourceip=203.0.113.9-203.0.113.1: pools.c-pool.addrs")]
    [InlineData("rightsourceip=203.0.113.0/24\nrightdns=198.51.100.300", "")]
    public void A_subnet_or_pool_neither_daemon_could_read_is_an_input_error(string settings, string reason)
    {
        if (reason.Length == 0)
        {
            // a DNS server that is no address is left out of the pool (and so never sent), with a note
            var r = Convert(Conn(settings));
            Assert.DoesNotContain("dns = ", r.SwanctlConf, StringComparison.Ordinal);
            Assert.Contains("rightdns=198.51.100.300: '198.51.100.300' is not a DNS server address", Notes(r), StringComparison.Ordinal);
            return;
        }

        var e = Refused(Conn(settings));
        Assert.Equal(("ipsec.conf", 5), (e.Location.File, e.Location.Line));
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_setup_keys_are_noted_as_belonging_to_strongswan_conf_or_nowhere()
    {
        var notes = Notes(Convert("config setup\n\tcharondebug=\"ike 2\"\n\tnat_traversal=yes\n\tfoo=bar\n" + Conn("authby=psk")));
        Assert.Contains("ipsec.conf:2: config setup: charondebug=ike 2: not converted: log levels belong in strongswan.conf", notes, StringComparison.Ordinal);
        Assert.Contains("ipsec.conf:3: config setup: nat_traversal=yes: not converted: NAT traversal is always on", notes, StringComparison.Ordinal);
        Assert.Contains("ipsec.conf:4: config setup: foo=bar: not converted: no swanctl.conf equivalent", notes, StringComparison.Ordinal);
    }

    [Fact]
    public void Strictcrlpolicy_becomes_the_revocation_of_certificate_rounds()
    {
        var conf = Convert("config setup\n\tstrictcrlpolicy=ifuri\n" + Conn("authby=pubkey")).SwanctlConf;
        Assert.Contains("revocation = ifuri", conf, StringComparison.Ordinal);
        Assert.DoesNotContain("revocation", Convert("config setup\n\tstrictcrlpolicy=yes\n" + Conn("authby=psk")).SwanctlConf, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_ignore_and_a_missing_auto_are_not_converted_and_noted()
    {
        var r = Convert("conn a\n\tleft=192.0.2.1\n\tright=192.0.2.2\nconn b\n\tleft=192.0.2.1\n\tright=192.0.2.3\n\tauto=ignore\n");
        Assert.Equal(0, r.Connections);
        Assert.Contains("ipsec.conf:1: conn a: auto=ignore (the default): starter does not load it", Notes(r), StringComparison.Ordinal);
        Assert.Contains("ipsec.conf:7: conn b: auto=ignore: starter does not load it", Notes(r), StringComparison.Ordinal);
    }

    [Fact]
    public void Local_right_swaps_the_sides()
    {
        var conf = Convert(Conn("leftsubnet=198.51.100.0/24\nrightsubnet=203.0.113.0/24\nleftid=@a\nrightid=@b"), rightIsLocal: true).SwanctlConf;
        Assert.Contains("local_addrs = 192.0.2.2\n    remote_addrs = 192.0.2.1", conf, StringComparison.Ordinal);
        Assert.Contains("local_ts = 203.0.113.0/24\n        remote_ts = 198.51.100.0/24", conf, StringComparison.Ordinal);
        Assert.Contains("local {\n      auth = pubkey\n      id = @b", conf, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_written_for_the_right_side_gets_a_hint()
    {
        var notes = Notes(Convert("conn c\n\tleft=192.0.2.1\n\tright=%defaultroute\n\tauto=add\n"));
        Assert.Contains("convert it with --local right", notes, StringComparison.Ordinal);
        Assert.Contains("ipsec.conf: left is taken as the local side of every conn", notes, StringComparison.Ordinal);
    }

    [Fact]
    public void Dotted_conn_names_are_renamed()
    {
        var r = Convert(Conn("authby=psk", "vpn.example.org"));
        Assert.Contains("  vpn-example-org {", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains("renamed to 'vpn-example-org'", Notes(r), StringComparison.Ordinal);
    }

    [Fact]
    public void Includes_are_spliced_in_and_notes_name_the_included_file()
    {
        var r = Convert("include conns/*.conf\n", files: new() { ["conns/a.conf"] = Conn("frobnicate=1", "a") });
        Assert.Equal(1, r.Connections);
        Assert.Contains("conns/a.conf:5: conn a: frobnicate=1", Notes(r), StringComparison.Ordinal);
    }

    [Fact]
    public void Ca_sections_become_authorities()
    {
        var conf = Convert("ca lab\n\tcacert=/etc/ipsec.d/cacerts/lab.pem\n\tcrluri=http://crl.example/a.crl\n\tcrluri2=http://crl.example/b.crl\n\tauto=add\n").SwanctlConf;
        Assert.Contains("authorities {\n  lab {\n    cacert = lab.pem\n    crl_uris = http://crl.example/a.crl, http://crl.example/b.crl\n", conf, StringComparison.Ordinal);
    }

    [Fact]
    public void A_raw_rsasigkey_becomes_a_PEM_public_key_with_the_same_modulus()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var raw = "0s" + System.Convert.ToBase64String([(byte)p.Exponent!.Length, .. p.Exponent, .. p.Modulus!]);
        var r = Convert(Conn($"authby=rsasig\nleftrsasigkey={raw}\nrightrsasigkey=0sAQ=="));
        Assert.Contains("pubkeys = c-left.pem", r.SwanctlConf, StringComparison.Ordinal);
        using var back = RSA.Create();
        back.ImportFromPem(r.PublicKeys["c-left.pem"]);
        Assert.Equal(p.Modulus, back.ExportParameters(false).Modulus);
        Assert.Contains("rightrsasigkey=0sAQ==: not a raw RSA public key", Notes(r), StringComparison.Ordinal);
        Assert.DoesNotContain(raw, Notes(r), StringComparison.Ordinal); // cut short in notes
    }
}

/// <summary>Libreswan-only behaviour and the worked example of docs/operations.md.</summary>
public sealed class ImportLibreswanAndDocsTests
{
    [Fact]
    public void A_Libreswan_NSS_nickname_is_written_commented_out_with_the_export_command()
    {
        var r = ImportMappingTests.Convert("conn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tleftcert=west\n\tikev2=insist\n\tauto=add\n");
        Assert.Contains("      # certs = west.pem\n", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains("certutil -L -n west -a > west.pem", string.Join("\n", r.Notes), StringComparison.Ordinal);
    }

    [Fact]
    public void A_Libreswan_file_without_ikev2_is_written_as_IKEv2_with_a_note()
    {
        var r = ImportMappingTests.Convert("config setup\n\tprotostack=netkey\nconn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=secret\n\tauto=add\n");
        Assert.Contains("version = 2\n", r.SwanctlConf, StringComparison.Ordinal);
        Assert.Contains("Libreswan 3 initiated with IKEv1", string.Join("\n", r.Notes), StringComparison.Ordinal);
    }

    [Fact]
    public void Xauth_server_puts_the_xauth_round_on_the_remote_side()
    {
        var server = ImportMappingTests.Convert("conn c\n\tleft=192.0.2.1\n\tright=%any\n\tkeyexchange=ikev1\n\tauthby=xauthpsk\n\txauth=server\n\tauto=add\n").SwanctlConf;
        Assert.Contains("#     remote-2 {\n#       auth = xauth\n", server, StringComparison.Ordinal);
        var client = ImportMappingTests.Convert("conn c\n\tleft=%defaultroute\n\tright=192.0.2.1\n\tkeyexchange=ikev1\n\tauthby=xauthpsk\n\txauth_identity=carol\n\tauto=add\n").SwanctlConf;
        Assert.Contains("#     local-2 {\n#       auth = xauth\n#       xauth_id = carol\n", client, StringComparison.Ordinal);
    }

    [Fact]
    public void The_worked_example_of_docs_operations_md_is_what_the_importer_prints()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "operations.md")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var doc = File.ReadAllText(Path.Combine(dir.FullName, "docs", "operations.md"));
        var example = doc[doc.IndexOf("### A worked example", StringComparison.Ordinal)..];
        var blocks = example.Split("```").Where((_, i) => i % 2 == 1).Select(b => b.TrimStart('\n')).ToList();
        var r = ImportMappingTests.Convert(blocks[0], ": RSA moonKey.pem\n");
        Assert.EndsWith(blocks[1], r.SwanctlConf.TrimEnd('\n') + "\n", StringComparison.Ordinal);
        var notes = string.Join("\n", r.Notes).Replace("ipsec.conf", "/etc/ipsec.conf", StringComparison.Ordinal).Replace("ipsec.secrets:", "/etc/ipsec.secrets:", StringComparison.Ordinal);
        Assert.StartsWith(notes, blocks[2], StringComparison.Ordinal);
    }
}
