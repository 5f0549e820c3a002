using System.Diagnostics;
using CsCheck;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Xunit.Abstractions;

namespace Oakley.Protocol.Tests.Ikev2;

/// <summary>
/// At least 200,000 hostile inputs built from valid messages: truncations, bit flips, length-field edits,
/// next-payload rewrites (including self-loops), and random bytes. Only IkeProtocolException may escape.
/// </summary>
public class Ikev2RobustnessTests(ITestOutputHelper output)
{
    private const int Iterations = 200_000;

    [Fact]
    public void MutatedMessages_OnlyRaiseTheProtocolException()
    {
        var seeds = new List<byte[]>();
        Ikev2Generators.Message.Sample(m => seeds.Add(m.Encode()), iter: 200, seed: "0000FuzzSeed");
        seeds.Add(TestHex.Parse("c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e2025000000000900000045290000291011121314151617610394701f8d017f7c129248896b71bfe25236efd7cdc67066906315b2"));

        var random = new Random(7296);
        var counts = new int[2];
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < Iterations; i++)
        {
            var input = Mutate(seeds[random.Next(seeds.Count)], random);
            try
            {
                var m = IkeMessage.Decode(input);
                m.Encode(); // anything accepted must also re-encode
                counts[0]++;
            }
            catch (IkeProtocolException)
            {
                counts[1]++;
            }
        }

        sw.Stop();
        output.WriteLine($"{Iterations} inputs in {sw.Elapsed.TotalSeconds:F2} s: {counts[0]} accepted, {counts[1]} rejected with IkeProtocolException");
        Assert.True(counts[1] > Iterations / 10, "the mutator should produce mostly invalid input");
    }

    internal static byte[] Mutate(byte[] seed, Random random)
    {
        var b = (byte[])seed.Clone();
        var kind = random.Next(7);
        switch (kind)
        {
            case 0: // truncation, with the header length patched so that the header check passes
                b = b[..random.Next(b.Length + 1)];
                PatchLength(b);
                break;
            case 1: // bit flips
                for (var n = random.Next(1, 8); n > 0 && b.Length > 0; n--)
                {
                    b[random.Next(b.Length)] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 2: // edit a 16-bit length field of some payload (any offset past the header)
                if (b.Length > 31)
                {
                    var o = 28 + random.Next(b.Length - 29);
                    var v = random.Next(3) switch { 0 => 0, 1 => random.Next(0, 8), _ => random.Next(65536) };
                    b[o] = (byte)(v >> 8);
                    b[o + 1] = (byte)v;
                }

                break;
            case 3: // next-payload rewrite, often pointing a payload at itself
                if (b.Length > 28)
                {
                    var o = random.Next(2) == 0 ? 16 : 28 + random.Next(b.Length - 28);
                    b[o] = random.Next(3) switch { 0 => b[o], 1 => (byte)random.Next(33, 54), _ => (byte)random.Next(256) };
                    if (o != 16 && b[o] == b[16])
                    {
                        b[o] = b[16]; // self-loop on the first payload type
                    }
                }

                break;
            case 4: // random bytes behind a valid header
                var tail = new byte[random.Next(0, 200)];
                random.NextBytes(tail);
                b = [.. b.AsSpan(0, Math.Min(28, b.Length)), .. tail];
                PatchLength(b);
                break;
            case 5: // extension with junk
                var extra = new byte[random.Next(1, 40)];
                random.NextBytes(extra);
                b = [.. b, .. extra];
                if (random.Next(2) == 0)
                {
                    PatchLength(b);
                }

                break;
            default: // fully random
                b = new byte[random.Next(0, 120)];
                random.NextBytes(b);
                if (b.Length >= 28)
                {
                    b[17] = 0x20;
                    PatchLength(b);
                }

                break;
        }

        return b;
    }

    private static void PatchLength(byte[] b)
    {
        if (b.Length >= 28)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(24), (uint)b.Length);
        }
    }
}
