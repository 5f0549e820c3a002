using CsCheck;

namespace Oakley.Esp.Tests;

/// <summary>The anti-replay window against a reference model: a set of every sequence number accepted.</summary>
public class ReplayWindowTests
{
    /// <summary>Reference: accept iff not seen, not 0, and not at or beyond the window's trailing edge.</summary>
    private sealed class Model(int size)
    {
        private readonly HashSet<ulong> _seen = [];
        private ulong _top;

        public bool Accept(ulong seq)
        {
            if (seq == 0 || _seen.Contains(seq) || (seq <= _top && _top - seq >= (ulong)size))
            {
                return false;
            }

            _seen.Add(seq);
            _top = Math.Max(_top, seq);
            return true;
        }
    }

    private static readonly Gen<(int Size, ulong Start, List<long> Steps)> Scenario =
        Gen.Select(Gen.OneOf(Gen.Const(32), Gen.Const(64), Gen.Const(128), Gen.Const(1024), Gen.Const(4096)),
            Gen.OneOf(Gen.Const(1UL), Gen.ULong[1, 1000], Gen.Const((ulong)uint.MaxValue - 50)),
            Gen.Long[-300, 60].List[1, 400]);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatchesTheReferenceModel_WithReorderingDuplicatesAndEsnWrap(bool esn)
    {
        Scenario.Sample(s =>
        {
            var window = new ReplayWindow(s.Size, esn);
            var model = new Model(s.Size);
            var next = s.Start;
            // Both start from the first packet: a receiver always has state before the 32-bit wrap.
            Assert.True(window.Check((uint)s.Start, out var first) && first == s.Start);
            window.Update(first);
            model.Accept(s.Start);
            foreach (var step in s.Steps)
            {
                // Mostly moving forward, sometimes back (reordering, duplicates): a walk around the front.
                var candidate = (long)next + step;
                if (candidate < 1)
                {
                    continue;
                }

                var seq = (ulong)candidate;
                if (!esn && seq > uint.MaxValue)
                {
                    continue;
                }

                next = Math.Max(next, seq);
                var expected = model.Accept(seq);
                var ok = window.Check((uint)seq, out var inferred) && inferred == seq;
                if (ok)
                {
                    window.Update(seq);
                }

                Assert.True(expected == ok, $"size {s.Size} start {s.Start} seq {seq} (0x{seq:x}) top {window.Highest} (0x{window.Highest:x}) inferred {inferred} expected {expected}");
            }
        }, iter: 2000, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void Esn_InfersTheHighHalfAcrossTheWrap()
    {
        var w = new ReplayWindow(64, true);
        Assert.True(w.Check(uint.MaxValue - 1, out var s1));
        w.Update(s1);
        Assert.True(w.Check(3, out var s2)); // after the wrap: high half 1
        Assert.Equal(0x1_0000_0003UL, s2);
        w.Update(s2);
        Assert.True(w.Check(uint.MaxValue, out var s3)); // late packet from before the wrap
        Assert.Equal((ulong)uint.MaxValue, s3);
        w.Update(s3);
        Assert.False(w.Check(uint.MaxValue, out _));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(100)]
    [InlineData(70000)]
    public void InvalidSizes_AreRejected(int size) => Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayWindow(size, false));
}
