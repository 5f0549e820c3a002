namespace Oakley.Host;

/// <summary>
/// Runs a system tool (resolvectl, resolvconf) for the DNS servers of a virtual IP. Oakley.Host spawns no process
/// itself (its banned symbols): the <c>oakley</c> program supplies the runner (<see cref="DaemonOptions.Commands"/>),
/// and the DNS backends' commands are tested through this interface.
/// </summary>
public interface ICommandRunner
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/> (and <paramref name="input"/> on stdin); throws <see cref="IOException"/> unless it exits 0.</summary>
    void Run(string file, IReadOnlyList<string> args, string? input = null);

    /// <summary>The full path of a tool in the usual directories (not the caller's PATH alone: a daemon's may be minimal); null: not installed.</summary>
    string? Find(string tool);
}
