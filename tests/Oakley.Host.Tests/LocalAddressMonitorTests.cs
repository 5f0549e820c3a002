using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Engine;
using Oakley.Testing;

namespace Oakley.Host.Tests;

public class LocalAddressMonitorTests
{
    private static readonly DateTimeOffset T = DateTimeOffset.UnixEpoch;
    private static readonly IPEndPoint Local = new(IPAddress.Parse("192.0.2.2"), 500);

    private static IkeSaUp Up(long id, string peer) =>
        new(T, id, "c", 1, 2, false, Local, new IPEndPoint(IPAddress.Parse(peer), 500), "aes128gcm16", "srv", "client");

    [Fact]
    public async Task PeerAddresses_AreCountedFromEvents_AndOnlyANewPeerAsksForAnEarlyLook()
    {
        await using var host = new IkeHost(new Endpoint([], new InMemorySecrets(), new SeededEntropy(1)), NullLogger.Instance);
        var monitor = new LocalAddressMonitor(host, NullLogger.Instance);
        monitor.Track(Up(1, "198.51.100.7"));
        monitor.Track(Up(2, "198.51.100.7"));
        monitor.Track(Up(3, "198.51.100.8"));
        Assert.Equal(2, monitor.EarlyLooks); // the second SA from .7 did not ask
        Assert.Equal(["198.51.100.7", "198.51.100.8"], monitor.Peers.Select(a => a.ToString()).Order());

        monitor.Track(new IkeSaAddressesChanged(T, 3, "c", Local, new IPEndPoint(IPAddress.Parse("198.51.100.9"), 4500), true, "MOBIKE"));
        Assert.Equal(["198.51.100.7", "198.51.100.9"], monitor.Peers.Select(a => a.ToString()).Order());

        monitor.Track(new IkeSaDown(T, 1, "c", "deleted"));
        Assert.Contains(IPAddress.Parse("198.51.100.7"), monitor.Peers); // SA 2 still has it
        monitor.Track(new IkeSaDown(T, 2, "c", "deleted"));
        monitor.Track(new IkeSaDown(T, 3, "c", "deleted"));
        Assert.Empty(monitor.Peers);
        monitor.Track(new IkeSaDown(T, 3, "c", "deleted")); // twice: no underflow
        Assert.Empty(monitor.Peers);
    }
}
