using System.Text;
using System.Text.Json.Nodes;

namespace Oakley.Cli;

/// <summary>Human-readable output in the shape of swanctl's.</summary>
internal static class TextFormat
{
    public static string Render(string command, JsonObject response)
    {
        var sb = new StringBuilder();
        switch (command)
        {
            case "list-sas":
                var sas = response["ike-sas"]!.AsArray();
                if (sas.Count == 0)
                {
                    return "no IKE SAs";
                }

                foreach (var sa in sas)
                {
                    IkeSa(sb, sa!);
                }

                break;
            case "initiate":
                // The daemon returns the established IKE SA in list-sas's shape.
                if (response["ike-sa"] is not { } established)
                {
                    return $"IKE SA #{response["ike-sa-id"]} was established, but it is gone again";
                }

                IkeSa(sb, established);
                break;
            case "stats":
                Stats(sb, response);
                break;
            case "list-certs":
                CertificateText.Certificates(sb, response);
                break;
            case "list-authorities":
                CertificateText.Authorities(sb, response);
                break;
            case "list-pools":
                PoolText.Pools(sb, response);
                break;
            case "list-conns":
                var conns = response["connections"]!.AsArray();
                if (conns.Count == 0)
                {
                    return "no connections loaded";
                }

                foreach (var c in conns)
                {
                    sb.AppendLine($"{c!["name"]}: {c["version"]}, {string.Join(",", c["local-addrs"]!.AsArray())}...{string.Join(",", c["remote-addrs"]!.AsArray())}");
                    AuthRound(sb, "local", c["local-id"]!, c["local-auth"]);
                    MoreRounds(sb, "local", c["local-id"]!, c["local-auth-more"]);
                    AuthRound(sb, "remote", c["remote-id"]!, c["remote-auth"]);
                    MoreRounds(sb, "remote", c["remote-id"]!, c["remote-auth-more"]);
                    Listed(sb, "vips", c["vips"]);
                    Listed(sb, "pools", c["pools"]);
                    sb.AppendLine($"  proposals: {c["proposals"]}");
                    foreach (var ch in c["children"]!.AsArray())
                    {
                        sb.AppendLine($"  {ch!["name"]}: {ch["mode"]}, start_action {ch["start-action"]}");
                        sb.AppendLine($"    local:  {string.Join(" ", ch["local-ts"]!.AsArray())}");
                        sb.AppendLine($"    remote: {string.Join(" ", ch["remote-ts"]!.AsArray())}");
                        sb.AppendLine($"    esp: {ch["esp-proposals"]}");
                    }
                }

                break;
            default:
                foreach (var kv in response)
                {
                    if (kv.Key != "ok")
                    {
                        sb.AppendLine($"{kv.Key}: {kv.Value?.ToJsonString()}");
                    }
                }

                break;
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>swanctl --list-conns's authentication lines: the class, the id, and any certificates, CAs and raw keys.</summary>
    private static void AuthRound(StringBuilder sb, string side, JsonNode id, JsonNode? auth)
    {
        sb.AppendLine($"  {side} {(string?)auth?["class"] ?? "pre-shared key"} authentication:");
        sb.AppendLine($"    id: {id}");
        if (auth?["eap_id"] is { } eapId)
        {
            sb.AppendLine($"    eap_id: {eapId}");
        }

        foreach (var (key, label) in new[] { ("certs", "certs"), ("cacerts", "cacerts"), ("pubkeys", "pubkeys") })
        {
            foreach (var entry in auth?[key]?.AsArray() ?? [])
            {
                sb.AppendLine($"    {label}: {entry}");
            }
        }
    }

    /// <summary>swanctl's "local-2 ... authentication:" blocks of the later rounds (RFC 4739).</summary>
    private static void MoreRounds(StringBuilder sb, string side, JsonNode id, JsonNode? rounds)
    {
        var n = 2;
        foreach (var round in rounds?.AsArray() ?? [])
        {
            AuthRound(sb, $"{side}-{n++}", id, round);
        }
    }

    private static void Listed(StringBuilder sb, string key, JsonNode? values)
    {
        if (values is JsonArray { Count: > 0 } a)
        {
            sb.AppendLine($"  {key}: {string.Join(", ", a.Select(v => v?.ToString()))}");
        }
    }

    /// <summary>One IKE SA and its CHILD SAs, as swanctl --list-sas prints them.</summary>
    internal static void IkeSa(StringBuilder sb, JsonNode sa)
    {
        var initiator = (bool)sa["initiator"]!;
        sb.AppendLine($"{sa["name"]}: #{sa["uniqueid"]}, {sa["state"]}, IKEv2, {sa["initiator-spi"]}_i{(initiator ? "*" : string.Empty)} {sa["responder-spi"]}_r{(initiator ? string.Empty : "*")}");
        sb.AppendLine($"  local  '{sa["local-id"]}' @ {sa["local-host"]}[{sa["local-port"]}]{Vips(sa["local-vips"])}");
        var eap = sa["remote-eap-id"] is { } e ? $" EAP: '{e}'" : string.Empty;
        sb.AppendLine($"  remote '{sa["remote-id"]}' @ {sa["remote-host"]}[{sa["remote-port"]}]{eap}{Vips(sa["remote-vips"])}");
        if (sa["proposal"] is { } proposal)
        {
            sb.AppendLine($"  {proposal}");
        }

        if (sa["established"] is { } established)
        {
            sb.AppendLine(sa["rekey-time"] is null ? $"  established {established}s ago" : $"  established {established}s ago, rekeying in {sa["rekey-time"]}s");
        }

        foreach (var c in sa["child-sas"]!.AsArray())
        {
            sb.AppendLine($"  {c!["name"]}: {c["mode"]}{((bool?)c["encap"] == true ? "-in-UDP" : string.Empty)}, ESP, SPIs: {c["spi-in"]}_i {c["spi-out"]}_o");
            sb.AppendLine($"    {c["encr-alg"]}-{c["encr-keysize"]}{(c["integ-alg"] is { } i ? "/" + i : string.Empty)}{((bool)c["esn"]! ? "/ESN" : string.Empty)}");
            sb.AppendLine($"    installed {c["install-time"]}s ago" + (c["rekey-time"] is null ? string.Empty : $", rekeying in {c["rekey-time"]}s") + (c["life-time"] is null ? string.Empty : $", expires in {c["life-time"]}s"));
            sb.AppendLine($"    in  {c["spi-in"]}, {c["bytes-in"],9} bytes, {c["packets-in"],7} packets");
            sb.AppendLine($"    out {c["spi-out"]}, {c["bytes-out"],9} bytes, {c["packets-out"],7} packets");
            sb.AppendLine($"    local  {string.Join(" ", c["local-ts"]!.AsArray())}");
            sb.AppendLine($"    remote {string.Join(" ", c["remote-ts"]!.AsArray())}");
        }
    }

    /// <summary>
    /// The daemon's counters as a two-column table (name, value) in the daemon's order; the counters grouped in an
    /// object (esp-drops, dropped) follow under a heading, indented.
    /// </summary>
    private static void Stats(StringBuilder sb, JsonObject response)
    {
        var scalars = response.Where(kv => kv.Key != "ok" && kv.Value is not JsonObject).ToList();
        var groups = response.Where(kv => kv.Value is JsonObject).Select(kv => (kv.Key, Rows: kv.Value!.AsObject().ToList())).ToList();
        var width = scalars.Select(kv => kv.Key.Length).Concat(groups.SelectMany(g => g.Rows.Select(r => r.Key.Length + 2))).DefaultIfEmpty(0).Max() + 2;
        foreach (var (key, value) in scalars)
        {
            sb.AppendLine($"{key.PadRight(width)}{Scalar(value),12}");
        }

        foreach (var (key, rows) in groups)
        {
            sb.AppendLine($"{key}:{(rows.Count == 0 ? " none" : string.Empty)}");
            foreach (var (name, value) in rows)
            {
                sb.AppendLine($"  {name.PadRight(width - 2)}{Scalar(value),12}");
            }
        }
    }

    /// <summary>swanctl's " [10.3.0.1 2001:db8::1]" after an endpoint with virtual IPs, else nothing.</summary>
    private static string Vips(JsonNode? vips) => vips is JsonArray { Count: > 0 } a ? $" [{string.Join(" ", a.Select(v => v?.ToString()))}]" : string.Empty;

    private static string Scalar(JsonNode? value) => value switch
    {
        null => "-",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => value.ToJsonString(),
    };
}
