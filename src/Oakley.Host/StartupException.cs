namespace Oakley.Host;

/// <summary>
/// The daemon cannot start in this environment (a port in use, the control socket taken, a directory that
/// cannot be created, ...): the message is the one line the user sees, naming what failed and why.
/// </summary>
public sealed class StartupException : Exception
{
    public StartupException(string message)
        : base(message)
    {
    }

    public StartupException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public StartupException()
    {
    }
}
