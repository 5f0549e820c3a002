using System.Net;
using System.Text;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Host.Counters;
using Oakley.Host.Metrics;
using Oakley.Iana;
using Oakley.Testing;

using static Oakley.Host.Tests.MoonSun;

namespace Oakley.Host.Tests;

/// <summary>
/// The failure reasons of <c>oakley_ike_failures_total</c> are read from the engine's own messages
/// (<see cref="FailureReasons.Classify"/>). These tests make the engine fail for real, in memory, and check the reason
/// each side's metrics give, so that a reworded engine message that no longer classifies fails here, not in a
/// dashboard.
/// </summary>
public class FailureReasonEngineTests
{

    /// <summary>What differs between the two sides of one failure.</summary>
    public sealed record Case(string Name, string MoonIke = "aes128gcm16-prfsha256-x25519", string SunIke = "aes128gcm16-prfsha256-x25519",
        string? MoonPsk = "k", string SunPsk = "k", string SunLocalTs = "203.0.113.0/24", bool SunSilent = false)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case, string, string?> Failures() => new()
    {
        { new Case("wrong psk", SunPsk: "other"), FailureReasons.AuthenticationFailed, FailureReasons.AuthenticationFailed },
        { new Case("no common IKE proposal", SunIke: "aes256-sha384-modp3072"), FailureReasons.NoProposalChosen, FailureReasons.NoProposalChosen },
        { new Case("no psk for the initiator", MoonPsk: null), FailureReasons.MissingCredentials, null },
        { new Case("disjoint selectors", SunLocalTs: "192.0.2.128/25"), FailureReasons.TsUnacceptable, FailureReasons.TsUnacceptable },
        { new Case("peer does not answer", SunSilent: true), FailureReasons.Timeout, null },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void ARealEngineFailure_IsCountedUnderItsReason(Case c, string moonReason, string? sunReason)
    {
        var ids = (Identity.Parse("moon"), Identity.Parse("sun"));
        var moonSecrets = c.MoonPsk is null ? new InMemorySecrets() : new InMemorySecrets().Add(Encoding.ASCII.GetBytes(c.MoonPsk), ids.Item1, ids.Item2);
        var a = new Endpoint([PskConnection("a", Moon, Sun, "moon", "sun", "198.51.100.0/24", "203.0.113.0/24", ike: c.MoonIke, quiet: true)], moonSecrets, new SeededEntropy(1));
        var b = new Endpoint([PskConnection("b", Sun, Moon, "sun", "moon", c.SunLocalTs, "198.51.100.0/24", ike: c.SunIke, quiet: true)],
            new InMemorySecrets().Add(Encoding.ASCII.GetBytes(c.SunPsk), ids.Item1, ids.Item2), new SeededEntropy(2));
        var ma = new DaemonMetrics(new EngineCounters(new IkeCounters()), _ => null, 10);
        var mb = new DaemonMetrics(new EngineCounters(new IkeCounters()), _ => null, 10);
        var pair = new EnginePair(a, b, Moon, Sun, DateTimeOffset.UnixEpoch);
        if (c.SunSilent)
        {
            pair.Filter = (fromA, _) => fromA ? 0 : 1; // every request of moon is lost
        }

        pair.A.Initiate(pair.Now, "a");
        pair.RunUntilIdle(TimeSpan.FromMinutes(10));
        pair.EventsA.ForEach(ma.Handle);
        pair.EventsB.ForEach(mb.Handle);

        Assert.Equal([moonReason], Reasons(ma));
        Assert.Equal(sunReason is null ? [] : [sunReason], Reasons(mb));
    }

    /// <summary>The reasons with a non-zero count, whatever the connection label.</summary>
    private static string[] Reasons(DaemonMetrics m) =>
        [.. m.Failures.GetAllLabelValues().Where(l => m.Failures.WithLabels(l).Value > 0).Select(l => l[1]).Distinct().Order()];
}
