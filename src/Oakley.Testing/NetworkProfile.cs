namespace Oakley.Testing;

/// <summary>
/// How a simulated path treats each datagram: independent loss and duplication, a base latency plus uniform
/// jitter, and for a fraction of datagrams an extra delay that lets later datagrams overtake them (reordering).
/// Datagrams longer than <see cref="Mtu"/> are dropped, as a path without fragmentation would.
/// </summary>
public sealed record NetworkProfile(
    string Name,
    double Loss = 0,
    double Duplication = 0,
    double Reordering = 0,
    TimeSpan Latency = default,
    TimeSpan Jitter = default,
    TimeSpan ReorderDelay = default,
    int Mtu = 65535)
{
    /// <summary>No loss, a fixed 5 ms latency: every datagram arrives once, in order.</summary>
    public static NetworkProfile Clean { get; } = new("clean", Latency: TimeSpan.FromMilliseconds(5));

    /// <summary>A poor path: 10% loss, 5% duplicates, 10% reordered, 20–70 ms latency.</summary>
    public static NetworkProfile Lossy { get; } = new("lossy", Loss: 0.10, Duplication: 0.05, Reordering: 0.10,
        Latency: TimeSpan.FromMilliseconds(20), Jitter: TimeSpan.FromMilliseconds(50), ReorderDelay: TimeSpan.FromMilliseconds(500));

    /// <summary>A hostile path: 30% loss, 20% duplicates, 30% reordered by up to 3 s, 50–550 ms latency.</summary>
    public static NetworkProfile Hostile { get; } = new("hostile", Loss: 0.30, Duplication: 0.20, Reordering: 0.30,
        Latency: TimeSpan.FromMilliseconds(50), Jitter: TimeSpan.FromMilliseconds(500), ReorderDelay: TimeSpan.FromSeconds(3));

    /// <summary>No loss but heavy duplication and reordering: every message arrives, often twice and out of order.</summary>
    public static NetworkProfile Shuffled { get; } = new("shuffled", Duplication: 0.5, Reordering: 0.5,
        Latency: TimeSpan.FromMilliseconds(10), Jitter: TimeSpan.FromMilliseconds(200), ReorderDelay: TimeSpan.FromSeconds(2));

    public override string ToString() => Name;
}
