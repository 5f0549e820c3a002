using CsCheck;
using Oakley.Engine;
using Oakley.Protocol.Ikev2;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// Property tests of IKE fragment reassembly (RFC 7383 §2.6): fragments in any order, duplicated, or with one
/// missing. A message is delivered exactly once, byte for byte, when its last missing fragment arrives; nothing is
/// held afterwards, and a partial message is freed by its timeout. Checked on <see cref="FragmentReassembly"/>
/// directly and through two engines with real IKE_AUTH fragments.
/// </summary>
public class FragmentReassemblyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>A delivery: fragment count, the order of the fragment numbers (0-based) with duplicates, and the one left out (-1: none).</summary>
    private static Gen<(int Total, List<int> Order, int Missing)> Delivery(int maxTotal) =>
        Gen.Int[1, maxTotal].SelectMany(n => Gen.Select(
            Gen.Double.Array[n],
            Gen.Select(Gen.Int[0, n - 1], Gen.Double).List[0, 2 * n],
            Gen.Int[-1, n - 1],
            (keys, dups, missing) =>
            {
                var order = keys.Select((k, i) => (Key: k, Index: i)).Concat(dups.Select(d => (Key: d.Item2, Index: d.Item1)))
                    .OrderBy(x => x.Key).Select(x => x.Index).Where(i => i != missing).ToList();
                return (n, order, missing);
            }));

    [Fact]
    public void AnyOrderAnyDuplication_DeliversOnceWhenComplete_AndKeepsNothing()
    {
        Gen.Select(Delivery(24), Gen.Byte.Array[1, 60].Array[24], Gen.Bool).Sample(x =>
        {
            var ((total, order, missing), pieces, firstIsNotify) = x;
            var first = firstIsNotify ? PayloadType.Notify : PayloadType.IdentificationInitiator;
            var buffer = new FragmentReassembly(255, 10000, Timeout);
            var seen = new HashSet<int>();
            var completions = 0;
            var duplicates = 0;
            foreach (var i in order)
            {
                Assert.Equal(0, completions); // the SA stops feeding a message once it is complete
                var outcome = buffer.Add(T0, 7, (ushort)(i + 1), (ushort)total, i == 0 ? first : PayloadType.None, pieces[i], out var message, out var firstInner);
                var fresh = seen.Add(i);
                if (!fresh)
                {
                    duplicates++;
                    Assert.Equal(FragmentOutcome.Duplicate, outcome);
                }
                else if (seen.Count == total)
                {
                    Assert.Equal(FragmentOutcome.Complete, outcome);
                    Assert.Equal(pieces.Take(total).SelectMany(p => p).ToArray(), message);
                    Assert.Equal(first, firstInner);
                    completions++;
                    Assert.True(buffer.IsEmpty);
                    Assert.Equal(0, buffer.BufferedBytes);
                    Assert.Equal(DateTimeOffset.MaxValue, buffer.Deadline);
                    break;
                }
                else
                {
                    Assert.Equal(FragmentOutcome.Kept, outcome);
                    Assert.Null(message);
                    Assert.Equal(seen.Sum(s => pieces[s].Length), buffer.BufferedBytes);
                }
            }

            Assert.Equal(missing < 0 ? 1 : 0, completions);
            if (completions == 0)
            {
                // Incomplete: held until the deadline, then freed.
                Assert.Equal(order.Count == 0, buffer.IsEmpty);
                Assert.False(buffer.Expire(T0 + Timeout - TimeSpan.FromTicks(1)));
                Assert.Equal(order.Count > 0, buffer.Expire(T0 + Timeout));
                Assert.True(buffer.IsEmpty);
                Assert.Equal(0, buffer.BufferedBytes);
            }
        }, iter: 2000);
    }

    [Fact]
    public void InterleavedMessageIds_MatchTheModel_NewerDiscardsOlder()
    {
        // Fragments of message IDs 1..3 with totals per ID, in any order; the model: an older ID than the current
        // one is stale, a newer one discards the partial message and starts over.
        var gen = Gen.Select(Gen.Int[1, 6].Array[3], Gen.Select(Gen.Int[1, 3], Gen.Int[0, 5]).List[1, 40]);
        gen.Sample(x =>
        {
            var (totals, steps) = x;
            var buffer = new FragmentReassembly(255, 10000, Timeout);
            uint? current = null;
            var held = new HashSet<int>();
            foreach (var (id, raw) in steps)
            {
                var total = totals[id - 1];
                var number = raw % total;
                var outcome = buffer.Add(T0, (uint)id, (ushort)(number + 1), (ushort)total, PayloadType.None, [(byte)id, (byte)number], out var message, out _);
                FragmentOutcome expected;
                if (current is { } c && id < c)
                {
                    expected = FragmentOutcome.Stale;
                }
                else
                {
                    if (current != (uint)id)
                    {
                        held.Clear();
                        current = (uint)id;
                    }

                    expected = !held.Add(number) ? FragmentOutcome.Duplicate : held.Count == total ? FragmentOutcome.Complete : FragmentOutcome.Kept;
                    if (expected == FragmentOutcome.Complete)
                    {
                        Assert.Equal(Enumerable.Range(0, total).SelectMany(n => new[] { (byte)id, (byte)n }).ToArray(), message);
                        held.Clear();
                        current = null;
                    }
                }

                Assert.Equal(expected, outcome);
                Assert.Equal(current is null, buffer.IsEmpty);
                Assert.Equal(held.Count * 2, buffer.BufferedBytes);
            }
        }, iter: 2000);
    }

    [Fact]
    public void Bounds_TooManyFragmentsOrBytes_FreeThePartialMessage()
    {
        var buffer = new FragmentReassembly(4, 100, Timeout);
        Assert.Equal(FragmentOutcome.TooLarge, buffer.Add(T0, 1, 1, 5, PayloadType.None, new byte[10], out _, out _));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(FragmentOutcome.Kept, buffer.Add(T0, 1, 1, 3, PayloadType.None, new byte[60], out _, out _));
        Assert.Equal(FragmentOutcome.TooLarge, buffer.Add(T0, 1, 2, 3, PayloadType.None, new byte[41], out _, out _));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(0, buffer.BufferedBytes);
        // A larger Total Fragments (re-fragmented for a smaller MTU, RFC 7383 §2.5.2) starts over; a smaller one is stale.
        Assert.Equal(FragmentOutcome.Kept, buffer.Add(T0, 2, 1, 2, PayloadType.None, new byte[5], out _, out _));
        Assert.Equal(FragmentOutcome.Kept, buffer.Add(T0, 2, 1, 3, PayloadType.None, new byte[3], out _, out _));
        Assert.Equal(3, buffer.BufferedBytes);
        Assert.Equal(FragmentOutcome.Stale, buffer.Add(T0, 2, 2, 2, PayloadType.None, new byte[5], out _, out _));
        Assert.Equal(3, buffer.BufferedBytes);
    }

    [Fact]
    public void ThroughTheEngine_IkeAuthFragmentsInAnyOrderWithDuplicates_EstablishOnce_OrTimeOut()
    {
        var settings = new EngineSettings { FragmentSize = 160, FragmentTimeout = TimeSpan.FromSeconds(2) };
        Gen.Select(Gen.Int[1, 100_000], Gen.Double.Array[12], Gen.Int[0, 12].Array[12], Gen.Int[-3, 11]).Sample(x =>
        {
            var (seed, keys, copies, missingPick) = x;
            var pair = new Scenario { Seed = seed, MoonSettings = settings, SunSettings = settings }.Build();
            var held = new List<Transmit>();
            pair.Filter = (fromA, t) =>
            {
                var m = Protocol.Ikev2.IkeMessage.Decode(t.Datagram);
                if (fromA && m.ExchangeType == ExchangeType.IkeAuth && !m.IsResponse)
                {
                    held.Add(t);
                    return 0;
                }

                return 1;
            };
            pair.Initiate(true);
            var n = held.Count;
            Assert.True(n >= 3, $"{n} fragments");
            Assert.True(n <= 12);
            var missing = missingPick < 0 || missingPick >= n ? -1 : missingPick; // mostly complete
            var order = Enumerable.Range(0, n).SelectMany(i => Enumerable.Repeat(i, 1 + (copies[i] / 5)))
                .Select((i, k) => (Key: keys[i] + (k * 0.001), Index: i)).OrderBy(p => p.Key).Select(p => p.Index)
                .Where(i => i != missing).ToList();
            pair.Filter = (_, _) => 1;
            foreach (var i in order)
            {
                var t = held[i];
                pair.B.HandleDatagram(pair.Now, t.Remote, t.Local, t.Datagram);
            }

            pair.Deliver();
            var sun = pair.B.IkeSas.Single();
            if (missing < 0)
            {
                Assert.Single(pair.EventsB.OfType<IkeSaUp>());
                Assert.Single(pair.EventsA.OfType<IkeSaUp>());
                Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
                Assert.Equal(1, pair.B.Stats.MessagesReassembled);
                Assert.True(sun.RequestFragments!.IsEmpty);
            }
            else
            {
                Assert.Empty(pair.EventsB.OfType<IkeSaUp>());
                Assert.Equal(0, pair.B.Stats.MessagesReassembled);
                Assert.False(sun.RequestFragments!.IsEmpty);
                pair.AdvanceBy(TimeSpan.FromSeconds(2)); // before the initiator's first retransmission at 4 s
                Assert.True(sun.RequestFragments.IsEmpty);
                Assert.Equal(0, sun.RequestFragments.BufferedBytes);
                Assert.Equal(1, pair.B.Stats.Dropped.GetValueOrDefault("fragment reassembly timed out"));
            }
        }, iter: 60);
    }
}
