using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Host;

namespace Oakley.Tests.Shared;

/// <summary>
/// A real Oakley daemon in this process on 127.0.0.1 with free high ports and a control socket in a temp
/// directory; no TUN device (no data plane), so it changes nothing on the host. Stopped within seconds on dispose.
/// Linked into the test projects that run daemons (Host's VICI tests, the CLI's control-client tests).
/// </summary>
internal sealed class TestDaemon : IAsyncDisposable
{
    /// <summary>
    /// The xUnit collection of every test class that starts daemons: they run one at a time, because
    /// <see cref="FreePorts"/> releases its ports before the daemons bind them, and two classes running in parallel
    /// could be handed the same ones (an IKE_SA_INIT then reaches another test's daemon).
    /// </summary>
    public const string Collection = "daemons on loopback ports";

    private readonly Daemon _daemon;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _run;

    private TestDaemon(Daemon daemon, string control)
    {
        _daemon = daemon;
        Control = control;
        _run = Task.Run(() => daemon.RunAsync(_stop.Token));
    }

    public string Control { get; }

    /// <summary>
    /// Writes <paramref name="config"/> to DIR/NAME.conf and runs a daemon on it with its control socket at
    /// DIR/NAME<paramref name="controlSuffix"/>; <paramref name="logs"/> (none by default) is the caller's to dispose.
    /// </summary>
    public static async Task<TestDaemon> StartAsync(string dir, string name, string config, int port, int nattPort, ILoggerFactory? logs = null, string controlSuffix = ".ctl")
    {
        var configPath = Path.Combine(dir, name + ".conf");
        await File.WriteAllTextAsync(configPath, config);
        var control = Path.Combine(dir, name + controlSuffix);
        var created = Daemon.Create(configPath, control, port, nattPort, logs ?? NullLoggerFactory.Instance);
        created.ClaimControlSocket(); // as DaemonRunner does: the control socket, then the IKE ports
        created.BindSockets();
        var daemon = new TestDaemon(created, control);
        for (var i = 0; i < 100 && !File.Exists(control); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(File.Exists(control), "the daemon did not open its control socket within 5 s");
        return daemon;
    }

    /// <summary>Free UDP ports on 127.0.0.1 (all bound at once, so they differ).</summary>
    public static int[] FreePorts(int count)
    {
        var sockets = Enumerable.Range(0, count).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)).ToList();
        try
        {
            foreach (var s in sockets)
            {
                s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            return [.. sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port)];
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>The PSK of <see cref="Config"/>: a test can check it appears in no log.</summary>
    public const string Secret = "oakley daemon test key";

    /// <summary>A PSK connection "NAME" on 127.0.0.1 to a peer at REMOTEPORT with the children "net" and "host".</summary>
    public static string Config(string name, string localId, string remoteId, int remotePort, bool mirror) => $$"""
        connections {
          {{name}} {
            local_addrs = 127.0.0.1
            remote_addrs = 127.0.0.1
            remote_port = {{remotePort}}
            mobike = no
            proposals = aes256gcm16-prfsha256-x25519
            local {
              auth = psk
              id = {{localId}}
            }
            remote {
              auth = psk
              id = {{remoteId}}
            }
            children {
              net {
                local_ts = {{(mirror ? "203.0.113.0/24" : "198.51.100.0/24")}}
                remote_ts = {{(mirror ? "198.51.100.0/24" : "203.0.113.0/24")}}
                esp_proposals = aes256gcm16
              }
              host {
                local_ts = {{(mirror ? "203.0.113.1/32" : "198.51.100.1/32")}}
                remote_ts = {{(mirror ? "198.51.100.1/32" : "203.0.113.1/32")}}
              }
            }
          }
        }
        secrets {
          ike-test {
            id-a = moon.example
            id-b = sun.example
            secret = "{{Secret}}"
          }
        }
        """;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        await _daemon.DisposeAsync();
        _stop.Dispose();
    }
}
