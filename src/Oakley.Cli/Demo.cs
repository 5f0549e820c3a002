using System.Net;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Host;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley demo</c>: two Oakley peers, "moon" and "sun", both on 127.0.0.1 with ephemeral ports, each a full
/// IKE host on real UDP sockets, configured from swanctl.conf text. Moon initiates; the demo checks that both sides
/// report the IKE SA and the CHILD SA with crosswise-equal SPIs and keys, sends ICMP echo requests and
/// replies through both peers' ESP data planes (ESP-in-UDP over loopback), then deletes the IKE SA and checks
/// that both sides removed everything. Exit code 0 only if all of that happened.
/// </summary>
internal static class Demo
{
    private const string Moon = """
        connections {
          moon-sun {
            version = 2
            local_addrs = 127.0.0.1
            remote_addrs = 127.0.0.1
            proposals = aes256gcm16-prfsha256-x25519
            local {
              auth = psk
              id = moon.example
            }
            remote {
              auth = psk
              id = sun.example
            }
            children {
              net {
                local_ts = 198.51.100.0/24
                remote_ts = 203.0.113.0/24
                esp_proposals = aes256gcm16
              }
            }
          }
        }
        secrets {
          ike-demo {
            id-moon = moon.example
            id-sun = sun.example
            secret = "oakley demo pre-shared key"
          }
        }
        """;

    public static async Task<int> RunAsync(ILoggerFactory logs, TimeSpan timeout)
    {
        var (moonConfig, sunConfig) = LoadConfigs();

        // Ephemeral ports: the demo needs no privileges and cannot collide with a running IKE daemon.
        var moonEvents = new List<EngineEvent>();
        var sunEvents = new List<EngineEvent>();
        await using var sunHost = Build(sunConfig, IPAddress.Loopback, logs.CreateLogger("sun"), sunEvents, out var sunPort);
        var moonIke = moonConfig.Connections[0].Ike;
        var moonWithPort = new IkeConfig
        {
            Name = moonIke.Name,
            LocalAddresses = moonIke.LocalAddresses,
            RemoteAddresses = moonIke.RemoteAddresses,
            RemotePort = sunPort,
            Proposals = moonIke.Proposals,
            LocalId = moonIke.LocalId,
            RemoteId = moonIke.RemoteId,
            Children = moonIke.Children,

            // The peers speak from ephemeral ports without a NAT-T socket: MOBIKE's move to port 4500 has nowhere to go.
            Mobike = false,
        };
        await using var moonHost = BuildWith([moonWithPort], moonConfig.Secrets, IPAddress.Loopback, logs.CreateLogger("moon"), moonEvents, out var moonPort);
        Console.WriteLine($"peers: moon 127.0.0.1:{moonPort} (initiator, id moon.example)  <->  sun 127.0.0.1:{sunPort} (responder, id sun.example)");

        var started = System.Diagnostics.Stopwatch.StartNew();
        await moonHost.Invoke((e, now) => e.Initiate(now, "moon-sun", "net"));
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && (Count<ChildSaInstall>(moonEvents) == 0 || Count<ChildSaInstall>(sunEvents) == 0) && Count<IkeSaDown>(moonEvents) == 0)
        {
            await Task.Delay(20);
        }

        if (!await ReportChildSa(moonHost, moonEvents, sunEvents, started.Elapsed))
        {
            return 1;
        }

        var pings = PingThroughEsp(moonEvents, sunEvents, 10);
        Console.WriteLine($"ESP: {pings}/10 ICMP echo requests and replies crossed the CHILD SA as ESP-in-UDP over loopback " +
            "(the data plane's SPD/SAD built from the negotiated keys; no TUN device in the demo, so no root needed)");
        if (pings != 10)
        {
            Console.Error.WriteLine("demo FAILED: traffic did not pass through the CHILD SA");
            return 1;
        }

