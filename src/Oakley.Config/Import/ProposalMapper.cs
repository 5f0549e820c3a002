using System.Text.RegularExpressions;
using Oakley.Crypto.Registry;
using Oakley.Iana;

namespace Oakley.Config.Import;

/// <summary>The swanctl proposal list an ipsec.conf <c>ike=</c>/<c>esp=</c>/<c>phase2alg=</c> maps to, and what was done to it.</summary>
public sealed record MappedProposals(string Value, IReadOnlyList<string> Remarks, string? OakleyRefusal);

/// <summary>
/// Maps algorithm lists. strongSwan's ipsec.conf uses swanctl's keywords already; the difference is the strict
/// suffix: <c>ike=aes256-sha256-modp2048</c> means "these, then the defaults", <c>…!</c> means "only these", and
/// swanctl.conf spells the first as the list followed by <c>default</c>. Libreswan's syntax
/// (<c>aes256-sha2;modp2048</c>, <c>aes_gcm256-sha2_512+sha2_256-dh19+dh20</c>) names the same algorithms
/// differently and replaces its defaults; each algorithm is translated to strongSwan's keyword. The result is
/// checked with Oakley's own proposal parser so that a list Oakley would refuse is reported, not written.
/// </summary>
public static partial class ProposalMapper
{
    private static readonly Dictionary<string, string> LibreswanInteg = new(StringComparer.Ordinal)
    {
        ["sha"] = "sha1", ["sha1"] = "sha1", ["sha2"] = "sha256", ["sha2_256"] = "sha256", ["sha256"] = "sha256",
        ["sha2_384"] = "sha384", ["sha384"] = "sha384", ["sha2_512"] = "sha512", ["sha512"] = "sha512", ["md5"] = "md5",
        ["aes_xcbc"] = "aesxcbc", ["aesxcbc"] = "aesxcbc", ["aes_cmac"] = "aescmac",
    };

    private static readonly Dictionary<string, string> LibreswanGroups = new(StringComparer.Ordinal)
    {
        ["dh2"] = "modp1024", ["dh5"] = "modp1536", ["dh14"] = "modp2048", ["dh15"] = "modp3072", ["dh16"] = "modp4096",
        ["dh17"] = "modp6144", ["dh18"] = "modp8192", ["dh19"] = "ecp256", ["dh20"] = "ecp384", ["dh21"] = "ecp521",
        ["dh22"] = "modp1024s160", ["dh23"] = "modp2048s224", ["dh24"] = "modp2048s256", ["dh31"] = "curve25519",
        ["dh32"] = "curve448", ["ecp_256"] = "ecp256", ["ecp_384"] = "ecp384", ["ecp_521"] = "ecp521", ["x25519"] = "curve25519",
    };

    [GeneratedRegex(@"^(aes|aes_cbc|aes_ctr|aesctr|aes_gcm|aes_gcm_a|aes_gcm_b|aes_gcm_c|aes_gcm8|aes_gcm12|aes_gcm16|aes_ccm|aes_ccm_a|aes_ccm_b|aes_ccm_c|aes_gmac|camellia|camellia_cbc)_?(128|192|256)?$")]
    private static partial Regex LibreswanCipher();

    /// <summary>Whether a value uses Libreswan's syntax (or comes from a Libreswan file).</summary>
    public static bool IsLibreswanSyntax(string value, bool libreswanFile) =>
        libreswanFile || value.Contains(';', StringComparison.Ordinal) || value.Contains('_', StringComparison.Ordinal) ||
        value.Split([',', '-', '+'], StringSplitOptions.TrimEntries).Any(t => t == "sha2" || LibreswanGroups.ContainsKey(t));

    /// <summary>Maps an IKE (<paramref name="protocol"/> Ike) or ESP/AH list.</summary>
    public static MappedProposals Map(string value, ProtocolId protocol, bool libreswanFile)
    {
        ArgumentNullException.ThrowIfNull(value);
        var remarks = new List<string>();
        var text = value.Trim().ToLowerInvariant();
        string result;
        if (IsLibreswanSyntax(text, libreswanFile))
        {
            var proposals = text.TrimEnd('!').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(p => Libreswan(p, protocol, remarks)).ToList();
            result = string.Join(", ", proposals);
        }
        else
        {
            var strict = text.EndsWith('!');
            var proposals = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(p => p.TrimEnd('!')).ToList();
            result = string.Join(", ", proposals);
            if (!strict)
            {
                // starter appends the default proposals unless the list ends in '!'.
                result += ", default";
                remarks.Add("without the strict '!' suffix starter adds the default proposals: 'default' is appended");
            }
        }

        return new MappedProposals(result, remarks, Check(result, protocol));
    }

