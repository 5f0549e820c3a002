using System.Diagnostics;
using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Host;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley bench handshake</c>: full IKE_SA_INIT + IKE_AUTH (PSK, or certificates with <c>--auth</c>) + one CHILD SA between an initiator and a
/// responder endpoint, either in memory (<c>--in-memory</c>: datagrams handed over directly) or over loopback
/// UDP through two hosts. Prints handshakes/s, the responder's CPU time and managed allocations per IKE SA.
/// </summary>
internal static class Bench
{
    private static (IkeConfig Initiator, IkeConfig Responder) Configs(string proposal, IPEndPoint i, IPEndPoint r, AuthConfig iAuth, AuthConfig rAuth)
    {
        var proposals = ProposalString.ParseList(proposal, ProtocolId.Ike);
        var child = new ChildConfig
        {
            Name = "net",
            LocalTs = [TrafficSelectorRange.Parse("198.51.100.0/24")],
            RemoteTs = [TrafficSelectorRange.Parse("203.0.113.0/24")],
            EspProposals = ProposalString.ParseList("aes256gcm16", ProtocolId.Esp),
        };
        var childR = new ChildConfig { Name = "net", LocalTs = child.RemoteTs, RemoteTs = child.LocalTs, EspProposals = child.EspProposals };
        return (
            new IkeConfig
            {
                Name = "bench", LocalAddresses = [i.Address], RemoteAddresses = [r.Address], RemotePort = r.Port, Proposals = proposals, LocalId = Identity.Parse("initiator.example"),
                Children = [child], SendInitialContact = false, LocalAuth = iAuth, RemoteAuth = Verify(rAuth),
            },
            new IkeConfig { Name = "bench", LocalAddresses = [r.Address], Proposals = proposals, LocalId = Identity.Parse("responder.example"), Children = [childR], LocalAuth = rAuth, RemoteAuth = Verify(iAuth) });
    }

    /// <summary>The peer's side of a round: a certificate from the trusted CA (pubkey), or the PSK.</summary>
    private static AuthConfig Verify(AuthConfig peer) => peer.Class == AuthClass.Psk ? AuthConfig.Psk : new AuthConfig { Class = AuthClass.PublicKey };

