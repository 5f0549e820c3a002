using System.Diagnostics;
using System.Net;
using System.Text;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Host.Counters;
using Oakley.Host.Metrics;
using Oakley.Iana;
using Oakley.Testing;
using Xunit.Abstractions;

using static Oakley.Host.Tests.MoonSun;

namespace Oakley.Host.Tests;

/// <summary>The metrics: --metrics parsing, strongSwan's counter set, the engine's counting, events → series, and the CHILD SA series limit.</summary>
public class MetricsTests(ITestOutputHelper output)
{

    [Theory]
    [InlineData("127.0.0.1:9101", "127.0.0.1", 9101)]
    [InlineData("0.0.0.0:1", "0.0.0.0", 1)]
    [InlineData("[::1]:9101", "::1", 9101)]
    [InlineData("[2001:db8::1]:65535", "2001:db8::1", 65535)]
    [InlineData(" 192.0.2.1:9101 ", "192.0.2.1", 9101)]
    public void MetricsAddress_Parses(string text, string address, int port)
    {
        var e = MetricsAddress.Parse(text, out var error);
        Assert.Null(error);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), e);
    }

    [Theory]
    [InlineData("localhost:9101", "is not an IP address")]
    [InlineData("127.0.0.1", "is not ADDRESS:PORT")]
    [InlineData("127.0.0.1:0", "is not a port")]
    [InlineData("127.0.0.1:65536", "is not a port")]
    [InlineData("127.0.0.1:+80", "is not a port")]
    [InlineData("2001:db8::1:9101", "brackets")]
    [InlineData("[2001:db8::1]", "port after the brackets")]
    [InlineData("[192.0.2.1]:9101", "is not an IPv6 address")]
    [InlineData("10:9101", "is not an IP address")]
    [InlineData("", "is not ADDRESS:PORT")]
    public void MetricsAddress_RefusesWithAMessageNamingTheOption(string text, string why)
    {
        Assert.Null(MetricsAddress.Parse(text, out var error));
        Assert.StartsWith("--metrics", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void IkeCounters_HaveStrongSwansNamesInItsOrder_AndItsResetSemantics()
    {
        var c = new IkeCounters();
        Assert.Equal(21, IkeCounters.CounterNames.Count);
        Assert.Equal(["ike-rekey-init", "ike-rekey-resp", "child-rekey", "invalid", "invalid-spi", "ike-init-in-req"], IkeCounters.CounterNames.Take(6));
        Assert.Equal("info-out-resp", IkeCounters.CounterNames[^1]);
        c.Count(IkeCounter.IkeAuthOutReq, "a");
        c.Count(IkeCounter.IkeAuthOutReq, "a");
        c.Count(IkeCounter.InvalidSpi, null);
        c.Count(IkeCounter.ChildRekey, "b");
        Assert.Equal(2, c.Snapshot("a")!.Single(v => v.Name == "ike-auth-out-req").Value);
        Assert.Equal(2, c.Get(IkeCounter.IkeAuthOutReq));
        Assert.Equal(1, c.Get(IkeCounter.InvalidSpi));
        Assert.Null(c.Snapshot("never"));
        Assert.Equal(IkeCounters.CounterNames, c.Snapshot(null)!.Select(v => v.Name));
        Assert.Equal(["a", "b"], c.Connections);

        c.Reset(null); // the global values only
        Assert.All(c.Snapshot(null)!, v => Assert.Equal(0, v.Value));
        Assert.Equal(2, c.Get(IkeCounter.IkeAuthOutReq, "a"));
        c.Reset("a"); // forgets the connection
        Assert.Null(c.Snapshot("a"));
        c.ResetAll();
        Assert.Empty(c.Connections);
    }

    private static (EnginePair Pair, EngineCounters A, EngineCounters B) Pair(string pskA = "k", string pskB = "k")
    {
        var ids = (Identity.Parse("moon"), Identity.Parse("sun"));
        var a = new Endpoint([PskConnection("a", Moon, Sun, "moon", "sun", "198.51.100.0/24", "203.0.113.0/24", quiet: true)], new InMemorySecrets().Add(Encoding.ASCII.GetBytes(pskA), ids.Item1, ids.Item2), new SeededEntropy(1));
        var b = new Endpoint([PskConnection("b", Sun, Moon, "sun", "moon", "203.0.113.0/24", "198.51.100.0/24", quiet: true)], new InMemorySecrets().Add(Encoding.ASCII.GetBytes(pskB), ids.Item1, ids.Item2), new SeededEntropy(2));
        var ca = new EngineCounters(new IkeCounters());
        var cb = new EngineCounters(new IkeCounters());
        a.Counters = ca;
        b.Counters = cb;
        return (new EnginePair(a, b, Moon, Sun, DateTimeOffset.UnixEpoch), ca, cb);
    }

    [Fact]
    public void Engine_CountsEachMessageOnce_AndTheExchangeOutcomes()
    {
        var (pair, a, b) = Pair();
        pair.A.Initiate(pair.Now, "a");
        pair.Deliver();
        Assert.Equal(IkeSaState.Established, Assert.Single(pair.A.IkeSas).State);
        foreach (var (counter, expected) in new[] { (IkeCounter.IkeInitOutReq, 1), (IkeCounter.IkeInitInResp, 1), (IkeCounter.IkeAuthOutReq, 1), (IkeCounter.IkeAuthInResp, 1), (IkeCounter.IkeInitInReq, 0) })
        {
            Assert.Equal(expected, a.Ike.Get(counter, "a"));
        }

        Assert.Equal((1, 1, 1, 1), (b.Ike.Get(IkeCounter.IkeInitInReq, "b"), b.Ike.Get(IkeCounter.IkeInitOutResp, "b"), b.Ike.Get(IkeCounter.IkeAuthInReq, "b"), b.Ike.Get(IkeCounter.IkeAuthOutResp, "b")));
        Assert.Contains((("IKE_AUTH", true, "success"), 1L), a.Exchanges);
        Assert.Contains((("IKE_AUTH", false, "success"), 1L), b.Exchanges);

        pair.A.Rekey(pair.Now, "a", "net");
        pair.Deliver();
        Assert.Equal(1, a.Ike.Get(IkeCounter.ChildRekey, "a"));
        Assert.Equal(1, b.Ike.Get(IkeCounter.ChildRekey, "b"));
        Assert.Equal(1, a.Ike.Get(IkeCounter.CreateChildOutReq, "a"));
        pair.A.Rekey(pair.Now, "a");
        pair.Deliver();
        Assert.Equal((1, 0), (a.Ike.Get(IkeCounter.IkeRekeyInit, "a"), a.Ike.Get(IkeCounter.IkeRekeyResp, "a")));
        Assert.Equal((0, 1), (b.Ike.Get(IkeCounter.IkeRekeyInit, "b"), b.Ike.Get(IkeCounter.IkeRekeyResp, "b")));
    }

    [Fact]
    public void Engine_CountsAWrongPsk_AsAuthenticationFailed_OnBothSides()
    {
        var (pair, a, b) = Pair("right", "wrong");
        pair.A.Initiate(pair.Now, "a");
        pair.Deliver();
        Assert.Empty(pair.A.IkeSas);
        Assert.Contains((("IKE_AUTH", true, "AUTHENTICATION_FAILED"), 1L), a.Exchanges);
        Assert.Contains((("AUTHENTICATION_FAILED", false), 1L), a.ErrorNotifies);
        Assert.Contains((("AUTHENTICATION_FAILED", true), 1L), b.ErrorNotifies);

        // The events map to the failure counters of both connections.
        var ma = new DaemonMetrics(a, _ => null, 10);
        var mb = new DaemonMetrics(b, _ => null, 10);
        pair.EventsA.ForEach(ma.Handle);
        pair.EventsB.ForEach(mb.Handle);
        Assert.Equal(1, ma.Failures.WithLabels("a", FailureReasons.AuthenticationFailed).Value);
        Assert.Equal(1, mb.Failures.WithLabels("b", FailureReasons.AuthenticationFailed).Value);
    }

    [Fact]
    public async Task Scrape_ShowsTheSas_TheHandshake_TheMessages_AndTheEspCounters()
    {
        var (pair, a, _) = Pair();
        pair.A.Initiate(pair.Now, "a");
        pair.Deliver();
        var installer = new DataPlaneInstaller(new SeededEntropy(3));
        var metrics = new DaemonMetrics(a, spi => installer.Counters(spi) is { } c ? new Traffic(c.BytesIn + 100, c.PacketsIn + 1, c.BytesOut + 200, c.PacketsOut + 2) : null, 10);
        foreach (var e in pair.EventsA)
        {
            metrics.Handle(e);
            installer.Handle(e);
        }

        metrics.Publisher.Publish(metrics.Read(pair.A, pair.Now));
        var text = await Export(metrics);
        var spi = pair.EventsA.OfType<ChildSaInstall>().Single().InboundSpi.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("oakley_ike_sas{connection=\"a\",state=\"ESTABLISHED\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("oakley_child_sas{connection=\"a\",child=\"net\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("oakley_ike_handshake_seconds_count{role=\"initiator\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("oakley_ike_messages_total{exchange=\"IKE_AUTH\",direction=\"out\",message=\"request\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"oakley_child_sa_bytes_total{{connection=\"a\",child=\"net\",spi=\"{spi}\",direction=\"out\"}} 200\n", text, StringComparison.Ordinal);
        Assert.Contains("oakley_esp_bytes_total{direction=\"in\"} 100\n", text, StringComparison.Ordinal);
        Assert.Contains("oakley_child_sa_rekey_time_seconds{connection=\"a\",child=\"net\"} 3600\n", text, StringComparison.Ordinal);

        // The SA goes: its gauges and its own ESP series go, the totals keep its last counters.
        pair.A.Terminate(pair.Now);
        pair.Deliver();
        foreach (var e in pair.EventsA)
        {
            metrics.Handle(e);
            installer.Handle(e);
        }

        metrics.Publisher.Publish(metrics.Read(pair.A, pair.Now));
        text = await Export(metrics);
        Assert.DoesNotContain("state=\"ESTABLISHED\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain($"spi=\"{spi}\"", text, StringComparison.Ordinal);
        Assert.Contains("oakley_esp_bytes_total{direction=\"in\"} 100\n", text, StringComparison.Ordinal);
    }

    private static async Task<string> Export(DaemonMetrics metrics)
    {
        using var ms = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(ms);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static ChildSaInstall Child(uint spi, string ike = "c") => new(DateTimeOffset.UnixEpoch, 1, ike, "net", spi, spi + 1000, false, true, EncrId.AesGcm16, 128, IntegId.None, false,
        [], [], [], [], [], [], Moon, Sun, TimeSpan.FromHours(1), TimeSpan.FromHours(1.1));

    [Fact]
    public void EspSeries_BreaksOutTheFirstN_SumsTheRest_AndStaysMonotonic()
    {
        var traffic = new Dictionary<uint, Traffic> { [1] = new(10, 1, 20, 2), [2] = new(100, 1, 200, 2), [3] = new(1000, 1, 2000, 2) };
        var esp = new EspSeries(2);
        foreach (var spi in new uint[] { 1, 2, 3 })
        {
            esp.Installed(Child(spi));
        }

        var r = esp.Read(s => traffic.TryGetValue(s, out var t) ? t : null);
        Assert.Equal(["00000001", "00000002"], r.Own.Select(o => o.Sa.Spi).Order());
        Assert.Equal(1000, r.Overflow.BytesIn);
        Assert.Equal(1110, r.All.BytesIn);
        Assert.Equal(1, r.NotBrokenOut);

        // The overflow SA goes: its counters stay in the overflow sum and the totals.
        esp.Removed(3, traffic[3]);
        traffic.Remove(3);
        r = esp.Read(s => traffic.TryGetValue(s, out var t) ? t : null);
        Assert.Equal((1000L, 1110L), (r.Overflow.BytesIn, r.All.BytesIn));

        // An own SA goes: its place is free for the next one.
        esp.Removed(1, traffic[1]);
        traffic.Remove(1);
        esp.Installed(Child(4));
        traffic[4] = new(5, 1, 5, 1);
        r = esp.Read(s => traffic.TryGetValue(s, out var t) ? t : null);
        Assert.Equal(["00000002", "00000004"], r.Own.Select(o => o.Sa.Spi).Order());
        Assert.Equal((1, 1115L), (r.NotBrokenOut, r.All.BytesIn));
    }

    [Theory]
    [InlineData("AUTH payload of 'sun' did not verify: wrong PSK", FailureReasons.AuthenticationFailed)]
    [InlineData("peer reported AUTHENTICATION_FAILED", FailureReasons.AuthenticationFailed)]
    [InlineData("IKE_SA_INIT failed: peer answered NoProposalChosen", FailureReasons.NoProposalChosen)]
    [InlineData("CHILD SA 'net' was not created: TsUnacceptable", FailureReasons.TsUnacceptable)]
    [InlineData("certificate 'CN=sun' expired on 2020-01-01 (now 2026-12-07)", FailureReasons.CertExpired)]
    [InlineData("certificate 'CN=sun' revoked on 2026-01-01, keyCompromise (CRL from x)", FailureReasons.CertRevoked)]
    [InlineData("no trusted path from 'CN=sun' to any CA in x509ca/ (closest: issuer 'CN=x' not found)", FailureReasons.CertUntrusted)]
    [InlineData("giving up after 5 retransmissions of IkeSaInit", FailureReasons.Timeout)]
    [InlineData("no shared key found for 'moon' - 'sun'", FailureReasons.MissingCredentials)]
    [InlineData("something new", FailureReasons.Other)]
    public void FailureReasons_AreAFixedSet(string message, string reason) => Assert.Equal(reason, FailureReasons.Classify(message));

    /// <summary>
    /// The cost of a scrape's engine turn with many SAs (OAKLEY_METRICS_SAS, 2,000 by default: the SAs are negotiated
    /// for real, about 1 ms each). The bound only catches a turn gone quadratic on a loaded machine; the figure is printed.
    /// </summary>
    [Fact]
    public void ScrapeTurn_WithManySas_IsOnePassOverThem()
    {
        var n = int.TryParse(Environment.GetEnvironmentVariable("OAKLEY_METRICS_SAS"), out var v) ? v : 2000;
        var (pair, a, _) = Pair();
        var installer = new DataPlaneInstaller(new SeededEntropy(3));
        var metrics = new DaemonMetrics(a, spi => installer.Counters(spi) is { } c ? new Traffic(c.BytesIn, c.PacketsIn, c.BytesOut, c.PacketsOut) : null, 100);
        for (var i = 0; i < n; i++)
        {
            pair.A.Initiate(pair.Now, "a", reuseIkeSa: false);
            pair.Deliver();
            pair.Log.Clear();
            foreach (var e in pair.EventsA)
            {
                metrics.Handle(e);
                installer.Handle(e);
            }

            pair.EventsA.Clear();
            pair.EventsB.Clear();
        }

        Assert.Equal(n, pair.A.IkeSas.Count(s => s.State == IkeSaState.Established));
        metrics.Read(pair.A, pair.Now); // warm-up
        var sw = Stopwatch.StartNew();
        const int Turns = 10;
        EngineSnapshot? s = null;
        for (var i = 0; i < Turns; i++)
        {
            s = metrics.Read(pair.A, pair.Now);
        }

        var perTurn = sw.Elapsed.TotalMilliseconds / Turns;
        output.WriteLine($"scrape engine turn with {n} IKE SAs / {n} CHILD SAs: {perTurn:F2} ms");
        Assert.Equal(n, s!.IkeSas[("a", IkeSaState.Established)]);
        Assert.Equal(100, s.Esp.Own.Count);
        Assert.Equal(n - 100, s.Esp.NotBrokenOut);
        Assert.True(perTurn < n * 0.05, $"{perTurn} ms per turn for {n} SAs");
    }
}
