using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Oakley.Cli;

/// <summary><c>oakley list-certs</c> and <c>list-authorities</c> as text, in the shape of swanctl --list-certs.</summary>
internal static class CertificateText
{
    public static void Certificates(StringBuilder sb, JsonObject response)
    {
        var certs = response["certificates"]!.AsArray();
        if (certs.Count == 0)
        {
            sb.AppendLine("no certificates loaded");
            return;
        }

        foreach (var (title, ca) in new[] { ("List of X.509 End Entity Certificates", false), ("List of X.509 CA Certificates", true) })
        {
            var group = certs.Where(c => ((string)c!["type"]! == "X509_CA") == ca).ToList();
            if (group.Count == 0)
            {
                continue;
            }

            sb.AppendLine().AppendLine(title);
            foreach (var c in group)
            {
                One(sb, c!);
            }
        }
    }

    public static void Authorities(StringBuilder sb, JsonObject response)
    {
        var authorities = response["authorities"]!.AsArray();
        if (authorities.Count == 0)
        {
            sb.AppendLine("no authorities loaded");
            return;
        }

        foreach (var a in authorities)
        {
            sb.AppendLine($"{a!["name"]}:");
            sb.AppendLine($"  cacert: {a["cacert"]}");
            foreach (var uri in a["crl-uris"]!.AsArray())
            {
                sb.AppendLine($"  crluri: {uri}");
            }

            foreach (var uri in a["ocsp-uris"]!.AsArray())
            {
                sb.AppendLine($"  ocspuri: {uri}");
            }
        }
    }

    private static void One(StringBuilder sb, JsonNode c)
    {
        sb.AppendLine();
        sb.AppendLine($"  subject:  \"{c["subject"]}\"");
        sb.AppendLine($"  issuer:   \"{c["issuer"]}\"");
        var validity = (string)c["validity"]!;
        sb.AppendLine($"  validity:  not before {Date(c["not-before"]!)}");
        sb.AppendLine($"             not after  {Date(c["not-after"]!)}, {(validity == "ok" ? "ok" : validity)}");
        sb.AppendLine($"  serial:    {Colons((string)c["serial"]!)}");
        var alt = c["alt-names"]!.AsArray();
        if (alt.Count > 0)
        {
            sb.AppendLine($"  altNames:  {string.Join(", ", alt.Select(a => ((string)a!)[((string)a!).IndexOf(':', StringComparison.Ordinal)..].TrimStart(':')))}");
        }

        var flags = c["flags"]!.AsArray();
        if (flags.Count > 0)
        {
            sb.AppendLine($"  flags:     {string.Join(" ", flags)}");
        }

        if (c["subject-key-id"] is { } ski)
        {
            sb.AppendLine($"  subjkeyId: {Colons((string)ski!)}");
        }

        sb.AppendLine($"  pubkey:    {c["key-type"]} {c["key-size"]} bits{((bool)c["has-private-key"]! ? ", has private key" : "")}");
        var used = c["used-by"]!.AsArray();
        if (used.Count > 0)
        {
            sb.AppendLine($"  used by:   {string.Join(", ", used)}");
        }

        sb.AppendLine($"  revocation: {c["revocation"]}");
    }

    private static string Date(JsonNode iso) =>
        DateTimeOffset.Parse((string)iso!, CultureInfo.InvariantCulture).UtcDateTime.ToString("MMM dd HH:mm:ss yyyy", CultureInfo.InvariantCulture);

    private static string Colons(string hex) => string.Join(":", Enumerable.Range(0, hex.Length / 2).Select(i => hex.Substring(i * 2, 2)));
}
