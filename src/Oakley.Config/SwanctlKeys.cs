using System.Globalization;

namespace Oakley.Config;

/// <summary>How Oakley treats a key that strongSwan's swanctl.conf accepts.</summary>
internal enum KeyKind
{
    /// <summary>Built: the loader reads it (some values may still be not supported yet, see <see cref="KeySpec.NotYet"/>).</summary>
    Read,

    /// <summary>Not built, and ignoring it cannot change which traffic is protected or how peers authenticate: a warning.</summary>
    Ignored,

    /// <summary>Not built: an error unless its value is what Oakley does anyway (<see cref="KeySpec.Fine"/>, e.g. the default).</summary>
    Refused,
}

/// <summary>
/// One key of a swanctl.conf section. <paramref name="Why"/> names the feature (for <see cref="KeyKind.Refused"/> and
/// <see cref="KeyKind.Read"/> values that are not built yet) or why ignoring it is harmless (<see cref="KeyKind.Ignored"/>).
/// </summary>
internal sealed record KeySpec(string Name, KeyKind Kind, string Why, Func<string, bool>? Fine = null, Func<string, bool>? NotYet = null, bool IsPrefix = false, bool IsNumber = false)
{
    public bool Matches(string key) => IsNumber ? key.Length > 0 && key.All(char.IsAsciiDigit) : IsPrefix ? key.StartsWith(Name, StringComparison.Ordinal) : key == Name;
}

/// <summary>
/// The keys of strongSwan's swanctl.conf (src/swanctl/swanctl.opt, strongSwan 6.x) and how Oakley treats each one.
/// docs/config.md documents the same classification; keep them together.
/// </summary>
internal static class SwanctlKeys
{
    public const string AuthBuilt = "Oakley authenticates with psk, pubkey (certificates, raw keys) and eap";
    private const string OcspPush = "OCSP stapling in CERT payloads (encoding 14) is not built; Oakley asks the responders itself";
    private const string Ikev1Only = "it applies to IKEv1 only, and Oakley speaks IKEv2";
    private const string NoXfrm = "Oakley's data plane is its TUN device, not kernel XFRM policies";

    private static readonly string[] No = ["no", "false", "disabled", "0"];
    private static readonly string[] Yes = ["yes", "true", "enabled", "1"];

    public static readonly IReadOnlyList<KeySpec> Connection =
    [
        Read("version", "IKEv1 is not built; Oakley speaks IKEv2", v => v.Trim() == "1"),
        Read("local_addrs"), Read("remote_addrs"), Read("remote_port"), Read("proposals"), Read("encap"), Read("mobike"),
        Read("dpd_delay"), Read("fragmentation"), Read("keyingtries"), Read("unique"), Read("reauth_time"), Read("rekey_time"),
        Read("over_time"), Read("rand_time"),
        Refused("local_port", "a per-connection IKE port: the daemon's --port sets it", v => v.Trim() == "500"),
        Read("vips"), Read("pools", "DHCP address allocation", IsDhcpPool),
        Refused("childless", "childless IKE SA initiation (RFC 6023)", v => v.Trim() is "allow" or "never"),
        Refused("ppk_id", "postquantum preshared keys (RFC 8784)", Empty),
        Refused("ppk_required", "postquantum preshared keys (RFC 8784)", Bool(No)),
        Refused("if_id_in", "XFRM interface IDs: " + NoXfrm, Zero),
        Refused("if_id_out", "XFRM interface IDs: " + NoXfrm, Zero),
        Refused("mediation", "IKEv2 mediation", Bool(No)),
        Refused("mediated_by", "IKEv2 mediation", Empty),
        Refused("mediation_peer", "IKEv2 mediation", Empty),
        Ignored("aggressive", Ikev1Only),
        Ignored("pull", "push mode (pull = no) is IKEv1 Mode Config; an IKEv2 client always asks with a CFG_REQUEST"),
        Ignored("dpd_timeout", Ikev1Only),
        Ignored("dscp", "IKE packets leave with the host's default DSCP"),
        Read("send_certreq"), Read("send_cert"),
        Ignored("ocsp", OcspPush),
    ];

