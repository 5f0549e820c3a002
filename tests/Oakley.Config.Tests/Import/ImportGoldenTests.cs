using System.Text.RegularExpressions;
using Oakley.Config.Import;
using Oakley.Tests.Shared;

namespace Oakley.Config.Tests.Import;

/// <summary>
/// Each folder of <c>Import/Fixtures</c> is a realistic ipsec.conf (and ipsec.secrets) modelled on strongSwan's test
/// scenarios and Libreswan's examples, with the swanctl.conf and the notes the importer must produce (golden files,
/// reviewed by hand). The converted file must also load into Oakley's own loader with the credentials it names in
/// place, with the expected number of connections.
/// </summary>
public sealed partial class ImportGoldenTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Import", "Fixtures");

    public static TheoryData<string> Fixtures() => new(Directory.GetDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    /// <summary>Runs the importer on a fixture folder with paths relative to it (so that notes read "ipsec.conf:12").</summary>
    internal static ImportResult Run(string fixture, bool rightIsLocal = false)
    {
        var dir = Path.Combine(Root, fixture);
        var secrets = File.Exists(Path.Combine(dir, "ipsec.secrets")) ? "ipsec.secrets" : null;
        return IpsecImporter.Import("ipsec.conf", secrets, new ImportOptions(rightIsLocal),
            p => File.ReadAllText(Path.Combine(dir, p)),
            pattern => SwanctlFile.Glob(Path.Combine(dir, pattern)).Select(f => Path.GetRelativePath(dir, f)));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Output_matches_the_golden_swanctl_conf_and_notes(string fixture)
    {
        var result = Run(fixture);
        var dir = Path.Combine(Root, fixture);
        var notes = string.Join("\n", result.Notes) + "\n";
        if (Environment.GetEnvironmentVariable("OAKLEY_WRITE_GOLDEN") is { } target)
        {
            // For reviewing a change: writes the new output next to the sources (never compared against itself).
            File.WriteAllText(Path.Combine(target, fixture, "swanctl.conf"), result.SwanctlConf);
            File.WriteAllText(Path.Combine(target, fixture, "notes.txt"), notes);
        }

        Assert.Equal(File.ReadAllText(Path.Combine(dir, "swanctl.conf")), result.SwanctlConf);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "notes.txt")), notes);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Output_loads_into_Oakley_with_the_connections_it_converted(string fixture)
    {
        var result = Run(fixture);
        var dir = Directory.CreateTempSubdirectory("oakley-import-").FullName;
        try
        {
            var path = Path.Combine(dir, "swanctl.conf");
            File.WriteAllText(path, result.SwanctlConf);
            WriteCredentials(dir, result.SwanctlConf);
            Directory.CreateDirectory(Path.Combine(dir, "pubkey"));
            foreach (var (file, pem) in result.PublicKeys)
            {
                File.WriteAllText(Path.Combine(dir, "pubkey", file), pem);
            }

            var loaded = SwanctlFile.Load(path);
            Assert.Equal(result.Connections, loaded.Connections.Count);
            var expected = Regex.Matches(result.SwanctlConf, @"^  ([\w-]+) \{$", RegexOptions.Multiline).Select(m => m.Groups[1].Value)
                .Where(n => loaded.Connections.Any(c => c.Ike.Name == n) || !result.SwanctlConf.Contains($"#   {n} {{", StringComparison.Ordinal)).ToList();
            Assert.All(loaded.Connections, c => Assert.Contains(c.Ike.Name, expected));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The certificates, CA certificates and key files the converted file names, as the operator copies them.</summary>
    internal static void WriteCredentials(string dir, string conf)
    {
        var ca = TestPki.NewCa("ecdsa256");
        var ids = IdLine().Matches(conf).Select(m => m.Groups[1].Value.TrimStart('@')).Where(i => !i.Contains('=', StringComparison.Ordinal) && i != "%any")
            .Select(i => i.Contains('@', StringComparison.Ordinal) ? "email:" + i : i).Distinct().ToArray();
        Directory.CreateDirectory(Path.Combine(dir, "x509ca"));
        File.WriteAllText(Path.Combine(dir, "x509ca", "root.pem"), Pem(ca.Root.Der));
        foreach (Match m in CertsLine().Matches(conf))
        {
            var (cert, _) = TestPki.Issue(ca, "ecdsa256", m.Groups[2].Value.Replace("Cert.pem", ".example", StringComparison.Ordinal), sans: ids);
            var folder = m.Groups[1].Value == "cacert" ? "x509ca" : "x509";
            Directory.CreateDirectory(Path.Combine(dir, folder));
            File.WriteAllText(Path.Combine(dir, folder, m.Groups[2].Value), Pem(m.Groups[1].Value == "cacert" ? ca.Intermediate.Der : cert.Der) + Pem(ca.Intermediate.Der));
        }
    }

    private static string Pem(byte[] der) => System.Security.Cryptography.PemEncoding.WriteString("CERTIFICATE", der) + "\n";

    [GeneratedRegex(@"^\s+(certs|cacert) = (\S+)$", RegexOptions.Multiline)]
    private static partial Regex CertsLine();

    [GeneratedRegex(@"^\s+id(?:-\d+)? = ""?([^""\n]+)""?$", RegexOptions.Multiline)]
    private static partial Regex IdLine();
}

/// <summary>
/// Bad input is a <see cref="ConfigException"/> or notes, never another exception, and what is written is valid
/// settings syntax that Oakley's loader refuses only for what the notes name: mutated fixtures (fixed seeds).
/// </summary>
public sealed class ImportRobustnessTests
{
    [Theory]
    [MemberData(nameof(ImportGoldenTests.Fixtures), MemberType = typeof(ImportGoldenTests))]
    public void Mutated_fixtures_give_a_conversion_or_a_config_error(string fixture)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Import", "Fixtures", fixture);
        var conf = File.ReadAllText(Path.Combine(dir, "ipsec.conf"));
        var secrets = File.Exists(Path.Combine(dir, "ipsec.secrets")) ? File.ReadAllText(Path.Combine(dir, "ipsec.secrets")) : "";
        var random = new Random(fixture.Length * 7919);
        const string alphabet = "=\"#{}[]/%,;:-+ \t\nabc019!@";
        for (var i = 0; i < 1500; i++)
        {
            var text = Mutate(random.Next(2) == 0 ? conf : secrets, random, alphabet);
            var (c, s) = random.Next(2) == 0 ? (text, secrets) : (conf, text);
            ImportResult result;
            try
            {
                result = ImportMappingTests.Convert(c, s);
            }
            catch (ConfigException)
            {
                continue; // refused with file:line: fine
            }

            // What it writes is always valid settings syntax (quoting, braces), whatever the input held.
            var parsed = new SettingsParser(_ => result.SwanctlConf, _ => []).ParseText(result.SwanctlConf);
            Assert.NotNull(parsed);
            try
            {
                SwanctlLoader.Load(parsed);
            }
            catch (ConfigException e)
            {
                // Oakley's loader may refuse only what the notes already say needs the operator (credential files,
                // a local.id), or a misspelt auth= value passed on as written (the converter does not check EAP names).
                var notes = string.Join("\n", result.Notes);
                Assert.All(e.Errors, er => Assert.True(Credential(er.Message) || er.Message.StartsWith("invalid value for 'auth'", StringComparison.Ordinal)
                    || (er.Message.Contains("set local.id", StringComparison.Ordinal) && notes.Contains("set local.id", StringComparison.Ordinal)), er.Message));
            }
        }
    }

    private static bool Credential(string message) => message.Contains("certificate", StringComparison.Ordinal) || message.Contains("public key file", StringComparison.Ordinal) || message.Contains("x509", StringComparison.Ordinal) || message.Contains("needs local.certs", StringComparison.Ordinal);

    private static string Mutate(string text, Random random, string alphabet)
    {
        var chars = text.ToList();
        for (var n = random.Next(1, 6); n > 0 && chars.Count > 0; n--)
        {
            var at = random.Next(chars.Count);
            switch (random.Next(3))
            {
                case 0: chars.RemoveAt(at); break;
                case 1: chars.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                default: chars[at] = alphabet[random.Next(alphabet.Length)]; break;
            }
        }

        return new string([.. chars]);
    }
}
