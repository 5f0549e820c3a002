namespace Oakley.Cli.Tests;

/// <summary>
/// <c>oakley bench handshake --auth eap-mschapv2 --in-memory</c> with a few clients: every handshake runs the EAP
/// rounds to the end and every client holds an address of its own (what the run reports is checked, not its speed).
/// </summary>
public class BenchRemoteAccessTests
{
    [Theory]
    [InlineData("psk")]
    [InlineData("ecdsa256")]
    public void InMemory_EveryClientEstablishes_WithADistinctLease(string gatewayAuth)
    {
        const int count = 20;
        var clients = Bench.WarmUp(count) + count;
        var setup = BenchSetup.Create(BenchRemoteAccess.Kind, gatewayAuth, "aes256gcm16-prfsha256-x25519", clients, poolSize: 64);
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var result = Bench.RunInMemory(count, setup, "aes256gcm16-prfsha256-x25519", output, errors);

        Assert.Equal(string.Empty, errors.ToString());
        Assert.Equal((count, count), (result.Count, (int)result.Established));
        Assert.Equal(24, result.Clients);
        Assert.Equal((clients, clients, clients, clients), (result.VipsAssigned, result.DistinctVips, result.ResponderDistinctVips, result.LeasesOnline));
        Assert.True(result.Complete(remoteAccess: true));
        Assert.Contains($"leases online at the end: {clients}", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void APoolSmallerThanTheClients_IsRefused_BeforeAnyHandshake()
    {
        var e = Assert.Throws<ArgumentException>(() => BenchSetup.Create(BenchRemoteAccess.Kind, "psk", "aes256gcm16-prfsha256-x25519", clients: 10, poolSize: 9));
        Assert.Contains("do not fit a pool of 9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCompletenessCheck_FailsWhenTwoClientsShareAnAddress()
    {
        var shared = new BenchResult(Count: 4, Established: 4, Clients: 5, VipsAssigned: 5, DistinctVips: 4, ResponderDistinctVips: 4, LeasesOnline: 4);
        Assert.False(shared.Complete(remoteAccess: true));
        Assert.True(shared.Complete(remoteAccess: false)); // site-to-site runs have no leases to check
    }
}
