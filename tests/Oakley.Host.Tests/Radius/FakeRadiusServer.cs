using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Oakley.Config;
using Oakley.Host.Radius;

namespace Oakley.Host.Tests.Radius;

/// <summary>
/// A RADIUS server on 127.0.0.1 for the tests: it checks each request's authenticators with its secret, records it,
/// and answers with what <see cref="Answer"/> returns for it (none: silence). Runs until disposed.
/// </summary>
internal sealed class FakeRadiusServer : IAsyncDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public FakeRadiusServer(byte[] secret, Func<RadiusPacket, IEnumerable<byte[]>> answer)
    {
        Secret = secret;
        Answer = answer;
        _loop = Task.Run(LoopAsync);
    }

    public byte[] Secret { get; }

    public Func<RadiusPacket, IEnumerable<byte[]>> Answer { get; set; }

    public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    /// <summary>Every request received, with whether its authenticators verified.</summary>
    public ConcurrentQueue<(RadiusPacket Packet, byte[] Raw, bool Verified)> Received { get; } = new();

    public RadiusServerSettings Settings(string name, int preference = 0, int tries = 3, double timeout = 0.2) =>
        new(name, "127.0.0.1", Secret, Port, Port, "oakley-test", preference, tries, timeout, 1.0);

    /// <summary>An encoded response to <paramref name="request"/> signed with this server's secret.</summary>
    public byte[] Respond(RadiusPacket request, RadiusCode code, Action<RadiusPacket>? attributes = null, bool messageAuthenticator = true, byte[]? secret = null)
    {
        var response = new RadiusPacket(code, request.Identifier);
        attributes?.Invoke(response);
        return RadiusSigning.EncodeResponse(response, request.Authenticator, secret ?? Secret, messageAuthenticator);
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult got;
            try
            {
                got = await _udp.ReceiveAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (RadiusPacket.Parse(got.Buffer) is not { } request)
            {
                continue;
            }

            Received.Enqueue((request, got.Buffer, RadiusSigning.VerifyRequest(got.Buffer, Secret)));
            foreach (var datagram in Answer(request))
            {
                await _udp.SendAsync(datagram, got.RemoteEndPoint);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
