using System.Net;
using System.Numerics;
using System.Text.Json.Nodes;
using Oakley.Engine.Pools;

namespace Oakley.Host;

/// <summary>
/// <c>list-pools</c> (swanctl --list-pools): each address pool's name, base address, online / offline / size, and with
/// leases each lease's address, status and holder. <see cref="Snapshot"/> runs on the engine thread (copies, no text);
/// <see cref="Json"/> formats the copy anywhere, so a pool of 100,000 leases holds the engine only for the copy.
/// </summary>
internal static class PoolViews
{
    /// <summary>One pool as it was when the listing began.</summary>
    internal sealed record PoolSnapshot(string Name, IPAddress Base, int Online, int Offline, BigInteger Size, IReadOnlyList<Lease>? Leases);

    public static List<PoolSnapshot> Snapshot(IEnumerable<AddressPool> pools, bool leases) =>
        [.. pools.Select(p => new PoolSnapshot(p.Name, p.Base, p.Online, p.Offline, p.Size, leases ? [.. p.Leases] : null))];

    public static JsonObject Json(IEnumerable<PoolSnapshot> pools) => new()
    {
        ["ok"] = true,
        ["pools"] = new JsonArray(pools.Select(p => (JsonNode)Pool(p)).ToArray()),
    };

    private static JsonObject Pool(PoolSnapshot p)
    {
        var json = new JsonObject
        {
            ["name"] = p.Name,
            ["base"] = p.Base.ToString(),
            ["online"] = p.Online,
            ["offline"] = p.Offline,
            // An IPv6 pool can span more than a long holds: a string then, a number otherwise.
            ["size"] = p.Size <= long.MaxValue ? JsonValue.Create((long)p.Size) : JsonValue.Create(p.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (p.Leases is { } leases)
        {
            json["leases"] = new JsonArray(leases.OrderBy(l => l.Address.GetAddressBytes(), ByteOrder.Instance).Select(l => (JsonNode)new JsonObject
            {
                ["address"] = l.Address.ToString(),
                ["status"] = l.Online ? "online" : "offline",
                ["identity"] = l.Holder.ToString(),
            }).ToArray());
        }

        return json;
    }

    /// <summary>Addresses in numeric order (all of one pool have the same length).</summary>
    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
