using System.Text;
using Oakley.Engine;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>The lifecycle scenarios the simulation drives; "Moon"/"Sun" name the side that acts.</summary>
public enum SimScenario
{
    Establish,
    ChildRekeyMoon,
    ChildRekeySun,
    IkeRekeyMoon,
    IkeRekeySun,
    SimultaneousChildRekey,
    SimultaneousIkeRekey,
    IkeRekeyCrossingChildRekey,
    CreateThenDeleteChildMoon,
    CreateThenDeleteChildSun,
    DeleteIkeMoon,
    DeleteIkeSun,
    DeleteIkeCrossingPeerChildRekey,
    DeleteIkeWhileOwnChildRekeyPending,
    DeadPeerSunSilent,
    DeadPeerMoonSilent,
    Storm,
}

/// <summary>
/// One seeded run of a scenario over <see cref="SimulatedNetwork"/>: moon (A) and sun (B) from <see cref="Scenario"/>
/// with dpd_delay 30 s on both sides, entropy and network fates from one seed. Each action (initiate, rekey,
/// create, delete, a peer going silent) happens under the profile; the path stays that bad for
/// <see cref="HostileWindow"/> and then heals. The expected state must be reached within the action's recovery
/// bound and must still hold <see cref="SettleTime"/> later (past every retransmission timeout and the one-minute
/// wait of a rekeyed-away IKE SA). Invariants checked on every run:
/// <list type="bullet">
/// <item>both sides hold the same IKE SAs (SPIs), all established: nothing half-open or leaked;</item>
/// <item>the CHILD SAs the events say are installed are exactly the SA objects' children, and they pair up
/// crosswise between the sides (SPIs, keys, child name);</item>
/// <item>no message ID is reused for a different protected message under the same SPIs and direction;</item>
/// <item>no exception escapes the engine, and the event loop makes progress (bounded steps).</item>
/// </list>
/// </summary>
internal sealed class SimulationRun
{
    /// <summary>How long the path stays as bad as the profile after each action before it heals.</summary>
    public static readonly TimeSpan HostileWindow = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The recovery bound of an exchange started in the hostile window: the path heals after 20 s, and the next
    /// retransmission (4 s × 1.8^n: at 24.2 s or 47.5 s at the latest for an exchange started in the window)
    /// crosses a clean path; a rekey or delete is at most two exchanges in sequence, a collision three.
    /// </summary>
    public static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(120);

    /// <summary>dpd_delay of both sides in every scenario (so DPD exchanges interleave with everything else).</summary>
    public static readonly TimeSpan DpdDelay = TimeSpan.FromSeconds(30);

    /// <summary>A silent peer is declared dead after dpd_delay plus the whole retransmission schedule (165.06 s).</summary>
    public static readonly TimeSpan DeadPeerBound = DpdDelay + TimeSpan.FromSeconds(166) + HostileWindow;

    /// <summary>
    /// An initiation the responder no longer knows ends with the initiator's IKE_AUTH retransmission schedule
    /// (165.06 s), which starts once IKE_SA_INIT is answered (at the latest the retransmission at 24.16 s, healed).
    /// </summary>
    public static readonly TimeSpan InitiationGivesUp = TimeSpan.FromSeconds(24.2 + 165.1 + 5);

    /// <summary>After convergence, the state must still hold this much later.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMinutes(10);

    private readonly NetworkProfile _profile;
    private readonly Dictionary<string, TimeSpan> _convergence = [];

    public SimulationRun(SimScenario scenario, NetworkProfile profile, int seed)
    {
        ScenarioKind = scenario;
        _profile = profile;
        Seed = seed;
        var pair = new Scenario
        {
            Seed = SimulatedNetwork.EntropyFor(RunSeed(scenario, profile, seed), 1),
            MoonDpdDelay = DpdDelay,
            SunDpdDelay = DpdDelay,
        }.Build();
        Net = new SimulatedNetwork(pair.A, pair.B, pair.AddressA, pair.AddressB, pair.Now, RunSeed(scenario, profile, seed)) { Inspect = pair.Inspect };
    }

