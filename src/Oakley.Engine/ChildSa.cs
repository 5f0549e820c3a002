namespace Oakley.Engine;

/// <summary>One installed CHILD SA pair, as the IKE SA tracks it.</summary>
public sealed class ChildSa
{
    public required ChildConfig Config { get; init; }

    public required uint InboundSpi { get; init; }

    public required uint OutboundSpi { get; init; }

    public required NegotiatedSuite Suite { get; init; }

    public required IReadOnlyList<TrafficSelectorRange> LocalTs { get; init; }

    public required IReadOnlyList<TrafficSelectorRange> RemoteTs { get; init; }

    public required bool TransportMode { get; init; }

    public required DateTimeOffset Installed { get; init; }
}
