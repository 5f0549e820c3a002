using Oakley.Engine;

namespace Oakley.Host;

/// <summary>
/// Once a second (engine thread): the CHILD SAs that carried ESP since the last report are reported to the engine,
/// so that dead peer detection only asks a peer that has gone quiet (inbound), NAT keepalives are not sent where
/// outbound ESP refreshes the mapping, and the volume lifetimes (rekey_bytes, life_packets, ...) see the counters.
/// The data plane queues an SA on its first packet after a report (<see cref="EspSa.Activity"/>), so a report costs
/// the SAs that moved, not every installed SA: 100,000 idle CHILD SAs cost nothing here.
/// </summary>
internal static class TrafficReport
{
    public static async Task RunAsync(IkeHost host, DataPlaneInstaller installer, CancellationToken stop)
    {
        var moved = new Dictionary<uint, (bool In, bool Out)>();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                await host.Invoke((e, now) => Report(e, now, installer, moved)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Reports the CHILD SAs that moved; returns how many.</summary>
    internal static int Report(Endpoint e, DateTimeOffset now, DataPlaneInstaller installer, Dictionary<uint, (bool In, bool Out)> moved)
    {
        moved.Clear();
        while (installer.TryTakeActive(out var sa))
        {
            sa.ResetActivity(); // before the counters are read: a packet after this queues the SA again
            var (spi, inbound) = sa.Owner;
            var seen = moved.GetValueOrDefault(spi);
            moved[spi] = inbound ? (true, seen.Out) : (seen.In, true);
        }

        foreach (var (spi, (inbound, outbound)) in moved)
        {
            if (installer.Counters(spi) is not { } c)
            {
                continue; // removed since
            }

            if (inbound)
            {
                e.NoteInboundTraffic(now, spi);
            }

            if (outbound)
            {
                e.NoteOutboundTraffic(now, spi); // outbound ESP refreshes a NAT mapping: no keepalive needed
            }

            e.NoteChildCounters(now, spi, (ulong)Math.Max(c.BytesIn, c.BytesOut), (ulong)Math.Max(c.PacketsIn, c.PacketsOut));
        }

        return moved.Count;
    }
}
