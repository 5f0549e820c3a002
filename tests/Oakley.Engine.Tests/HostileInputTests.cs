using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// Bad input never crashes the engine: recorded datagrams of a real exchange, mutated, are fed to both
/// endpoints; nothing may escape <see cref="Endpoint.HandleDatagram"/>, and the established SAs keep working.
/// </summary>
public class HostileInputTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a 200-byte fragment size: IKE_AUTH and CREATE_CHILD_SA are SKF fragments (RFC 7383)
    public void MutatedDatagrams_AreDroppedOrAnswered_NeverThrown(bool fragmented)
    {
        var settings = fragmented ? new EngineSettings { FragmentSize = 200 } : new EngineSettings();
        var recorder = new Scenario { MoonSettings = settings, SunSettings = settings }.Build();
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
        Assert.Equal(fragmented, recorded.Any(d => Protocol.Ikev2.IkeMessage.Decode(d).Payloads[^1] is Protocol.Ikev2.Payloads.EncryptedFragmentPayload));

        // A different seed: the recorded messages are well-formed but protected with other keys.
        var pair = new Scenario { Seed = 2, MoonSettings = settings, SunSettings = settings }.Build();
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

        // Nothing unauthenticated was kept for reassembly (the recorded fragments carry other keys).
        Assert.All(pair.A.IkeSas.Concat(pair.B.IkeSas), sa => Assert.True((sa.RequestFragments?.IsEmpty ?? true) && (sa.ResponseFragments?.IsEmpty ?? true)));

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
