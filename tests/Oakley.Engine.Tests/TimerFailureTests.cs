using Oakley.Crypto;

namespace Oakley.Engine.Tests;

/// <summary>
/// An unexpected exception in one SA's timer work (a bug) must not escape <see cref="Endpoint.HandleTimeout"/>: the
/// host's engine loop would end and every other SA with it. The SA is destroyed, counted and reported instead.
/// </summary>
public class TimerFailureTests
{
    /// <summary>Entropy that throws once <see cref="Fail"/> is set (a stand-in for any bug on a timer's path).</summary>
    private sealed class BreakableEntropy(IEntropySource inner) : IEntropySource
    {
        public bool Fail { get; set; }

        public void Fill(Span<byte> destination)
        {
            if (Fail)
            {
                throw new InvalidOperationException("entropy broke");
            }

            inner.Fill(destination);
        }
    }

    [Fact]
    public void AThrowingRekey_DestroysThatSa_AndTheEndpointKeepsRunning()
    {
        BreakableEntropy? entropy = null;
        var scenario = new Scenario { MoonIkeRekey = TimeSpan.FromMinutes(10), MoonEntropy = e => entropy = new BreakableEntropy(e) };
        var pair = scenario.Build();
        pair.Initiate(true);
        Assert.Single(pair.A.IkeSas);

        entropy!.Fail = true; // the rekey's nonce and KE need entropy
        pair.AdvanceBy(TimeSpan.FromMinutes(11)); // without the catch this throws out of HandleTimeout
        var down = Assert.Single(pair.EventsA.OfType<IkeSaDown>());
        Assert.Contains("internal error in its timer: InvalidOperationException: entropy broke", down.Reason, StringComparison.Ordinal);
        Assert.Equal(1, pair.A.Stats.TimerFailures);
        Assert.Empty(pair.A.IkeSas);

        // The endpoint still works: with entropy back, a new IKE SA comes up.
        entropy.Fail = false;
        pair.Initiate(true);
        Assert.Single(pair.A.IkeSas, sa => sa.State == IkeSaState.Established);
    }
}
