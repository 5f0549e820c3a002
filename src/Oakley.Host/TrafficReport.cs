using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// Once a second (engine thread): CHILD SAs whose inbound packet counter moved are reported to the engine, so
/// that dead peer detection only asks a peer that has gone quiet, and every CHILD SA's byte and packet counts
/// feed the volume lifetimes (rekey_bytes, life_packets, ...).
/// </summary>
internal static class TrafficReport
{
    public static async Task RunAsync(IkeHost host, DataPlaneInstaller installer, CancellationToken stop)
    {
        var seen = new Dictionary<uint, long>();
        var seenOut = new Dictionary<uint, long>();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                await host.Invoke((e, now) => Report(e, now, installer, seen, seenOut)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static int Report(Endpoint e, DateTimeOffset now, DataPlaneInstaller installer, Dictionary<uint, long> seen, Dictionary<uint, long> seenOut)
    {
        foreach (var spi in installer.InboundSpis)
        {
            if (installer.Counters(spi) is not { } c)
            {
                continue;
            }

            if (!seen.TryGetValue(spi, out var before) || c.PacketsIn != before)
            {
                seen[spi] = c.PacketsIn;
                if (c.PacketsIn > 0)
                {
                    e.NoteInboundTraffic(now, spi);
                }
            }

            if (c.PacketsOut > 0 && (!seenOut.TryGetValue(spi, out var sent) || c.PacketsOut != sent))
            {
                seenOut[spi] = c.PacketsOut;
                e.NoteOutboundTraffic(now, spi); // outbound ESP refreshes a NAT mapping: no keepalive needed
            }

            e.NoteChildCounters(now, spi, (ulong)Math.Max(c.BytesIn, c.BytesOut), (ulong)Math.Max(c.PacketsIn, c.PacketsOut));
        }

        foreach (var gone in seen.Keys.Where(k => installer.Counters(k) is null).ToList())
        {
            seen.Remove(gone);
            seenOut.Remove(gone);
        }

        return 0;
    }
}
