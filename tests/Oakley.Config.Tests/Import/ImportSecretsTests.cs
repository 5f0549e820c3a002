namespace Oakley.Config.Tests.Import;

/// <summary>ipsec.secrets entries, one type per test, and the notes about key files.</summary>
public sealed class ImportSecretsTests
{
    private const string Conf = "conn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=psk\n\tauto=add\n";

    private static (string Conf, string Notes) Convert(string secrets, Dictionary<string, string>? files = null)
    {
        var r = ImportMappingTests.Convert(Conf, secrets, files: files);
        return (r.SwanctlConf, string.Join("\n", r.Notes));
    }

    /// <summary>One Assert.Contains per part, so a failure names the missing part.</summary>
    private static void ContainsAll(string text, params string[] parts)
    {
        foreach (var part in parts)
        {
            Assert.Contains(part, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Psk_entries_become_ike_secrets_with_their_ids()
    {
        var (conf, _) = Convert(": PSK \"any-peer\"\n192.0.2.1 @b.example : PSK 0x0102030405\n%any : PSK 0sAQIDBA==\n");
        ContainsAll(conf,
            "ike-1 {\n    secret = \"any-peer\"\n  }",
            "ike-2 {\n    id-1 = 192.0.2.1\n    id-2 = @b.example\n    secret = 0x0102030405\n  }",
            "ike-3 {\n    secret = \"0sAQIDBA==\"\n  }");
    }

    [Fact]
    public void A_quoted_secret_that_looks_hex_gets_a_note()
    {
        Assert.Contains("ipsec.secrets:1: PSK: the quoted secret starts with 0x/0s", Convert(": PSK \"0xnot-hex\"\n").Notes, StringComparison.Ordinal);
    }

    [Fact]
    public void Eap_xauth_and_ntlm_entries_become_their_sections()
    {
        var (conf, notes) = Convert("carol : EAP \"c-pw\"\ndave : XAUTH \"d-pw\"\nerin : NTLM 0x00112233\n");
        ContainsAll(conf,
            "eap-1 {\n    id = carol\n    secret = \"c-pw\"\n  }",
            "xauth-1 {\n    id = dave\n",
            "ntlm-1 {\n    id = erin\n    secret = 0x00112233\n");
        Assert.Contains("ipsec.secrets:2: XAUTH secrets are for IKEv1 XAuth", notes, StringComparison.Ordinal);
    }

    [Fact]
    public void Private_keys_are_files_to_copy_and_need_an_entry_only_for_a_passphrase()
    {
        var (conf, notes) = Convert(": RSA moonKey.pem\n: ECDSA /root/keys/sun.pem \"pass phrase\"\n: RSA locked.pem %prompt\n: P12 bundle.p12 \"p12-pass\"\n");
        Assert.DoesNotContain("moonKey.pem", conf, StringComparison.Ordinal);
        ContainsAll(conf,
            "private-1 {\n    file = sun.pem\n    secret = \"pass phrase\"\n  }",
            "pkcs12-1 {\n    file = bundle.p12\n    secret = \"p12-pass\"\n  }");
        ContainsAll(notes,
            "ipsec.secrets:1: copy /etc/ipsec.d/private/moonKey.pem to /etc/swanctl/private/moonKey.pem",
            "ipsec.secrets:2: copy /root/keys/sun.pem to /etc/swanctl/private/sun.pem",
            "ipsec.secrets:3: %prompt: a daemon cannot ask",
            "/etc/swanctl/pkcs12/bundle.p12");
    }

    [Fact]
    public void Continuation_lines_blocks_and_includes_are_read()
    {
        var (conf, notes) = Convert("@a.example @b.example :\n  PSK \"split over lines\"\n: RSA {\n\tModulus: 0x00\n}\ninclude more/*.secrets\n",
            new() { ["more/x.secrets"] = "carol : EAP \"included\"\n" });
        ContainsAll(conf, "secret = \"split over lines\"", "secret = \"included\"");
        Assert.Contains("ipsec.secrets:3: RSA with an inline key", notes, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_and_undecodable_secrets_are_noted_not_written()
    {
        var (conf, notes) = Convert(": PSK \"\"\n: PSK 0x\n: PSK 0sno-base64!\n: PSK\n");
        Assert.DoesNotContain("ike-", conf, StringComparison.Ordinal);
        ContainsAll(notes,
            "ipsec.secrets:1: PSK with an empty secret",
            "ipsec.secrets:2: PSK with an empty secret",
            "ipsec.secrets:3: PSK whose 0x/0s value does not decode",
            "ipsec.secrets:4: PSK without a value");
    }

    [Fact]
    public void Unknown_types_and_pins_are_noted()
    {
        var (_, notes) = Convert(": PIN %smartcard:4 1234\n: FOO bar\n");
        ContainsAll(notes,
            "ipsec.secrets:1: PIN",
            "ipsec.secrets:2: 'FOO' is not a secret type");
    }

    [Fact]
    public void An_entry_without_a_colon_is_an_error_with_its_line()
    {
        var e = Assert.Throws<ConfigException>(() => ImportMappingTests.Convert(Conf, "# comment\nPSK \"no selector separator\"\n"));
        Assert.Equal(("ipsec.secrets", 2), (e.Location.File, e.Location.Line));
    }

    [Fact]
    public void Secrets_never_appear_in_notes()
    {
        var (_, notes) = Convert("carol : EAP \"hidden-eap\"\n: PSK \"0xhidden-psk\"\n: ECDSA k.pem \"hidden-pass\"\n");
        Assert.DoesNotContain("hidden", notes, StringComparison.Ordinal);
    }
}
