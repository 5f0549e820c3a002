namespace Oakley.Cli.Tests;

/// <summary>A directory under /tmp for one test's files (short paths: a Unix socket path has at most 107 bytes).</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("oakley-cli-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
