using System.Net;
using BenchmarkDotNet.Attributes;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Testing;

namespace Oakley.Benchmarks;

/// <summary>
/// The engine's wake-up cost with many idle IKE SAs (each with one CHILD SA, rekey in hours): what the host pays
/// on every loop iteration for <c>PollTimeout</c>, and for a <c>HandleTimeout</c> at which nothing is due.
/// Setup negotiates the SAs for real in memory (about 0.5 ms each), so 100,000 SAs take a while to build;
/// unique = never keeps the setup linear on engines that scan for duplicates.
/// </summary>
[Config(typeof(LongSetupConfig))]
public class TimerBenchmarks
{
    private Endpoint _responder = null!;
    private DateTimeOffset _now;

    [Params(100, 10_000, 100_000)]
    public int Sas { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var a = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 500);
        var b = new IPEndPoint(IPAddress.Parse("192.0.2.2"), 500);
        var proposals = ProposalString.ParseList("aes128gcm16-prfsha256-x25519", ProtocolId.Ike);
        var esp = ProposalString.ParseList("aes128gcm16", ProtocolId.Esp);
        ChildConfig Child(string l, string r) => new() { Name = "net", LocalTs = [TrafficSelectorRange.Parse(l)], RemoteTs = [TrafficSelectorRange.Parse(r)], EspProposals = esp };
        var ic = new IkeConfig { Name = "bench", LocalAddresses = [a.Address], RemoteAddresses = [b.Address], Proposals = proposals, LocalId = Identity.Parse("initiator.example"), RemoteId = Identity.Parse("responder.example"), Children = [Child("198.51.100.0/24", "203.0.113.0/24")], SendInitialContact = false, Unique = UniquePolicy.Never };
        var rc = new IkeConfig { Name = "bench", LocalAddresses = [b.Address], Proposals = proposals, LocalId = Identity.Parse("responder.example"), Children = [Child("203.0.113.0/24", "198.51.100.0/24")], Unique = UniquePolicy.Never };
        var secrets = new InMemorySecrets().Add("benchmark pre-shared key"u8.ToArray(), ic.LocalId, rc.LocalId);
        var settings = new EngineSettings { DosProtection = false };
        var initiator = new Endpoint([ic], secrets, new SeededEntropy(1), settings);
        _responder = new Endpoint([rc], secrets, new SeededEntropy(2), settings);
        var pair = new EnginePair(initiator, _responder, a, b, DateTimeOffset.UnixEpoch);
        for (var i = 0; i < Sas; i++)
        {
            initiator.Initiate(pair.Now, "bench", reuseIkeSa: false);
            pair.Deliver();
            pair.Log.Clear();
        }

        if (_responder.IkeSas.Count(s => s.State == IkeSaState.Established) != Sas)
        {
            var states = string.Join(", ", _responder.IkeSas.GroupBy(s => s.State).Select(g => $"{g.Key}: {g.Count()}"));
            throw new InvalidOperationException($"of {Sas} IKE SAs: {states}");
        }

        _now = pair.Now + TimeSpan.FromSeconds(1);
    }

    [Benchmark]
    public DateTimeOffset? PollTimeout() => _responder.PollTimeout();

    [Benchmark]
    public void HandleTimeoutNothingDue() => _responder.HandleTimeout(_now);
}

/// <summary>BenchConfig's short in-process job, with room for a setup that negotiates 100,000 SAs.</summary>
public sealed class LongSetupConfig : BenchConfig
{
    public LongSetupConfig()
        : base(TimeSpan.FromMinutes(20))
    {
    }
}