    public static readonly IReadOnlyList<KeySpec> LocalAuth =
    [
        Read("auth", XauthWhy, IsXauth), Read("id"), Read("round"), Read("certs"), Read("pubkeys"), Read("eap_id"),
        Refused("aaa_id", "AAA server identities (the EAP server's identity as checked by the client)", Empty),
        Refused("xauth_id", XauthWhy, Empty),
    ];

    public static readonly IReadOnlyList<KeySpec> RemoteAuth =
    [
        Read("auth", XauthWhy, IsXauth), Read("id"), Read("round"), Read("eap_id"),
        Refused("groups", "authorization groups", Empty),
        Read("certs"), Read("cacerts"), Read("pubkeys"),
        Refused("cert_policy", "certificate policy constraints", Empty),
        Refused("ca_id", "CA identities (ca_id)", Empty),
        Read("revocation"),
    ];

    public static readonly IReadOnlyList<KeySpec> Child =
    [
        Read("mode", "Oakley builds tunnel and transport mode", v => v.Trim() is "transport_proxy" or "iptfs" or "beet" or "pass" or "drop"),
        Read("local_ts"), Read("remote_ts"), Read("esp_proposals"), Read("start_action"), Read("close_action"), Read("dpd_action"),
        Read("rekey_time"), Read("life_time"), Read("rand_time"), Read("rekey_bytes"), Read("life_bytes"), Read("rekey_packets"),
        Read("life_packets"),
        Refused("ah_proposals", "AH", Empty),
        Refused("sha256_96", "96-bit HMAC-SHA-256 truncation", Bool(No)),
        Refused("updown", "updown scripts", Empty),
        Refused("policies", "CHILD SAs without policies", Bool(Yes)),
        Refused("policies_fwd_out", "outbound forward policies: " + NoXfrm, Bool(No)),
        Refused("ipcomp", "IPComp", Bool(No)),
        Refused("reqid", "fixed reqids: " + NoXfrm, Zero),
        Refused("priority", "fixed policy priorities: " + NoXfrm, Zero),
        Refused("interface", "policies restricted to an interface: " + NoXfrm, Empty),
        Refused("mark_in", "netfilter marks", ZeroMark),
        Refused("mark_in_sa", "netfilter marks", Bool(No)),
        Refused("mark_out", "netfilter marks", ZeroMark),
        Refused("set_mark_in", "netfilter marks", ZeroMark),
        Refused("set_mark_out", "netfilter marks", ZeroMark),
        Refused("if_id_in", "XFRM interface IDs: " + NoXfrm, Zero),
        Refused("if_id_out", "XFRM interface IDs: " + NoXfrm, Zero),
        Refused("label", "security labels", Empty),
        Refused("tfc_padding", "traffic flow confidentiality padding", Zero),
        Refused("icmp", "forwarding ICMP errors from outside the selectors", Bool(No)),
        Ignored("rand_bytes", "rekeying happens at rekey_bytes exactly"),
        Ignored("rand_packets", "rekeying happens at rekey_packets exactly"),
        Ignored("hostaccess", "it is passed to updown scripts only, and those are refused"),
        Ignored("inactivity", "idle CHILD SAs are not closed; their traffic stays protected"),
        Ignored("replay_window", "Oakley's anti-replay window is always 128 packets"),
        Ignored("per_cpu_sas", "one CHILD SA serves all CPUs"),
        Ignored("hw_offload", "Oakley's data plane is software only"),
        Ignored("copy_df", "the host's IP stack builds the outer header"),
        Ignored("copy_ecn", "the host's IP stack builds the outer header"),
        Ignored("copy_dscp", "the host's IP stack builds the outer header"),
        Ignored("label_mode", "security labels are refused, so there is no label to apply it to"),
    ];

    /// <summary>Secret types by section-name prefix (strongSwan's order), and the keys of each.</summary>
    public static readonly IReadOnlyList<(string Prefix, string Kind, IReadOnlyList<KeySpec> Keys)> SecretTypes =
    [
        ("eap", "EAP", SharedSecret), ("xauth", "XAuth", SharedSecret), ("ntlm", "NTLM", SharedSecret), ("ike", "IKE", SharedSecret),
        ("ppk", "PPK", SharedSecret), ("private", "private key", KeySecret), ("rsa", "RSA key", KeySecret), ("ecdsa", "ECDSA key", KeySecret),
        ("pkcs8", "PKCS#8 key", KeySecret), ("pkcs12", "PKCS#12", KeySecret), ("token", "token", TokenSecret),
    ];

