using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// Bad input never crashes the engine: recorded datagrams of a real exchange, mutated, are fed to both
/// endpoints; nothing may escape <see cref="Endpoint.HandleDatagram"/>, and the established SAs keep working.
/// </summary>
public class HostileInputTests
{
    [Fact]
    public void MutatedDatagrams_AreDroppedOrAnswered_NeverThrown()
    {
        var recorder = new Scenario().Build();
        var recorded = new List<byte[]>();
        recorder.Filter = (_, t) =>
        {
            recorded.Add(t.Datagram);
            return 1;
        };
        recorder.Initiate(true);
        recorder.A.Initiate(recorder.Now, "moon-sun", "net2");
        recorder.Deliver();
        Assert.True(recorded.Count >= 6);

        // A different seed: the recorded messages are well-formed but protected with other keys.
        var pair = new Scenario { Seed = 2 }.Build();
        pair.Initiate(true);
        var random = new Random(4303);
        for (var i = 0; i < 20_000; i++)
        {
            var input = (byte[])recorded[random.Next(recorded.Count)].Clone();
            switch (random.Next(4))
            {
                case 0:
                    input[random.Next(input.Length)] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    input = input[..random.Next(input.Length + 1)];
                    break;
                case 2:
                    // Graft the live SA's SPIs onto a recorded message, so that it reaches the SA's parsers and crypto.
                    var live = pair.A.IkeSas.First(s => s.IsOriginalInitiator);
                    if (input.Length >= 28)
                    {
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(input, live.SpiI);
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(8), live.SpiR);
                        input[20 + random.Next(4)] = (byte)random.Next(4);
                    }

                    break;
                default:
                    random.NextBytes(input.AsSpan(random.Next(input.Length)));
                    break;
            }

            (random.Next(2) == 0 ? pair.A : pair.B).HandleDatagram(pair.Now, Scenario.MoonAddress, Scenario.SunAddress, input);
            while (pair.A.TryPollTransmit(out _) || pair.B.TryPollTransmit(out _))
            {
                // answers to garbage (INVALID_IKE_SPI, ...) are not delivered
            }
        }

        // The established SA still works (replayed IKE_SA_INIT requests may have left half-open SAs, which time out).
        var established = pair.A.IkeSas.Single(s => s.IsOriginalInitiator);
        Assert.Equal(IkeSaState.Established, established.State);
        Assert.True(established.SendLivenessCheck(pair.Now));
        pair.Deliver();
        Assert.EndsWith("INFORMATIONAL response #2 [EncryptedAndAuthenticated]", pair.Log[^1], StringComparison.Ordinal);
        Assert.True(pair.A.HalfOpenCount <= pair.A.Settings.CookieThreshold + 1);
        pair.AdvanceBy(TimeSpan.FromSeconds(31));
        Assert.Equal(0, pair.A.HalfOpenCount);
        Assert.True(pair.A.Stats.Dropped.Values.Sum() + pair.B.Stats.Dropped.Values.Sum() > 10_000);
    }
}
