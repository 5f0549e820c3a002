namespace Oakley.Cli.Tests;

/// <summary><c>oakley import</c>: the swanctl.conf on standard output, notes on standard error, the exit codes.</summary>
public sealed class ImportCommandTests
{
    private static (int Code, string Out, string Err) Run(string conf, string? secrets = null, bool right = false, string? pubkeys = null)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var code = ImportCommand.Run(conf, secrets, right, pubkeys, output, errors);
        return (code, output.ToString(), errors.ToString());
    }

    [Fact]
    public void Converts_to_standard_output_with_notes_on_standard_error_and_exit_0()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("ipsec.conf"), "conn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=psk\n\tcompress=yes\n\tauto=add\n");
        File.WriteAllText(dir.File("ipsec.secrets"), ": PSK \"cli-test-secret\"\n");
        var (code, output, errors) = Run(dir.File("ipsec.conf"), dir.File("ipsec.secrets"));
        Assert.Equal(0, code);
        Assert.Contains("connections {\n  c {\n", output, StringComparison.Ordinal);
        Assert.Contains("secret = \"cli-test-secret\"", output, StringComparison.Ordinal);
        Assert.Contains($"{dir.File("ipsec.conf")}:5: conn c: compress=yes: ipcomp = yes is written commented out", errors, StringComparison.Ordinal);
        Assert.EndsWith("oakley import: 1 connection(s) converted, 0 written commented out, 3 note(s)\n", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("cli-test-secret", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Unparsable_or_missing_input_exits_1_with_file_and_line_and_no_output()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("ipsec.conf"), "conn c\n\tleft=192.0.2.1\n\tauto add\n");
        var (code, output, errors) = Run(dir.File("ipsec.conf"));
        Assert.Equal((1, string.Empty), (code, output));
        Assert.StartsWith($"{dir.File("ipsec.conf")}:3: error: expected KEY=VALUE", errors, StringComparison.Ordinal);
        var missing = Run(dir.File("nope.conf"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("nope.conf: no such file", missing.Err, StringComparison.Ordinal);
        File.WriteAllText(dir.File("good.conf"), "conn c\n\tleft=192.0.2.1\n\tauto=add\n");
        Assert.Equal(1, Run(dir.File("good.conf"), dir.File("missing.secrets")).Code);
    }

    [Fact]
    public void Pubkeys_writes_the_decoded_raw_keys()
    {
        using var dir = new TempDir();
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var raw = "0s" + Convert.ToBase64String([(byte)p.Exponent!.Length, .. p.Exponent, .. p.Modulus!]);
        File.WriteAllText(dir.File("ipsec.conf"), $"conn c\n\tleft=192.0.2.1\n\tright=192.0.2.2\n\tauthby=rsasig\n\trightrsasigkey={raw}\n\tauto=add\n");
        var without = Run(dir.File("ipsec.conf"));
        Assert.Contains("1 raw public key(s) not written: run again with --pubkeys", without.Err, StringComparison.Ordinal);
        var (code, _, errors) = Run(dir.File("ipsec.conf"), pubkeys: dir.File("pubkey"));
        Assert.Equal(0, code);
        Assert.Contains("wrote ", errors, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", File.ReadAllText(Path.Combine(dir.File("pubkey"), "c-right.pem")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_verb_is_registered_with_its_local_option()
    {
        var parse = Program.Commands().Parse(["import", "a.conf", "b.secrets", "--local", "right"]);
        Assert.Empty(parse.Errors);
        Assert.NotEmpty(Program.Commands().Parse(["import", "a.conf", "--local", "middle"]).Errors);
    }
}
