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
                foreach (var sa in response["ike-sas"]!.AsArray())
                {
                    sb.AppendLine($"{sa!["name"]}: #{sa["uniqueid"]}, {sa["state"]}, IKEv2, {sa["initiator-spi"]}_i{((bool)sa["initiator"]! ? "*" : string.Empty)} {sa["responder-spi"]}_r{((bool)sa["initiator"]! ? string.Empty : "*")}");
                    sb.AppendLine($"  local  '{sa["local-id"]}' @ {sa["local-host"]}[{sa["local-port"]}]");
                    sb.AppendLine($"  remote '{sa["remote-id"]}' @ {sa["remote-host"]}[{sa["remote-port"]}]");
                    sb.AppendLine($"  {sa["proposal"]}");
                    sb.AppendLine($"  established {sa["established"]}s ago, rekeying in {sa["rekey-time"]}s");
                    foreach (var c in sa["child-sas"]!.AsArray())
                    {
                        sb.AppendLine($"  {c!["name"]}: {c["mode"]}{((bool?)c["encap"] == true ? "-in-UDP" : string.Empty)}, ESP, SPIs: {c["spi-in"]}_i {c["spi-out"]}_o");
                        sb.AppendLine($"    {c["encr-alg"]}-{c["encr-keysize"]}{(c["integ-alg"] is { } i ? "/" + i : string.Empty)}{((bool)c["esn"]! ? "/ESN" : string.Empty)}");
                        sb.AppendLine($"    installed {c["install-time"]}s ago, rekeying in {c["rekey-time"]}s, expires in {c["life-time"]}s");
                        sb.AppendLine($"    in  {c["spi-in"]}, {c["bytes-in"],9} bytes, {c["packets-in"],7} packets");
                        sb.AppendLine($"    out {c["spi-out"]}, {c["bytes-out"],9} bytes, {c["packets-out"],7} packets");
                        sb.AppendLine($"    local  {string.Join(" ", c["local-ts"]!.AsArray())}");
                        sb.AppendLine($"    remote {string.Join(" ", c["remote-ts"]!.AsArray())}");
                    }
                }

                break;
            case "list-conns":
                foreach (var c in response["connections"]!.AsArray())
                {
                    sb.AppendLine($"{c!["name"]}: {c["version"]}, {string.Join(",", c["local-addrs"]!.AsArray())}...{string.Join(",", c["remote-addrs"]!.AsArray())}");
                    sb.AppendLine($"  local pre-shared key authentication: id '{c["local-id"]}'");
                    sb.AppendLine($"  remote pre-shared key authentication: id '{c["remote-id"]}'");
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
}
