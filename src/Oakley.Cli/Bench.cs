using System.Diagnostics;
using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Host;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley bench handshake</c>: full IKE_SA_INIT + IKE_AUTH (PSK) + one CHILD SA between an initiator and a
/// responder endpoint, either in memory (<c>--in-memory</c>: datagrams handed over directly) or over loopback
/// UDP through two hosts. Prints handshakes/s, the responder's CPU time and managed allocations per IKE SA.
/// </summary>
internal static class Bench
{
    private sealed class Psk(byte[] key) : ISecretStore
    {
        public byte[]? FindSharedKey(Identity local, Identity? remote) => key;

        public Oakley.Crypto.Signature.SignaturePrivateKey? FindPrivateKey(ReadOnlySpan<byte> subjectPublicKeyInfo) => null;

        public Oakley.Engine.Certificates.CertificateStore Certificates => Oakley.Engine.Certificates.CertificateStore.Empty;
    }

    private static (IkeConfig Initiator, IkeConfig Responder) Configs(string proposal, IPEndPoint i, IPEndPoint r)
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
            new IkeConfig { Name = "bench", LocalAddresses = [i.Address], RemoteAddresses = [r.Address], RemotePort = r.Port, Proposals = proposals, LocalId = Identity.Parse("initiator.example"), Children = [child], SendInitialContact = false },
            new IkeConfig { Name = "bench", LocalAddresses = [r.Address], Proposals = proposals, LocalId = Identity.Parse("responder.example"), Children = [childR] });
    }

    public static int InMemory(int count, string proposal)
    {
        var ia = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500);
        var ra = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500);
        var (ic, rc) = Configs(proposal, ia, ra);
        var secrets = new Psk("benchmark pre-shared key"u8.ToArray());
        var settings = new EngineSettings { DosProtection = false };
        var initiator = new Endpoint([ic], secrets, new SystemEntropy(), settings);
        var responder = new Endpoint([rc], secrets, new SystemEntropy(), settings);
        var now = DateTimeOffset.UnixEpoch;
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
            }

            if (established != n + 1 && measuring)
            {
                Console.Error.WriteLine($"handshake {n} did not complete");
                return 1;
            }

            while (responder.TryPollEvent(out _))
            {
            }

            if (n == -1)
            {
                total.Restart();
            }
        }

        total.Stop();
        Report("in memory", proposal, count, established, total.Elapsed, TimeSpan.FromSeconds((double)responderTicks / Stopwatch.Frequency), responderBytes, responder.IkeSas.Count);
        return established == count ? 0 : 1;
    }

    public static async Task<int> UdpAsync(int count, string proposal, Microsoft.Extensions.Logging.ILogger log)
    {
        var (ic0, rc) = Configs(proposal, new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.Loopback, 0));
        var secrets = new Psk("benchmark pre-shared key"u8.ToArray());
        var responderEndpoint = new Endpoint([rc], secrets, new SystemEntropy(), new EngineSettings { DosProtection = false, IkePort = 0 });
        await using var responder = new IkeHost(responderEndpoint, log);
        var rPort = responder.Bind(new IPEndPoint(IPAddress.Loopback, 0), natT: false).Port;
        var iPort = IkeHost.FreeUdpPort(IPAddress.Loopback);
        var ic = new IkeConfig { Name = ic0.Name, LocalAddresses = ic0.LocalAddresses, RemoteAddresses = [IPAddress.Loopback], RemotePort = rPort, Proposals = ic0.Proposals, LocalId = ic0.LocalId, Children = ic0.Children, SendInitialContact = false, Mobike = false }; // ephemeral ports, no NAT-T socket: no MOBIKE move to 4500
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
        Console.WriteLine($"handshake bench over loopback UDP, {proposal}, PSK, one CHILD SA (aes256gcm16)");
        Console.WriteLine($"  handshakes completed: {done}/{count} in {sw.Elapsed.TotalSeconds:F2} s = {done / sw.Elapsed.TotalSeconds:F0} handshakes/s");
        Console.WriteLine($"  process CPU (initiator + responder + sockets): {cpu.TotalMilliseconds / Math.Max(1, done):F3} ms per handshake");
        return done == count ? 0 : 1;
    }

    private static void Report(string mode, string proposal, int count, long established, TimeSpan wall, TimeSpan responderCpu, long responderBytes, int responderSas)
    {
        Console.WriteLine($"handshake bench {mode}, {proposal}, PSK, one CHILD SA (aes256gcm16), {count} IKE SAs");
        Console.WriteLine($"  established: {established}/{count}");
        Console.WriteLine($"  handshakes/s (initiator and responder on one thread): {established / wall.TotalSeconds:F0}");
        Console.WriteLine($"  responder CPU per IKE SA: {responderCpu.TotalMilliseconds / Math.Max(1, established):F3} ms");
        Console.WriteLine($"  responder managed allocations per IKE SA: {responderBytes / Math.Max(1, established):N0} bytes");
        Console.WriteLine($"  responder IKE SAs held at the end: {responderSas}");
    }
}
