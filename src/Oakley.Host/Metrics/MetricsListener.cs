using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Oakley.Host.Metrics;

/// <summary>
/// <c>--metrics ADDRESS:PORT</c>: a minimal HTTP/1.1 server for <c>GET /metrics</c> on exactly that address. Not
/// prometheus-net's MetricServer: it is an HttpListener, which refused an IPv6 prefix (<c>[::1]</c>: "Invalid port in
/// prefix") and answered 404 to a scrape whose Host header was not the bound address (a target named by DNS), and it
/// always answers the Prometheus text format. Here the socket is bound to the address itself, the Host header is not
/// looked at, and a scraper that accepts <c>application/openmetrics-text</c> gets OpenMetrics (prometheus-net writes
/// both). Each request is bounded (8 KiB of headers, 10 s), at most 8 connections are served at once (more are
/// closed), scrapes run one at a time, and every response closes its connection. Bad requests get 400/404/405, never
/// an exception.
/// </summary>
public sealed class MetricsListener : IAsyncDisposable
{
    private const int MaxHeader = 8192;
    private const int MaxConnections = 8;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly Func<CancellationToken, Task<CollectorRegistry>> _collect;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _scrape = new(1, 1);
    private int _active;
    private Task? _loop;

    /// <param name="collect">Brings the registry up to date (the scrape's engine turn) and returns it.</param>
    public MetricsListener(IPEndPoint endpoint, Func<CancellationToken, Task<CollectorRegistry>> collect, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _collect = collect;
        _log = log;
        _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _socket.DualMode = false; // [::] means IPv6 only; 0.0.0.0 is written for IPv4
            }

            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _socket.Bind(endpoint);
            _socket.Listen(16);
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw new StartupException($"--metrics {Format(endpoint)}: cannot listen there: {e.Message}", e);
        }

        Endpoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>Where it listens (the port is the real one if 0 was asked for).</summary>
    public IPEndPoint Endpoint { get; }

    public static string Format(IPEndPoint e) => e.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{e.Address}]:{e.Port}" : e.ToString();

    public void Start() => _loop = Task.Run(AcceptLoopAsync);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.LogDebug("metrics: accept failed: {Error}", e.Message);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            if (Interlocked.Increment(ref _active) > MaxConnections)
            {
                Interlocked.Decrement(ref _active);
                client.Dispose();
                continue;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            using (client)
            {
                var head = await ReadHeadAsync(client, timeout.Token).ConfigureAwait(false);
                var (status, type, body) = head is null ? (400, "text/plain", "bad request\n"u8.ToArray()) : await AnswerAsync(head, timeout.Token).ConfigureAwait(false);
                var header = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {Reason(status)}\r\nContent-Type: {type}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                await client.SendAsync(header, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (head is null || !head.StartsWith("HEAD ", StringComparison.Ordinal))
                {
                    await client.SendAsync(body, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                }

                client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            _log.LogDebug("metrics: a request ended early: {Error}", e.Message);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    /// <summary>The request line and headers (up to the empty line), or null if they are not there within the bound.</summary>
    private static async Task<string?> ReadHeadAsync(Socket client, CancellationToken cancel)
    {
        var buffer = new byte[MaxHeader];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancel).ConfigureAwait(false);
            if (n == 0)
            {
                return null;
            }

            filled += n;
            var end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return Encoding.ASCII.GetString(buffer, 0, end);
            }
        }

        return null;
    }

    private async Task<(int Status, string Type, byte[] Body)> AnswerAsync(string head, CancellationToken cancel)
    {
        var lines = head.Split("\r\n");
        var request = lines[0].Split(' ');
        if (request.Length != 3 || !request[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return (400, "text/plain", "bad request\n"u8.ToArray());
        }

        var path = request[1].Split('?')[0];
        if (path is not ("/metrics" or "/"))
        {
            return (404, "text/plain", "not found: the metrics are at /metrics\n"u8.ToArray());
        }

        if (request[0] is not ("GET" or "HEAD"))
        {
            return (405, "text/plain", "only GET and HEAD\n"u8.ToArray());
        }

        if (path == "/")
        {
            return (200, "text/plain; charset=utf-8", "oakley: the metrics are at /metrics\n"u8.ToArray());
        }

        var accept = lines.Skip(1).FirstOrDefault(l => l.StartsWith("accept:", StringComparison.OrdinalIgnoreCase)) ?? string.Empty;
        var openMetrics = accept.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase);
        return await ScrapeAsync(openMetrics, cancel).ConfigureAwait(false);
    }

    private async Task<(int, string, byte[])> ScrapeAsync(bool openMetrics, CancellationToken cancel)
    {
        await _scrape.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            var registry = await _collect(cancel).WaitAsync(TimeSpan.FromSeconds(5), cancel).ConfigureAwait(false);
            using var body = new MemoryStream();
            await registry.CollectAndExportAsTextAsync(body, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, cancel).ConfigureAwait(false);
            return (200, openMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8", body.ToArray());
        }
        catch (TimeoutException)
        {
            return (503, "text/plain", "the engine did not answer within 5 s\n"u8.ToArray());
        }
        finally
        {
            _scrape.Release();
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
        _scrape.Dispose();
    }
}