        await moonHost.Invoke((e, now) => e.Terminate(now, "moon-sun"));
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline && (await moonHost.Invoke((e, _) => e.IkeSas.Count) > 0 || await sunHost.Invoke((e, _) => e.IkeSas.Count) > 0))
        {
            await Task.Delay(20);
        }

        var clean = await moonHost.Invoke((e, _) => e.IkeSas.Count) == 0 && await sunHost.Invoke((e, _) => e.IkeSas.Count) == 0;
        Console.WriteLine(clean ? "IKE SA deleted on both peers." : "demo FAILED: SAs left behind after delete");
        Console.WriteLine(clean ? "demo OK" : string.Empty);
        return clean ? 0 : 1;
    }

    /// <summary>The two peers' configurations: moon's as written, sun's its mirror image.</summary>
    private static (SwanctlConfig Moon, SwanctlConfig Sun) LoadConfigs()
    {
        var sunText = Moon.Replace("moon-sun", "sun-moon", StringComparison.Ordinal)
            .Replace("id = moon.example\n", "id = @@@\n", StringComparison.Ordinal)
            .Replace("id = sun.example\n", "id = moon.example\n", StringComparison.Ordinal)
            .Replace("id = @@@\n", "id = sun.example\n", StringComparison.Ordinal)
            .Replace("local_ts = 198.51.100.0/24", "local_ts = @@@", StringComparison.Ordinal)
            .Replace("remote_ts = 203.0.113.0/24", "remote_ts = 198.51.100.0/24", StringComparison.Ordinal)
            .Replace("local_ts = @@@", "local_ts = 203.0.113.0/24", StringComparison.Ordinal);
        var parser = new SettingsParser(_ => throw new FileNotFoundException(), _ => []);
        return (SwanctlLoader.Load(parser.ParseText(Moon, "moon/swanctl.conf")), SwanctlLoader.Load(parser.ParseText(sunText, "sun/swanctl.conf")));
    }

    /// <summary>Prints the IKE and CHILD SA both peers agreed on; false (with the reason) if the CHILD SA is missing or the keys differ.</summary>
    private static async Task<bool> ReportChildSa(IkeHost moonHost, List<EngineEvent> moonEvents, List<EngineEvent> sunEvents, TimeSpan elapsed)
    {
        ChildSaInstall? mc, sc;
        lock (moonEvents)
        {
            mc = moonEvents.OfType<ChildSaInstall>().FirstOrDefault();
        }

        lock (sunEvents)
        {
            sc = sunEvents.OfType<ChildSaInstall>().FirstOrDefault();
        }

        if (mc is null || sc is null)
        {
            Console.Error.WriteLine("demo FAILED: the CHILD SA did not come up on both peers");
            return false;
        }

        var keysMatch = mc.OutboundSpi == sc.InboundSpi && mc.InboundSpi == sc.OutboundSpi
            && mc.OutboundEncryptionKey.AsSpan().SequenceEqual(sc.InboundEncryptionKey)
            && mc.InboundEncryptionKey.AsSpan().SequenceEqual(sc.OutboundEncryptionKey);
        var exchanged = await moonHost.Invoke((e, _) => e.Stats.DatagramsSent);
        var up = moonEvents.OfType<IkeSaUp>().First();
        Console.WriteLine($"IKE SA up: {up.Algorithms}, SPIs {up.SpiI:x16}_i {up.SpiR:x16}_r, PSK authentication");
        Console.WriteLine($"round trips: {exchanged} (IKE_SA_INIT, IKE_AUTH) in {elapsed.TotalMilliseconds:F1} ms");
        Console.WriteLine($"CHILD SA net: moon {mc.InboundSpi:x8}_i {mc.OutboundSpi:x8}_o, sun {sc.InboundSpi:x8}_i {sc.OutboundSpi:x8}_o, {Daemon.StrongSwanName(mc.Encryption)}-{mc.EncryptionKeyBits}, " +
            $"TS {string.Join(",", mc.LocalTs)} === {string.Join(",", mc.RemoteTs)}; keys agree on both peers: {(keysMatch ? "yes" : "NO")}");
        if (!keysMatch)
        {
            Console.Error.WriteLine("demo FAILED: the peers derived different CHILD SA keys or SPIs");
        }

        return keysMatch;
    }

    /// <summary>
    /// Sends pings from moon's inner network to sun's and back through each peer's ESP data plane, keyed from
    /// the CHILD SA install events, over two loopback UDP sockets (ESP-in-UDP framing, RFC 3948).
    /// </summary>
    private static int PingThroughEsp(List<EngineEvent> moonEvents, List<EngineEvent> sunEvents, int count)
    {
        var moon = new DataPlaneInstaller(new SystemEntropy());
        var sun = new DataPlaneInstaller(new SystemEntropy());
        lock (moonEvents)
        {
            moonEvents.ForEach(moon.Handle);
        }

        lock (sunEvents)
        {
            sunEvents.ForEach(sun.Handle);
        }

        var moonPlane = new Esp.EspDataPlane(moon.Databases);
        var sunPlane = new Esp.EspDataPlane(sun.Databases);
        using var moonSock = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp) { ReceiveTimeout = 2000 };
        using var sunSock = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp) { ReceiveTimeout = 2000 };
        moonSock.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        sunSock.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var esp = new byte[2048];
        var wire = new byte[2048];
        var inner = new byte[2048];
        var ok = 0;
        for (ushort seq = 1; seq <= count; seq++)
        {
            var request = Icmp("198.51.100.1", "203.0.113.1", 8, seq);
            if (moonPlane.Outbound(request, esp, out var n, out _) != Esp.OutboundResult.Send)
            {
                continue;
            }

            moonSock.SendTo(esp.AsSpan(0, n), sunSock.LocalEndPoint!);
            var got = sunSock.Receive(wire);
            var length = sunPlane.Inbound(wire.AsSpan(0, got), inner);
            if (length != request.Length || !inner.AsSpan(0, length).SequenceEqual(request))
            {
                continue;
            }

            var reply = Icmp("203.0.113.1", "198.51.100.1", 0, seq);
            if (sunPlane.Outbound(reply, esp, out n, out _) != Esp.OutboundResult.Send)
            {
                continue;
            }

            sunSock.SendTo(esp.AsSpan(0, n), moonSock.LocalEndPoint!);
            got = moonSock.Receive(wire);
            length = moonPlane.Inbound(wire.AsSpan(0, got), inner);
            if (length == reply.Length && inner.AsSpan(0, length).SequenceEqual(reply))
            {
                ok++;
            }
        }

        return ok;
    }

    /// <summary>An IPv4 ICMP echo request (type 8) or reply (type 0) with a 32-byte payload.</summary>
    private static byte[] Icmp(string src, string dst, byte type, ushort seq)
    {
        var p = new byte[20 + 8 + 32];
        p[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[8] = 64;
        p[9] = 1;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 16);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, 20)));
        p[20] = type;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), 0x0A4B);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(26), seq);
        for (var i = 28; i < p.Length; i++)
        {
            p[i] = (byte)i;
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), Checksum(p.AsSpan(20)));
        return p;
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2)
        {
            sum += System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (data.Length % 2 == 1)
        {
            sum += (uint)(data[^1] << 8);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static int Count<T>(List<EngineEvent> events)
    {
        lock (events)
        {
            return events.OfType<T>().Count();
        }
    }

    private static IkeHost Build(SwanctlConfig config, IPAddress address, ILogger log, List<EngineEvent> events, out int port) =>
        BuildWith(config.Connections.Select(c => c.Ike).ToList(), config.Secrets, address, log, events, out port);

    private static IkeHost BuildWith(List<IkeConfig> configs, ISecretStore secrets, IPAddress address, ILogger log, List<EngineEvent> events, out int port)
    {
        // Bind first to learn the port, then tell the engine which port it speaks from.
        port = IkeHost.FreeUdpPort(address);
        var endpoint = new Endpoint(configs, secrets, new SystemEntropy(), new EngineSettings { IkePort = port });
        var host = new IkeHost(endpoint, log);
        host.Bind(new IPEndPoint(address, port), natT: false);
        host.EventRaised += e =>
        {
            lock (events)
            {
                events.Add(e);
            }
        };
        host.Start();
        return host;
    }
}