    public SimScenario ScenarioKind { get; }

    public int Seed { get; }

    /// <summary>The first initiation failed legitimately (see <see cref="Script"/>) and was repeated.</summary>
    public bool Retried { get; private set; }

    public SimulatedNetwork Net { get; }

    /// <summary>Time from each action to the first moment its expected state held.</summary>
    public IReadOnlyDictionary<string, TimeSpan> Convergence => _convergence;

    /// <summary>Each scenario and profile gets its own streams from a seed, so that their runs differ from the first message on.</summary>
    private static int RunSeed(SimScenario scenario, NetworkProfile profile, int seed) =>
        unchecked(seed * 7919 + (int)scenario * 131 + profile.Name.Aggregate(0, (h, c) => h * 31 + c));

    private Endpoint Side(bool moon) => moon ? Net.A : Net.B;

    private static string ConfigName(bool moon) => moon ? "moon-sun" : "sun-moon";

    /// <summary>Runs the scenario; returns null when every invariant held, else what failed.</summary>
    public string? Execute()
    {
        try
        {
            return Script() ?? WireInvariant()
                ?? (Net.A.IndexesConsistent && Net.B.IndexesConsistent ? null : "an endpoint's SPI or identity index differs from its IKE SAs");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"exception at +{(Net.Now - Net.Start).TotalSeconds:F3}s: {e}";
        }
    }