    private static string? Check(string list, ProtocolId protocol)
    {
        try
        {
            ProposalString.ParseList(list.Replace(", ", ",", StringComparison.Ordinal), protocol);
            return null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>One Libreswan proposal: <c>ENC[-INTEG|PRF][-DH]</c> or <c>ENC-INTEG;DH</c>, each part with <c>+</c> alternatives.</summary>
    private static string Libreswan(string proposal, ProtocolId protocol, List<string> remarks)
    {
        var ciphers = new List<string>();
        var integs = new List<string>();
        var groups = new List<string>();
        var aead = false;
        string? lastCipher = null;
        foreach (var alternative in proposal.Split(['-', ';', '+'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (alternative is "128" or "192" or "256" && lastCipher is not null && Cipher(lastCipher + alternative) is { } sized)
            {
                // Libreswan also writes the key length as its own part: aes_gcm_c-256.
                ciphers[^1] = sized;
                continue;
            }

            lastCipher = null;
            if (Cipher(alternative) is { } cipher)
            {
                lastCipher = alternative;
                ciphers.Add(cipher);
                aead |= cipher.Contains("gcm", StringComparison.Ordinal) || cipher.Contains("ccm", StringComparison.Ordinal) || cipher == "chacha20poly1305";
            }
            else if (LibreswanInteg.TryGetValue(alternative, out var integ))
            {
                integs.Add(integ);
            }
            else if (LibreswanGroups.TryGetValue(alternative, out var group) || alternative.StartsWith("modp", StringComparison.Ordinal) || alternative.StartsWith("ecp", StringComparison.Ordinal) || alternative is "curve25519" or "curve448")
            {
                groups.Add(group ?? alternative);
            }
            else if (alternative is not ("null" or "none" or "dh0"))
            {
                // Not a Libreswan name: keep it, it may be one of strongSwan's (the check below reports it otherwise).
                ciphers.Add(alternative);
            }
        }

        if (protocol == ProtocolId.Ike && aead)
        {
            integs = integs.Select(i => "prf" + i).ToList();
        }
        else if (protocol != ProtocolId.Ike && aead)
        {
            integs.Clear();
        }

        if (protocol == ProtocolId.Ike && groups.Count == 0)
        {
            groups.Add("modp2048");
            remarks.Add($"'{proposal}' names no DH group (Libreswan then offers its default groups): modp2048 is written, check it against the peer");
        }

        if (protocol == ProtocolId.Ike && integs.Count == 0 && aead)
        {
            integs.Add("prfsha256");
            remarks.Add($"'{proposal}' names no PRF: prfsha256 (Libreswan's default) is written");
        }

        return string.Join('-', ciphers.Concat(integs).Concat(groups));
    }

    private static string? Cipher(string name)
    {
        if (name is "3des" or "3des_cbc")
        {
            return "3des";
        }

        if (name is "chacha20_poly1305" or "chacha20poly1305")
        {
            return "chacha20poly1305";
        }

        var match = LibreswanCipher().Match(name);
        if (!match.Success)
        {
            return null;
        }

        var bits = match.Groups[2].Success ? match.Groups[2].Value : "128";
        return match.Groups[1].Value switch
        {
            "aes" or "aes_cbc" => "aes" + bits,
            "aes_ctr" or "aesctr" => $"aes{bits}ctr",
            "aes_gcm" or "aes_gcm_c" or "aes_gcm16" => $"aes{bits}gcm16",
            "aes_gcm_b" or "aes_gcm12" => $"aes{bits}gcm12",
            "aes_gcm_a" or "aes_gcm8" => $"aes{bits}gcm8",
            "aes_ccm" or "aes_ccm_c" => $"aes{bits}ccm16",
            "aes_ccm_b" => $"aes{bits}ccm12",
            "aes_ccm_a" => $"aes{bits}ccm8",
            "aes_gmac" => $"aes{bits}gmac",
            _ => "camellia" + bits,
        };
    }
}