    public static int InMemory(int count, string proposal, string auth)
    {
        var ia = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500);
        var ra = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500);
        var (secrets, iAuth, rAuth) = BenchCredentials.Create(auth);
        var (ic, rc) = Configs(proposal, ia, ra, iAuth, rAuth);
        var settings = new EngineSettings { DosProtection = false };
        var initiator = new Endpoint([ic], secrets, new SystemEntropy(), settings);
        var responder = new Endpoint([rc], secrets, new SystemEntropy(), settings);
        var now = DateTimeOffset.UtcNow; // simulated time that stands still, inside the certificates' validity
        long responderTicks = 0, responderBytes = 0, established = 0;
        var total = Stopwatch.StartNew();
        for (var n = -Math.Min(200, count / 5); n < count; n++)
        {
            var measuring = n >= 0; // the first rounds warm up the JIT and caches
            initiator.Initiate(now, "bench", reuseIkeSa: false);
            for (var round = 0; round < 10; round++)
            {
                var moved = false;
                while (initiator.TryPollTransmit(out var t))
                {
                    moved = true;
                    var before = GC.GetAllocatedBytesForCurrentThread();
                    var start = Stopwatch.GetTimestamp();
                    responder.HandleDatagram(now, ra, ia, t.Datagram);
                    if (measuring)
                    {
                        responderTicks += Stopwatch.GetTimestamp() - start;
                        responderBytes += GC.GetAllocatedBytesForCurrentThread() - before;
                    }
                }

                while (responder.TryPollTransmit(out var t))
                {
                    moved = true;
                    initiator.HandleDatagram(now, ia, ra, t.Datagram);
                }

                if (!moved)
                {
                    break;
                }
            }

            while (initiator.TryPollEvent(out var e))
            {
                if (e is ChildSaInstall && measuring)
                {
                    established++;
                }
                else if (e is Alert alert)
                {
                    Console.Error.WriteLine($"initiator: {alert.Message}");
                }
            }

            while (responder.TryPollEvent(out var e))
            {
                if (e is Alert alert && established != n + 1)
                {
                    Console.Error.WriteLine($"responder: {alert.Message}");
                }
            }

            if (established != n + 1 && measuring)
            {
                Console.Error.WriteLine($"handshake {n} did not complete");
                return 1;
            }

            if (n == -1)
            {
                total.Restart();
            }
        }

        total.Stop();
        Report("in memory", proposal, auth, count, established, total.Elapsed, TimeSpan.FromSeconds((double)responderTicks / Stopwatch.Frequency), responderBytes, responder.IkeSas.Count);
        return established == count ? 0 : 1;
    }

    public static async Task<int> UdpAsync(int count, string proposal, string auth, Microsoft.Extensions.Logging.ILogger log)
    {
        var (secrets, iAuth, rAuth) = BenchCredentials.Create(auth);
        var (ic0, rc) = Configs(proposal, new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.Loopback, 0), iAuth, rAuth);
        var responderEndpoint = new Endpoint([rc], secrets, new SystemEntropy(), new EngineSettings { DosProtection = false, IkePort = 0 });
        await using var responder = new IkeHost(responderEndpoint, log);
        var rPort = responder.Bind(new IPEndPoint(IPAddress.Loopback, 0), natT: false).Port;
        var iPort = IkeHost.FreeUdpPort(IPAddress.Loopback);
        var ic = new IkeConfig { Name = ic0.Name, LocalAddresses = ic0.LocalAddresses, RemoteAddresses = [IPAddress.Loopback], RemotePort = rPort, Proposals = ic0.Proposals, LocalId = ic0.LocalId, Children = ic0.Children, SendInitialContact = false, Mobike = false, LocalAuth = ic0.LocalAuth, RemoteAuth = ic0.RemoteAuth }; // ephemeral ports, no NAT-T socket: no MOBIKE move to 4500
        await using var initiator = new IkeHost(new Endpoint([ic], secrets, new SystemEntropy(), new EngineSettings { IkePort = iPort }), log);
        initiator.Bind(new IPEndPoint(IPAddress.Loopback, iPort), natT: false);
        var done = 0;
        initiator.EventRaised += e =>
        {
            if (e is ChildSaInstall)
            {
                Interlocked.Increment(ref done);
            }
        };
        responder.Start();
        initiator.Start();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        const int window = 32; // handshakes in flight
        for (var started = 0; started < count;)
        {
            while (started < count && started - Volatile.Read(ref done) < window)
            {
                await initiator.Invoke((e, now) => e.Initiate(now, "bench", reuseIkeSa: false));
                started++;
            }

            await Task.Delay(1);
        }

        while (Volatile.Read(ref done) < count && sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(5);
        }

        sw.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine($"handshake bench over loopback UDP, {proposal}, {(auth == "psk" ? "PSK" : "certificates " + auth)}, one CHILD SA (aes256gcm16)");
        Console.WriteLine($"  handshakes completed: {done}/{count} in {sw.Elapsed.TotalSeconds:F2} s = {done / sw.Elapsed.TotalSeconds:F0} handshakes/s");
        Console.WriteLine($"  process CPU (initiator + responder + sockets): {cpu.TotalMilliseconds / Math.Max(1, done):F3} ms per handshake");
        return done == count ? 0 : 1;
    }

    private static void Report(string mode, string proposal, string auth, int count, long established, TimeSpan wall, TimeSpan responderCpu, long responderBytes, int responderSas)
    {
        Console.WriteLine($"handshake bench {mode}, {proposal}, {(auth == "psk" ? "PSK" : "certificates " + auth)}, one CHILD SA (aes256gcm16), {count} IKE SAs");
        Console.WriteLine($"  established: {established}/{count}");
        Console.WriteLine($"  handshakes/s (initiator and responder on one thread): {established / wall.TotalSeconds:F0}");
        Console.WriteLine($"  responder CPU per IKE SA: {responderCpu.TotalMilliseconds / Math.Max(1, established):F3} ms");
        Console.WriteLine($"  responder managed allocations per IKE SA: {responderBytes / Math.Max(1, established):N0} bytes");
        Console.WriteLine($"  responder IKE SAs held at the end: {responderSas}");
    }
}
