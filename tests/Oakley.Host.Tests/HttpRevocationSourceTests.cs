using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Engine.Certificates;

namespace Oakley.Host.Tests;

/// <summary>The daemon's CRL and OCSP fetcher (issue 15) against an HTTP server on loopback: never blocks, caches, and bounds retries.</summary>
public sealed class HttpRevocationSourceTests : IDisposable
{
    private readonly HttpListener _server = new();
    private readonly string _base;
    private readonly List<string> _requests = [];

    public HttpRevocationSourceTests()
    {
        var port = FreePort();
        _base = $"http://127.0.0.1:{port}/";
        _server.Prefixes.Add(_base);
        _server.Start();
        _ = ServeAsync();
    }

    public void Dispose() => _server.Close();

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (_server.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _server.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var path = context.Request.Url!.AbsolutePath;
            lock (_requests)
            {
                _requests.Add($"{context.Request.HttpMethod} {path} {context.Request.ContentType}");
            }

            var (status, body) = path switch
            {
                "/int.crl" => (200, System.Text.Encoding.ASCII.GetBytes("-----BEGIN X509 CRL-----\nAQID\n-----END X509 CRL-----\n")),
                "/ocsp" => (200, new byte[] { 9, 8, 7 }),
                _ => (404, Array.Empty<byte>()),
            };
            context.Response.StatusCode = status;
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        }
    }

    private static FetchedDocument Settle(Func<FetchedDocument> ask)
    {
        for (var i = 0; i < 100; i++)
        {
            var doc = ask();
            if (!doc.InFlight)
            {
                return doc;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException("the fetch did not finish in 5 s");
    }

    [Fact]
    public void Crl_IsFetchedInTheBackground_ConvertedFromPem_AndCached()
    {
        using var source = new HttpRevocationSource(NullLogger.Instance);
        Assert.True(source.Crl(_base + "int.crl", refresh: false).InFlight);
        var doc = Settle(() => source.Crl(_base + "int.crl", refresh: false));
        Assert.Equal(new byte[] { 1, 2, 3 }, doc.Data);
        Assert.Same(doc.Data, source.Crl(_base + "int.crl", refresh: false).Data); // cached: the same array, no new request
        Assert.Single(_requests);
    }

    [Fact]
    public void AFailedUrl_IsReported_AndNotAskedAgainAtOnce()
    {
        using var source = new HttpRevocationSource(NullLogger.Instance);
        var doc = Settle(() => source.Crl(_base + "missing.crl", refresh: true));
        Assert.Null(doc.Data);
        Assert.Equal("HTTP 404", doc.Error);
        Assert.Equal("HTTP 404", source.Crl(_base + "missing.crl", refresh: true).Error);
        Assert.Single(_requests);
    }

    [Fact]
    public void Ocsp_IsPostedAsAnOcspRequest()
    {
        using var source = new HttpRevocationSource(NullLogger.Instance);
        var doc = Settle(() => source.Ocsp(_base + "ocsp", [0x30, 0x00], "cert|ocsp"));
        Assert.Equal(new byte[] { 9, 8, 7 }, doc.Data);
        Assert.Equal(["POST /ocsp application/ocsp-request"], _requests);
    }
}
