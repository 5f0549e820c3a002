using Oakley.Engine;

namespace Oakley.Config;

/// <summary>swanctl's start_action / close_action / dpd_action values.</summary>
public enum ChildAction
{
    None,
    Start,
    Trap,
    Clear,
    Restart,
}

/// <summary>Per-CHILD policies the host acts on (the engine does not need them).</summary>
public sealed record ChildPolicy(ChildAction StartAction, ChildAction CloseAction, ChildAction DpdAction);

/// <summary>A loaded connection: the engine's view plus the host-level policies swanctl configures.</summary>
public sealed record LoadedConnection(IkeConfig Ike, int Version, TimeSpan DpdDelay, TimeSpan OverTime, int KeyingTries, string Unique,
    IReadOnlyDictionary<string, ChildPolicy> ChildPolicies, SourceLocation Location);

/// <summary>The result of loading a swanctl.conf: connections, pools, secrets and warnings.</summary>
public sealed class SwanctlConfig
{
    public List<LoadedConnection> Connections { get; } = [];

    /// <summary>The <c>pools</c> section, in file order (the daemon hands them to <c>Endpoint.SetPools</c>).</summary>
    public List<Oakley.Engine.Pools.PoolConfig> Pools { get; } = [];

    public CredentialStore Secrets { get; } = new();

    /// <summary>The certificates and keys loaded from the swanctl directory (for listings).</summary>
    public Credentials.SwanctlCredentials Credentials { get; internal set; } = Oakley.Config.Credentials.SwanctlCredentials.None;

    public List<ConfigWarning> Warnings { get; } = [];
}