    /// <summary>The keys of an <c>authorities.&lt;name&gt;</c> section.</summary>
    public static readonly IReadOnlyList<KeySpec> Authority =
    [
        Read("cacert"), Read("file"),
        Read("crl_uris"), Read("ocsp_uris"),
        Refused("cert_uri_base", "hash-and-URL certificates", Empty),
        Refused("handle", "PKCS#11 tokens", Empty), Refused("slot", "PKCS#11 tokens", Empty), Refused("module", "PKCS#11 tokens", Empty),
    ];

    /// <summary>
    /// The keys of a <c>pools.&lt;name&gt;</c> section. The attribute types Oakley does not send are refused when set:
    /// leaving one out would change what a client is told (RFC 7296 §3.15.1 attributes, strongSwan's custom numbers).
    /// </summary>
    public static readonly IReadOnlyList<KeySpec> Pool =
    [
        Read("addrs"), Read("dns"), Read("nbns"), Read("subnet"), Read("split_include"), Read("split_exclude"),
        Refused("dhcp", "INTERNAL_IP4_DHCP / INTERNAL_IP6_DHCP attributes", Empty),
        Refused("netmask", "INTERNAL_IP4_NETMASK attributes", Empty),
        Refused("server", "INTERNAL_IP4_SERVER / INTERNAL_IP6_SERVER attributes", Empty),
        Refused("p_cscf", "P-CSCF attributes (RFC 7651)", Empty),
        new KeySpec("<number>", KeyKind.Refused, "configuration attributes by number", Fine: Empty, IsNumber: true),
    ];

    /// <summary>The top-level sections of a swanctl.conf.</summary>
    public static readonly IReadOnlyList<string> Sections = ["connections", "secrets", "pools", "authorities"];

    private static IReadOnlyList<KeySpec> SharedSecret => [Read("secret"), new KeySpec("id", KeyKind.Read, string.Empty, IsPrefix: true)];

    private static IReadOnlyList<KeySpec> KeySecret => [Read("secret"), Read("file")];

    private static IReadOnlyList<KeySpec> TokenSecret => [Read("handle"), Read("slot"), Read("module"), Read("pin")];

    private const string XauthWhy = "XAuth is IKEv1 only; " + AuthBuilt;

    /// <summary>A valid strongSwan auth method that is not built: XAuth (vici's parse_auth), IKEv1 only.</summary>
    private static bool IsXauth(string v) => v.Trim().StartsWith("xauth", StringComparison.OrdinalIgnoreCase);

    /// <summary>strongSwan's <c>dhcp</c> pool: addresses from a DHCP server (its dhcp plugin), not built.</summary>
    private static bool IsDhcpPool(string v) => v.Split(',', StringSplitOptions.TrimEntries).Contains("dhcp", StringComparer.Ordinal);

    private static KeySpec Read(string name, string why = "", Func<string, bool>? notYet = null) => new(name, KeyKind.Read, why, NotYet: notYet);

    private static KeySpec Ignored(string name, string why) => new(name, KeyKind.Ignored, why);

    private static KeySpec Refused(string name, string why, Func<string, bool> fine) => new(name, KeyKind.Refused, why, Fine: fine);

    private static bool Empty(string v) => v.Trim().Length == 0;

    private static Func<string, bool> Bool(string[] values) => v => values.Contains(v.Trim(), StringComparer.OrdinalIgnoreCase);

    /// <summary>0, in decimal or 0x hex (strongSwan's default for IDs, priorities and padding).</summary>
    private static bool Zero(string v)
    {
        var t = v.Trim();
        return t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h) && h == 0
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d == 0;
    }

    /// <summary>A mark <c>value[/mask]</c> whose value is 0: no mark (strongSwan's default <c>0/0x00000000</c>).</summary>
    private static bool ZeroMark(string v)
    {
        var slash = v.IndexOf('/', StringComparison.Ordinal);
        return Empty(v) || Zero(slash < 0 ? v : v[..slash]);
    }
}
