using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Host.Radius;

/// <summary>
/// One UDP socket to one RADIUS server port (authentication or accounting), connected so that only the server's
/// datagrams arrive. The Identifier is the socket's to allocate (RFC 2865 §3: it matches a response to its request
/// per source address and port): at most 256 requests are outstanding, and a 257th waits for a free one. A request
/// is retransmitted as the same bytes (same Identifier and Request Authenticator, RFC 2865 §2.5) after
/// retransmit_timeout × retransmit_base^n, retransmit_tries times in all. A response that fails its authenticator
/// or Message-Authenticator check is dropped (RFC 3579 §3.2: silently discarded), and the request keeps waiting.
/// </summary>
internal sealed class RadiusChannel : IAsyncDisposable
{
    private readonly RadiusServerSettings _server;
    private readonly int _port;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _slots = new(256, 256);
    private readonly Pending?[] _pending = new Pending?[256];
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _open = new(1, 1);
    private Socket? _socket;
    private Task? _receiver;
    private int _next;

    private sealed record Pending(byte[] RequestAuthenticator, RadiusCode Code, TaskCompletionSource<RadiusPacket> Answer);

    public RadiusChannel(RadiusServerSettings server, int port, ILogger log, TimeProvider time)
    {
        _server = server;
        _port = port;
        _log = log;
        _time = time;
    }

    /// <summary>
    /// Sends the request that <paramref name="encode"/> builds for an Identifier and waits for its verified answer;
    /// null after the last retransmission timed out (or the socket cannot be opened).
    /// </summary>
    public async Task<RadiusPacket?> ExchangeAsync(RadiusCode code, Func<byte, byte[]> encode, CancellationToken cancel)
    {
        if (await OpenAsync(cancel).ConfigureAwait(false) is not { } socket)
        {
            return null;
        }

        await _slots.WaitAsync(cancel).ConfigureAwait(false);
        int id;
        byte[] datagram;
        Pending pending;
        lock (_pending)
        {
            id = _next;
            for (var i = 0; i < 256 && _pending[id] is not null; i++)
            {
                id = (id + 1) & 0xFF;
            }

            _next = (id + 1) & 0xFF;
            datagram = encode((byte)id);
            pending = new Pending(datagram.AsSpan(4, 16).ToArray(), code, new TaskCompletionSource<RadiusPacket>(TaskCreationOptions.RunContinuationsAsynchronously));
            _pending[id] = pending;
        }

        try
        {
            return await RetransmitAsync(socket, datagram, pending, cancel).ConfigureAwait(false);
        }
        finally
        {
            lock (_pending)
            {
                _pending[id] = null;
            }

            _slots.Release();
        }
    }

    private async Task<RadiusPacket?> RetransmitAsync(Socket socket, byte[] datagram, Pending pending, CancellationToken cancel)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, _stop.Token);
        for (var attempt = 0; attempt < _server.RetransmitTries; attempt++)
        {
            var wait = TimeSpan.FromSeconds(_server.RetransmitTimeout * Math.Pow(_server.RetransmitBase, attempt));
            if (attempt > 0)
            {
                _log.LogInformation("retransmit {Attempt} of RADIUS {Code} to server '{Server}' (timeout: {Timeout:0.0}s)", attempt, pending.Code, _server.Name, wait.TotalSeconds);
            }

            try
            {
                await socket.SendAsync(datagram, SocketFlags.None, linked.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                // An ICMP error of an earlier datagram or no route: this attempt is lost, the next may get through.
                _log.LogDebug("sending RADIUS {Code} to server '{Server}' failed: {Error}", pending.Code, _server.Name, e.SocketErrorCode);
            }

            var timer = Task.Delay(wait, _time, linked.Token);
            if (await Task.WhenAny(pending.Answer.Task, timer).ConfigureAwait(false) == pending.Answer.Task)
            {
                return await pending.Answer.Task.ConfigureAwait(false);
            }

            linked.Token.ThrowIfCancellationRequested();
        }

        _log.LogInformation("RADIUS {Code} to server '{Server}' timed out after {Tries} attempts", pending.Code, _server.Name, _server.RetransmitTries);
        return null;
    }

    private async Task<Socket?> OpenAsync(CancellationToken cancel)
    {
        if (Volatile.Read(ref _socket) is { } open)
        {
            return open;
        }

        await _open.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            if (_socket is not null)
            {
                return _socket;
            }

            if (!IPAddress.TryParse(_server.Address, out var address))
            {
                var found = await Dns.GetHostAddressesAsync(_server.Address, cancel).ConfigureAwait(false);
                address = found.FirstOrDefault();
            }

            if (address is null)
            {
                _log.LogWarning("resolving RADIUS server address '{Address}' failed", _server.Address);
                return null;
            }

            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, _port), cancel).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            _receiver = Task.Run(() => ReceiveLoopAsync(socket));
            Volatile.Write(ref _socket, socket);
            return socket;
        }
        catch (SocketException e)
        {
            _log.LogWarning("opening a RADIUS socket to server '{Server}' failed: {Error}", _server.Name, e.SocketErrorCode);
            return null;
        }
        finally
        {
            _open.Release();
        }
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        var buffer = new byte[RadiusPacket.MaxLength];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                continue; // ICMP port unreachable of a connected socket: the retransmission timer handles it
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            Deliver(buffer.AsSpan(0, n));
        }
    }

    /// <summary>Matches a datagram to its request by Identifier; verifies it against that request before accepting it.</summary>
    private void Deliver(ReadOnlySpan<byte> datagram)
    {
        if (RadiusPacket.Parse(datagram) is not { } packet)
        {
            _log.LogDebug("received an invalid RADIUS datagram from server '{Server}', ignored", _server.Name);
            return;
        }

        Pending? pending;
        lock (_pending)
        {
            pending = _pending[packet.Identifier];
        }

        if (pending is null || !Answers(pending.Code, packet.Code))
        {
            _log.LogDebug("received RADIUS {Code} with unexpected ID {Id} from server '{Server}', ignored", packet.Code, packet.Identifier, _server.Name);
            return;
        }

        // RFC 3579 §3.2: a server answers an Access-Request with EAP-Message (all of ours) with a Message-Authenticator;
        // one without is refused, which also keeps the unauthenticated-attribute forgery of CVE-2024-3596 out.
        if (!RadiusSigning.VerifyResponse(datagram, pending.RequestAuthenticator, _server.Secret, requireMessageAuthenticator: pending.Code == RadiusCode.AccessRequest))
        {
            _log.LogWarning("RADIUS {Code} from server '{Server}' failed the authenticator check (wrong secret, or forged), dropped", packet.Code, _server.Name);
            return;
        }

        pending.Answer.TrySetResult(packet);
    }

    private static bool Answers(RadiusCode request, RadiusCode response) => request == RadiusCode.AccountingRequest
        ? response == RadiusCode.AccountingResponse
        : response is RadiusCode.AccessAccept or RadiusCode.AccessReject or RadiusCode.AccessChallenge;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (_receiver is { } r)
        {
            await r.ConfigureAwait(false);
        }

        _stop.Dispose();
        _open.Dispose();
        _slots.Dispose();
    }
}