    /// <summary>A failure report: scenario, profile, seed, how to rerun it, and the end of the message script.</summary>
    public string Describe(string failure)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"scenario {ScenarioKind}, profile {_profile.Name}, seed {Seed}: {failure}");
        sb.AppendLine($"rerun: OAKLEY_SIM_SEED={Seed} dotnet test tests/Oakley.Engine.Tests -c Release --filter \"FullyQualifiedName~SimulationTests\"");
        var script = Net.Script().ToList();
        // A rerun of one seed shows the whole script; a CI failure the end of it.
        var shown = Environment.GetEnvironmentVariable("OAKLEY_SIM_SEED") is { Length: > 0 } ? script.Count : 60;
        sb.AppendLine($"message script ({script.Count} datagrams, last {Math.Min(shown, script.Count)}):");
        foreach (var line in script.Skip(Math.Max(0, script.Count - shown)))
        {
            sb.AppendLine("  " + line);
        }

        sb.AppendLine("events A: " + string.Join("; ", Net.EventsA.Select(Short)));
        sb.AppendLine("events B: " + string.Join("; ", Net.EventsB.Select(Short)));
        return sb.ToString();
    }

    private string Short(EngineEvent e) => $"+{(e.Time - Net.Start).TotalSeconds:F1}s " + e switch
    {
        ChildSaInstall c => $"install {c.ChildName} in {c.InboundSpi:x8} out {c.OutboundSpi:x8}",
        ChildSaRemove r => $"remove {r.ChildName} in {r.InboundSpi:x8}",
        IkeSaUp u => $"up {u.SpiI:x16}_{u.SpiR:x16}",
        IkeSaDown d => $"down ({d.Reason}{(d.PeerDead ? ", peer dead" : string.Empty)})",
        IkeSaRekeyed k => $"rekeyed to {k.SpiI:x16}_{k.SpiR:x16}",
        Alert a => $"alert {a.Message}",
        _ => e.GetType().Name,
    };

    private string? Script()
    {
        var moonInitiates = Seed % 2 == 0;
        var failure = Act("establish", RecoveryBound, () => Side(moonInitiates).Initiate(Net.Now, ConfigName(moonInitiates)),
            () => Expect(ike: 1, children: ["net"]));
        if (failure is not null)
        {
            // Legitimately unrecoverable: IKE_AUTH got through only after the responder's half-open SA had timed out
            // (30 s, shorter than the initiator's 165 s retransmission schedule, as in strongSwan). The bound checked
            // instead: both sides end up empty by the end of the schedule, the initiator reports a failed initiation,
            // and a new initiation (what keyingtries does) succeeds on the healed path.
            var initiatorEvents = moonInitiates ? Net.EventsA : Net.EventsB;
            Net.RunUntil(Net.Start + InitiationGivesUp, () => Expect(ike: 0, children: []) is null && initiatorEvents.OfType<IkeSaDown>().Any(d => !d.WasEstablished));
            var stuck = Expect(ike: 0, children: []) ?? (initiatorEvents.OfType<IkeSaDown>().Any(d => !d.WasEstablished) ? null : "no IkeSaDown");
            if (stuck is not null)
            {
                return $"{failure}; and the failed initiation did not end cleanly within {InitiationGivesUp.TotalSeconds:F0} s: {stuck}";
            }

            Retried = true;
            failure = Act("establish again", RecoveryBound, () => Side(moonInitiates).Initiate(Net.Now, ConfigName(moonInitiates)),
                () => Expect(ike: 1, children: ["net"]));
            if (failure is not null)
            {
                return failure;
            }
        }

        var established = Net.A.IkeSas.Single();
        var (spiI, spiR) = (established.SpiI, established.SpiR);
        var firstChild = Net.EventsA.OfType<ChildSaInstall>().Last().InboundSpi;
        switch (ScenarioKind)
        {
            case SimScenario.Establish:
                return Settle(() => Expect(ike: 1, children: ["net"]));

            case SimScenario.ChildRekeyMoon or SimScenario.ChildRekeySun or SimScenario.SimultaneousChildRekey:
            {
                var sides = ScenarioKind switch
                {
                    SimScenario.ChildRekeyMoon => new[] { true },
                    SimScenario.ChildRekeySun => [false],
                    _ => [true, false],
                };
                string? Why() => Expect(ike: 1, children: ["net"]) ?? (SameIke(spiI, spiR) ? null : "the IKE SA changed")
                    ?? (Net.A.IkeSas.Single().Children.Any(c => c.InboundSpi == firstChild) ? "the CHILD SA was not rekeyed" : null);
                failure = Act("child rekey", RecoveryBound, () =>
                {
                    foreach (var moon in sides)
                    {
                        Side(moon).IkeSas.Single().Children.Single().RekeyAt = Net.Now;
                    }
                }, Why);
                return failure ?? Settle(Why);
            }

            case SimScenario.IkeRekeyMoon or SimScenario.IkeRekeySun or SimScenario.SimultaneousIkeRekey:
            {
                var sides = ScenarioKind switch
                {
                    SimScenario.IkeRekeyMoon => new[] { true },
                    SimScenario.IkeRekeySun => [false],
                    _ => [true, false],
                };
                string? Why() => Expect(ike: 1, children: ["net"]) ?? (SameIke(spiI, spiR) ? "the IKE SA was not rekeyed" : null)
                    ?? (Net.A.IkeSas.Single().Children.Single().InboundSpi != firstChild ? "the CHILD SA did not move to the new IKE SA" : null);
                failure = Act("IKE rekey", RecoveryBound, () =>
                {
                    foreach (var moon in sides)
                    {
                        Side(moon).IkeSas.Single().IkeRekeyAt = Net.Now;
                    }
                }, Why);
                return failure ?? Settle(Why);
            }

            case SimScenario.IkeRekeyCrossingChildRekey:
            {
                // Moon rekeys the IKE SA while sun rekeys the CHILD SA (RFC 7296 §2.25): both must happen in the end.
                string? Why() => Expect(ike: 1, children: ["net"]) ?? (SameIke(spiI, spiR) ? "the IKE SA was not rekeyed" : null)
                    ?? (Net.A.IkeSas.Single().Children.Single().InboundSpi == firstChild ? "the CHILD SA was not rekeyed" : null);
                failure = Act("IKE rekey crossing a CHILD rekey", RecoveryBound, () =>
                {
                    Net.A.IkeSas.Single().IkeRekeyAt = Net.Now;
                    Net.B.IkeSas.Single().Children.Single().RekeyAt = Net.Now;
                }, Why);
                return failure ?? Settle(Why);
            }

            case SimScenario.CreateThenDeleteChildMoon or SimScenario.CreateThenDeleteChildSun:
            {
                var moon = ScenarioKind == SimScenario.CreateThenDeleteChildMoon;
                // One side creates "net2" with CREATE_CHILD_SA, the other deletes "net" (its hard lifetime ends now).
                failure = Act("create child", RecoveryBound, () => Side(moon).Initiate(Net.Now, ConfigName(moon), "net2"),
                    () => Expect(ike: 1, children: ["net", "net2"]));
                failure ??= Act("delete child", RecoveryBound, () => Side(!moon).IkeSas.Single().Children.Single(c => c.Config.Name == "net").ExpireAt = Net.Now,
                    () => Expect(ike: 1, children: ["net2"]));
                return failure ?? Settle(() => Expect(ike: 1, children: ["net2"]) ?? (SameIke(spiI, spiR) ? null : "the IKE SA changed"));
            }

            case SimScenario.DeleteIkeMoon or SimScenario.DeleteIkeSun:
            {
                var moon = ScenarioKind == SimScenario.DeleteIkeMoon;
                failure = Act("delete IKE SA", RecoveryBound, () => Side(moon).Terminate(Net.Now, ConfigName(moon)), () => Expect(ike: 0, children: []));
                return failure ?? Settle(() => Expect(ike: 0, children: []) ?? DownOnce(Net.EventsA) ?? DownOnce(Net.EventsB));
            }

            case SimScenario.DeleteIkeCrossingPeerChildRekey or SimScenario.DeleteIkeWhileOwnChildRekeyPending:
            {
                // Moon deletes the IKE SA while a CHILD rekey is in flight: sun's (the requests cross) or its own
                // (the delete has to wait for the window).
                var rekeyer = ScenarioKind == SimScenario.DeleteIkeWhileOwnChildRekeyPending;
                failure = Act("delete IKE SA during a CHILD rekey", RecoveryBound, () =>
                {
                    Side(rekeyer).IkeSas.Single().Children.Single().RekeyAt = Net.Now;
                    Side(rekeyer).HandleTimeout(Net.Now);
                    Net.A.Terminate(Net.Now, ConfigName(true));
                }, () => Expect(ike: 0, children: []));
                return failure ?? Settle(() => Expect(ike: 0, children: []) ?? DownOnce(Net.EventsA) ?? DownOnce(Net.EventsB));
            }

            case SimScenario.DeadPeerSunSilent or SimScenario.DeadPeerMoonSilent:
            {
                // The silent side is frozen (a crashed host): only the live side is checked.
                var liveMoon = ScenarioKind == SimScenario.DeadPeerSunSilent;
                var live = Side(liveMoon);
                var events = liveMoon ? Net.EventsA : Net.EventsB;
                string? Dead() => live.IkeSas.Count > 0 ? $"{live.IkeSas.Count} IKE SA(s) left on the live side"
                    : Live(events, out var why).Count > 0 ? "CHILD SAs left installed on the live side" : why
                    ?? (events.OfType<IkeSaDown>().Any(d => d.PeerDead) ? null : "no IkeSaDown with PeerDead");
                failure = Act("peer goes silent", DeadPeerBound, () =>
                {
                    if (liveMoon)
                    {
                        Net.SilentB = true;
                    }
                    else
                    {
                        Net.SilentA = true;
                    }
                }, Dead);
                return failure ?? Settle(Dead);
            }

            case SimScenario.Storm:
                return Storm();

            default:
                throw new ArgumentOutOfRangeException(nameof(ScenarioKind), ScenarioKind, null);
        }
    }

    /// <summary>
    /// Ten minutes under the profile without healing, with a random rekey (CHILD or IKE, either side or both at
    /// once) every 20–60 s, whether or not the previous one finished. Exchanges may run out of retransmissions
    /// and SAs may die here; that is allowed. What is checked once the path heals and everything has settled
    /// (DPD on both sides removes an SA the other side lost): both sides agree on the IKE SA (one, the same, or
    /// none), their CHILD SAs pair up with equal keys, and no configuration has two CHILD SAs.
    /// </summary>
    private string? Storm()
    {
        var actions = new Random(Seed);
        var end = Net.Now + TimeSpan.FromMinutes(10);
        Net.Profile = _profile;
        while (Net.Now < end)
        {
            Net.RunUntil(Net.Now + TimeSpan.FromSeconds(20 + (40 * actions.NextDouble())));
            var kind = actions.Next(4);
            var sides = actions.Next(3) switch { 0 => new[] { true }, 1 => [false], _ => [true, false] };
            Net.Do(now =>
            {
                foreach (var moon in sides)
                {
                    if (Side(moon).IkeSas.FirstOrDefault(sa => sa.State == IkeSaState.Established) is not { } sa)
                    {
                        continue;
                    }

                    if (kind == 0)
                    {
                        sa.IkeRekeyAt = now;
                    }
                    else if (sa.Children.FirstOrDefault(c => !c.Replaced) is { } child)
                    {
                        child.RekeyAt = now;
                    }
                }
            });
        }

        Net.Profile = NetworkProfile.Clean;
        Net.RunUntil(Net.Now + SettleTime);
        var ike = Net.A.IkeSas.Count;
        StormSurvived = ike == 1;
        var names = Live(Net.EventsA, out _).Values.Select(c => c.ChildName).ToArray();
        return Expect(ike, names) ?? (names.Distinct().Count() == names.Length ? null : $"duplicate CHILD SAs: {string.Join(",", names)}");
    }

    /// <summary>Storm: the IKE SA was still up at the end (else both sides agreed it was gone).</summary>
    public bool StormSurvived { get; private set; }

    /// <summary>Performs an action under the profile, heals the path after the hostile window, and waits for the expected state.</summary>
    private string? Act(string name, TimeSpan bound, Action action, Func<string?> expected)
    {
        var start = Net.Now;
        Net.Profile = _profile;
        Net.Do(_ => action());
        var reached = Net.RunUntil(start + HostileWindow, () => expected() is null);
        Net.Profile = NetworkProfile.Clean;
        reached ??= Net.RunUntil(start + bound, () => expected() is null);
        if (reached is null)
        {
            return $"{name}: not converged within {bound.TotalSeconds:F0} s: {expected()}";
        }

        _convergence[name] = reached.Value - start;
        return null;
    }

    /// <summary>Runs on past every retransmission timeout and checks the state again.</summary>
    private string? Settle(Func<string?> expected)
    {
        Net.RunUntil(Net.Now + SettleTime);
        return expected() is { } why ? $"after settling for {SettleTime.TotalMinutes:F0} min: {why}" : null;
    }

    private bool SameIke(ulong spiI, ulong spiR) => Net.A.IkeSas.Single() is var a && a.SpiI == spiI && a.SpiR == spiR;

    private static string? DownOnce(List<EngineEvent> events) =>
        events.OfType<IkeSaDown>().Count(d => d.WasEstablished) == 1 ? null : $"{events.OfType<IkeSaDown>().Count(d => d.WasEstablished)} IkeSaDown events of an established SA on one side";

    /// <summary>
    /// The agreement invariant plus the expected shape: <paramref name="ike"/> IKE SAs on each side (all established,
    /// same SPIs) and CHILD SAs of exactly these names, installed per the events, matching crosswise with their keys.
    /// </summary>
    private string? Expect(int ike, string[] children)
    {
        var a = Net.A.IkeSas.ToList();
        var b = Net.B.IkeSas.ToList();
        if (a.Count != ike || b.Count != ike)
        {
            return $"IKE SAs: moon {a.Count}, sun {b.Count}, expected {ike}";
        }

        if (a.Any(s => s.State != IkeSaState.Established) || b.Any(s => s.State != IkeSaState.Established))
        {
            return $"IKE SA states: moon {string.Join(",", a.Select(s => s.State))}, sun {string.Join(",", b.Select(s => s.State))}";
        }

        if (ike == 1 && (a[0].SpiI != b[0].SpiI || a[0].SpiR != b[0].SpiR))
        {
            return $"IKE SPIs differ: moon {a[0].SpiI:x16}_{a[0].SpiR:x16}, sun {b[0].SpiI:x16}_{b[0].SpiR:x16}";
        }

        var liveA = Live(Net.EventsA, out var whyA);
        var liveB = Live(Net.EventsB, out var whyB);
        if ((whyA ?? whyB) is { } bad)
        {
            return bad;
        }

        var objectsA = a.SelectMany(s => s.Children).Select(c => c.InboundSpi).Order().ToList();
        var objectsB = b.SelectMany(s => s.Children).Select(c => c.InboundSpi).Order().ToList();
        if (!objectsA.SequenceEqual(liveA.Keys.Order()) || !objectsB.SequenceEqual(liveB.Keys.Order()))
        {
            return $"installed CHILD SAs (events) differ from the SA objects: moon {liveA.Count}/{objectsA.Count}, sun {liveB.Count}/{objectsB.Count}";
        }

        var names = liveA.Values.Select(c => c.ChildName).Order().ToList();
        if (!names.SequenceEqual(children.Order()) || liveB.Count != liveA.Count)
        {
            return $"CHILD SAs: moon [{string.Join(",", liveA.Values.Select(c => $"{c.ChildName}:{c.InboundSpi:x8}"))}], sun [{string.Join(",", liveB.Values.Select(c => $"{c.ChildName}:{c.InboundSpi:x8}"))}], expected [{string.Join(",", children)}]";
        }

        foreach (var ca in liveA.Values)
        {
            if (!liveB.TryGetValue(ca.OutboundSpi, out var cb) || cb.OutboundSpi != ca.InboundSpi || cb.ChildName != ca.ChildName
                || !cb.InboundEncryptionKey.AsSpan().SequenceEqual(ca.OutboundEncryptionKey) || !cb.OutboundEncryptionKey.AsSpan().SequenceEqual(ca.InboundEncryptionKey)
                || !cb.InboundIntegrityKey.AsSpan().SequenceEqual(ca.OutboundIntegrityKey) || !cb.OutboundIntegrityKey.AsSpan().SequenceEqual(ca.InboundIntegrityKey))
            {
                return $"CHILD SA {ca.ChildName} {ca.InboundSpi:x8}/{ca.OutboundSpi:x8} has no matching peer half with the same keys";
            }
        }

        return null;
    }

    /// <summary>CHILD SAs installed and not removed, by inbound SPI; a removal of something not installed is a violation.</summary>
    private static Dictionary<uint, ChildSaInstall> Live(List<EngineEvent> events, out string? violation)
    {
        violation = null;
        var live = new Dictionary<uint, ChildSaInstall>();
        foreach (var e in events)
        {
            switch (e)
            {
                case ChildSaInstall c when !live.TryAdd(c.InboundSpi, c):
                    violation ??= $"CHILD SA {c.InboundSpi:x8} installed twice";
                    break;
                case ChildSaRemove r when !live.Remove(r.InboundSpi):
                    violation ??= $"CHILD SA {r.InboundSpi:x8} removed but not installed";
                    break;
            }
        }

        return live;
    }

    /// <summary>Same SPIs, message ID, direction and sender must mean the same bytes: a retransmission, never a new message.</summary>
    private string? WireInvariant() => FindMessageIdReuse(Net.Wire, Net.Start);

    /// <summary>The first protected message whose sender, SPIs, message ID and direction repeat with different bytes.</summary>
    internal static string? FindMessageIdReuse(IEnumerable<WireRecord> wire, DateTimeOffset start)
    {
        var seen = new Dictionary<(bool, ulong, ulong, uint, bool), byte[]>();
        foreach (var w in wire)
        {
            if (w.ProtectedIdentity is not { } id)
            {
                continue;
            }

            if (seen.TryGetValue(id, out var earlier) && !earlier.AsSpan().SequenceEqual(w.Datagram))
            {
                return $"message ID {id.Item4} reused by {(id.Item1 ? "moon" : "sun")} for a different {(id.Item5 ? "response" : "request")} under SPIs {id.Item2:x16}_{id.Item3:x16} at +{(w.Time - start).TotalSeconds:F3}s";
            }

            seen[id] = w.Datagram;
        }

        return null;
    }
}
