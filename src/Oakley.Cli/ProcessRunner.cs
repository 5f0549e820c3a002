using System.Diagnostics;
using Oakley.Host;

namespace Oakley.Cli;

/// <summary>Real processes, each bounded in time: a tool that hangs is killed, never waited for forever.</summary>
internal sealed class ProcessRunner : ICommandRunner
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public void Run(string file, IReadOnlyList<string> args, string? input = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new IOException($"{file} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }

        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            throw new IOException($"{Path.GetFileName(file)} {string.Join(' ', args)}: no answer within {Limit.TotalSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new IOException($"{Path.GetFileName(file)} {string.Join(' ', args)}: exit {process.ExitCode}: {stderr.Result.Trim()}");
        }
    }

    public string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
}
