using System.Diagnostics;
using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Host;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley bench handshake</c>: full IKE_SA_INIT + IKE_AUTH (PSK, or certificates with <c>--auth</c>, or remote access
/// with EAP-MSCHAPv2 clients and a virtual IP each: <see cref="BenchRemoteAccess"/>) + one CHILD SA between an initiator
/// and a responder endpoint, either in memory (<c>--in-memory</c>: datagrams handed over directly) or over loopback
/// UDP through two hosts. Prints handshakes/s, the responder's CPU time and managed allocations per IKE SA, and for
/// remote access the leases (each client must hold a distinct address, or the run fails).
/// </summary>
internal static class Bench
{
    public static int InMemory(int count, string proposal, string auth, string gatewayAuth = "psk", int pool = DefaultPool)
    {
        var warmUp = WarmUp(count);
        var result = RunInMemory(count, BenchSetup.Create(auth, gatewayAuth, proposal, warmUp + count, pool), proposal, Console.Out, Console.Error);
        return result.Complete(auth == BenchRemoteAccess.Kind) ? 0 : 1;
    }

    /// <summary>The size of <c>--pool</c> by default: 65,536 addresses.</summary>
    public const int DefaultPool = 65_536;

    /// <summary>The first handshakes warm up the JIT and caches and are not measured.</summary>
    public static int WarmUp(int count) => Math.Min(200, count / 5);

    public static BenchResult RunInMemory(int count, BenchSetup setup, string proposal, TextWriter output, TextWriter errors)
    {
        ArgumentNullException.ThrowIfNull(setup);
        var ia = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500);
        var ra = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500);
        var settings = new EngineSettings { DosProtection = false };
        var initiator = new Endpoint(setup.Initiators(ia.Address, ra, mobike: true), setup.InitiatorSecrets, new SystemEntropy(), settings);
        var responder = new Endpoint([setup.Responder(ra.Address)], setup.ResponderSecrets, new SystemEntropy(), settings);
        responder.SetPools(setup.Pools);
        var leases = new BenchLeases();
        var warmUp = WarmUp(count);
        var now = DateTimeOffset.UtcNow; // simulated time that stands still, inside the certificates' validity
        long responderTicks = 0, responderBytes = 0, established = 0;
        var total = Stopwatch.StartNew();
        for (var n = -warmUp; n < count; n++)
        {
            var measuring = n >= 0;
            initiator.Initiate(now, setup.Connection(n + warmUp), reuseIkeSa: false);
            var (ticks, bytes) = Deliver(now, initiator, ia, responder, ra);
            if (measuring)
            {
                responderTicks += ticks;
                responderBytes += bytes;
            }

            while (initiator.TryPollEvent(out var e))
            {
                leases.Note(e);
                if (e is ChildSaInstall && measuring)
                {
                    established++;
                }
                else if (e is Alert alert)
                {
                    errors.WriteLine($"initiator: {alert.Message}");
                }
            }

            while (responder.TryPollEvent(out var e))
            {
                if (e is Alert alert && established != n + 1)
                {
                    errors.WriteLine($"responder: {alert.Message}");
                }
            }

            if (established != n + 1 && measuring)
            {
                errors.WriteLine($"handshake {n} did not complete");
                break;
            }

            if (n == -1)
            {
                total.Restart();
            }
        }

        total.Stop();
        Report(output, "in memory", proposal, setup.Label, count, established, total.Elapsed, TimeSpan.FromSeconds((double)responderTicks / Stopwatch.Frequency), responderBytes, responder.IkeSas.Count);
        var result = leases.Result(count, established, warmUp + count, responder);
        result.Print(output, setup.RemoteAccess);
        return result;
    }

    /// <summary>
    /// Hands the datagrams over until both sides are quiet (bounded: the IKE_SA_INIT and the five IKE_AUTH exchanges
    /// of EAP-MSCHAPv2 with EAP-Identity fit well within it). Returns the responder's time in Stopwatch ticks and
    /// the bytes it allocated.
    /// </summary>
    private static (long Ticks, long Bytes) Deliver(DateTimeOffset now, Endpoint initiator, IPEndPoint ia, Endpoint responder, IPEndPoint ra)
    {
        long ticks = 0, bytes = 0;
        for (var round = 0; round < 20; round++)
        {
            var moved = false;
            while (initiator.TryPollTransmit(out var t))
            {
                moved = true;
                var before = GC.GetAllocatedBytesForCurrentThread();
                var start = Stopwatch.GetTimestamp();
                responder.HandleDatagram(now, ra, ia, t.Datagram);
                ticks += Stopwatch.GetTimestamp() - start;
                bytes += GC.GetAllocatedBytesForCurrentThread() - before;
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

        return (ticks, bytes);
    }

    public static async Task<int> UdpAsync(int count, string proposal, string auth, Microsoft.Extensions.Logging.ILogger log, string gatewayAuth = "psk", int pool = DefaultPool)
    {
        var setup = BenchSetup.Create(auth, gatewayAuth, proposal, count, pool);
        var result = await RunUdpAsync(count, setup, proposal, log, Console.Out);
        return result.Complete(setup.RemoteAccess) ? 0 : 1;
    }

    public static async Task<BenchResult> RunUdpAsync(int count, BenchSetup setup, string proposal, Microsoft.Extensions.Logging.ILogger log, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(setup);
        var responderEndpoint = new Endpoint([setup.Responder(IPAddress.Loopback)], setup.ResponderSecrets, new SystemEntropy(), new EngineSettings { DosProtection = false, IkePort = 0 });
        responderEndpoint.SetPools(setup.Pools);
        await using var responder = new IkeHost(responderEndpoint, log);
        var rPort = responder.Bind(new IPEndPoint(IPAddress.Loopback, 0), natT: false).Port;
        var iPort = IkeHost.FreeUdpPort(IPAddress.Loopback);
        // Ephemeral ports, no NAT-T socket: no MOBIKE move to 4500.
        var configs = setup.Initiators(IPAddress.Loopback, new IPEndPoint(IPAddress.Loopback, rPort), mobike: false);
        await using var initiator = new IkeHost(new Endpoint(configs, setup.InitiatorSecrets, new SystemEntropy(), new EngineSettings { IkePort = iPort }), log);
        initiator.Bind(new IPEndPoint(IPAddress.Loopback, iPort), natT: false);
        var done = 0;
        var leases = new BenchLeases();
        initiator.EventRaised += e =>
        {
            leases.Note(e);
            if (e is ChildSaInstall)
            {
                Interlocked.Increment(ref done);
            }
        };
        responder.Start();
        initiator.Start();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(60) + TimeSpan.FromMilliseconds(10.0 * count); // bounded: a lost handshake ends the run
        const int window = 32; // handshakes in flight
        for (var started = 0; started < count && sw.Elapsed < limit;)
        {
            while (started < count && started - Volatile.Read(ref done) < window)
            {
                var name = setup.Connection(started);
                await initiator.Invoke((e, now) => e.Initiate(now, name, reuseIkeSa: false));
                started++;
            }

            await Task.Delay(1);
        }

        while (Volatile.Read(ref done) < count && sw.Elapsed < limit)
        {
            await Task.Delay(5);
        }

        sw.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        output.WriteLine($"handshake bench over loopback UDP, {proposal}, {setup.Label}, one CHILD SA (aes256gcm16)");
        output.WriteLine($"  handshakes completed: {done}/{count} in {sw.Elapsed.TotalSeconds:F2} s = {done / sw.Elapsed.TotalSeconds:F0} handshakes/s");
        output.WriteLine($"  process CPU (initiator + responder + sockets): {cpu.TotalMilliseconds / Math.Max(1, done):F3} ms per handshake");
        var result = await responder.Invoke((e, _) => leases.Result(count, Volatile.Read(ref done), count, e));
        result.Print(output, setup.RemoteAccess);
        return result;
    }

    private static void Report(TextWriter output, string mode, string proposal, string label, int count, long established, TimeSpan wall, TimeSpan responderCpu, long responderBytes, int responderSas)
    {
        output.WriteLine($"handshake bench {mode}, {proposal}, {label}, one CHILD SA (aes256gcm16), {count} IKE SAs");
        output.WriteLine($"  established: {established}/{count}");
        output.WriteLine($"  handshakes/s (initiator and responder on one thread): {established / wall.TotalSeconds:F0}");
        output.WriteLine($"  responder CPU per IKE SA: {responderCpu.TotalMilliseconds / Math.Max(1, established):F3} ms");
        output.WriteLine($"  responder managed allocations per IKE SA: {responderBytes / Math.Max(1, established):N0} bytes");
        output.WriteLine($"  responder IKE SAs held at the end: {responderSas}");
    }
}
