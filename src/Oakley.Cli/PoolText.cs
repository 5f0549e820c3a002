using System.Text;
using System.Text.Json.Nodes;

namespace Oakley.Cli;

/// <summary><c>oakley list-pools</c> as text, in the columns of swanctl --list-pools (name, base, online / offline / size; leases below).</summary>
internal static class PoolText
{
    public static void Pools(StringBuilder sb, JsonObject response)
    {
        var pools = response["pools"]!.AsArray();
        if (pools.Count == 0)
        {
            sb.AppendLine("no pools loaded");
            return;
        }

        foreach (var p in pools)
        {
            var counts = $"{p!["online"]} / {p["offline"]} / {p["size"]}";
            sb.AppendLine($"{(string?)p["name"],-20} {(string?)p["base"],-30} {counts,16}");
            foreach (var l in p["leases"]?.AsArray() ?? [])
            {
                sb.AppendLine($"  {(string?)l!["address"],-30} {(string?)l["status"],-8} '{(string?)l["identity"]}'");
            }
        }
    }
}
