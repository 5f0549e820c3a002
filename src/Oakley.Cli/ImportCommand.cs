using System.CommandLine;
using Oakley.Config;
using Oakley.Config.Import;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley import ipsec.conf [ipsec.secrets]</c>: writes the swanctl.conf equivalent to standard output and one
/// note per thing it could not convert (with file:line) to standard error. Exit 0 when it converted (notes or
/// not), 1 when the input cannot be read or parsed.
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var command = new Command("import", "convert ipsec.conf (strongSwan starter or Libreswan) and ipsec.secrets to swanctl.conf on standard output; notes on standard error");
        var conf = new Argument<string>("ipsec.conf") { Description = "the ipsec.conf to convert" };
        var secrets = new Argument<string?>("ipsec.secrets") { Description = "the ipsec.secrets to convert (optional)", Arity = ArgumentArity.ZeroOrOne };
        var local = new Option<string>("--local") { Description = "which side of each conn is this host: left (the convention) or right", DefaultValueFactory = _ => "left" };
        local.AcceptOnlyFromAmong("left", "right");
        var pubkeys = new Option<string?>("--pubkeys") { Description = "write the PEM public keys decoded from Libreswan's raw leftrsasigkey/rightrsasigkey into this directory (/etc/swanctl/pubkey)" };
        command.Options.Add(pubkeys);
        command.Arguments.Add(conf);
        command.Arguments.Add(secrets);
        command.Options.Add(local);
        command.SetAction(pr => Run(pr.GetValue(conf)!, pr.GetValue(secrets), pr.GetValue(local) == "right", pr.GetValue(pubkeys), Console.Out, Console.Error));
        return command;
    }

    /// <summary>Runs the conversion; the writers are injected for tests.</summary>
    public static int Run(string conf, string? secrets, bool rightIsLocal, string? pubkeyDir, TextWriter output, TextWriter errors)
    {
        ImportResult result;
        try
        {
            result = IpsecImporter.Import(conf, secrets, new ImportOptions(rightIsLocal));
        }
        catch (ConfigException e)
        {
            errors.WriteLine(e.Errors.Count == 1 && e.Location.Line > 0 ? $"{e.Location.File}:{e.Location.Line}: error: {e.Reason}" : e.Message);
            errors.WriteLine("oakley import: nothing converted");
            return 1;
        }

        if (pubkeyDir is not null)
        {
            try
            {
                Directory.CreateDirectory(pubkeyDir);
                foreach (var (file, pem) in result.PublicKeys)
                {
                    File.WriteAllText(Path.Combine(pubkeyDir, file), pem);
                    errors.WriteLine($"oakley import: wrote {Path.Combine(pubkeyDir, file)}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.WriteLine($"{pubkeyDir}: error: cannot write the public keys ({e.Message})");
                return 1;
            }
        }
        else if (result.PublicKeys.Count > 0)
        {
            errors.WriteLine($"oakley import: {result.PublicKeys.Count} raw public key(s) not written: run again with --pubkeys /etc/swanctl/pubkey");
        }

        output.Write(result.SwanctlConf);
        foreach (var note in result.Notes)
        {
            errors.WriteLine(note);
        }

        errors.WriteLine($"oakley import: {result.Connections} connection(s) converted, {result.CommentedOut} written commented out, {result.Notes.Count} note(s)");
        return 0;
    }
}
