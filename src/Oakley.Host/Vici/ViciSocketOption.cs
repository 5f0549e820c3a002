using Oakley.Config;

namespace Oakley.Host.Vici;

/// <summary>
/// Which path the daemon's one control socket (Oakley's JSON protocol and VICI) takes: <c>--control PATH</c> or
/// <c>--vici unix:///PATH</c> (both only if they agree), else <c>OAKLEY_CONTROL</c>, else
/// <c>charon.plugins.vici.socket</c> of the <c>--settings</c> strongswan.conf, else strongSwan's default
/// <see cref="Default"/>, so that swanctl and other VICI clients find the daemon without options.
/// </summary>
public static class ViciSocketOption
{
    public const string DefaultUri = "unix:///var/run/charon.vici";

    public const string Default = "/var/run/charon.vici";

    /// <summary>The path of a <c>unix://</c> URI; anything else is refused (charon also takes tcp://, Oakley does not).</summary>
    public static string PathOf(string uri, string source)
    {
        const string scheme = "unix://";
        if (!uri.StartsWith(scheme, StringComparison.Ordinal) || uri.Length == scheme.Length)
        {
            throw new StartupException($"{source} '{uri}': only unix:// sockets are supported (unix:///path/to/socket)");
        }

        return uri[scheme.Length..];
    }

    /// <summary>Resolves the socket path; throws <see cref="StartupException"/> for a bad URI or two options that disagree.</summary>
    /// <param name="control">--control when given on the command line (null: not given).</param>
    /// <param name="vici">--vici when given on the command line (null: not given).</param>
    public static string Resolve(string? control, string? vici, string? environment, string? settingsPath)
    {
        var fromVici = vici is null ? null : PathOf(vici, "--vici");
        if (control is not null && fromVici is not null && Path.GetFullPath(control) != Path.GetFullPath(fromVici))
        {
            throw new StartupException($"--control {control} and --vici {vici} name different sockets: the daemon has one control socket that speaks both protocols; give one of them");
        }

        if ((control ?? fromVici) is { } given)
        {
            return given;
        }

        if (!string.IsNullOrEmpty(environment))
        {
            return environment;
        }

        if (settingsPath is not null)
        {
            var root = SwanctlFile.ReadSettings(settingsPath, "strongswan.conf");
            if (root.Section("charon")?.Section("plugins")?.Section("vici")?.Value("socket") is { } socket)
            {
                return PathOf(socket.Value.Trim(), $"{socket.Location.File}:{socket.Location.Line}: charon.plugins.vici.socket");
            }
        }

        return Default;
    }
}
