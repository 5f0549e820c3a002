using System.Diagnostics;
using Oakley.Crypto.Registry;
using Oakley.Esp;
using Oakley.Host;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley bench esp</c>: seal and open throughput of one core, per AEAD and packet size, in Gbit/s of
/// payload and Mpps. Open is measured over a batch of distinct pre-sealed packets (each opened once, so the
/// anti-replay window sees what a receiver sees).
/// </summary>
internal static class EspBench
{
    public static int Run(TimeSpan perCase)
    {
        Console.WriteLine($"{"suite",-18} {"size",5} {"seal Gbit/s",12} {"seal Mpps",10} {"open Gbit/s",12} {"open Mpps",10}");
        foreach (var suite in new[] { "aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128-sha256", "aes256-sha256" })
        {
            foreach (var size in new[] { 64, 512, 1400 })
            {
                var (sealPps, openPps) = Measure(suite, size, perCase);
                Console.WriteLine($"{suite,-18} {size,5} {sealPps * size * 8 / 1e9,12:F2} {sealPps / 1e6,10:F2} {openPps * size * 8 / 1e9,12:F2} {openPps / 1e6,10:F2}");
            }
        }

        return 0;
    }

    private static EspSa Create(string suite)
    {
        var p = ProposalString.Parse(suite, ProtocolId.Esp);
        var encr = p.OfType(TransformType.Encryption).Single();
        var encryption = TransformRegistry.GetEncryption((EncrId)encr.Id, encr.KeyLengthBits)!;
        var integrity = p.OfType(TransformType.Integrity).Select(t => TransformRegistry.GetIntegrity((IntegId)t.Id)).FirstOrDefault();
        return new EspSa(0x2000, encryption, new byte[encryption.KeyMaterialSize], integrity, new byte[integrity?.KeySize ?? 0], false, 4096, new SystemEntropy());
    }

    private static (double Seal, double Open) Measure(string suite, int size, TimeSpan duration)
    {
        const int batch = 4096;
        var payload = new byte[size];
        var stride = size + 64;
        var packets = new byte[batch * stride];
        var lengths = new int[batch];
        var back = new byte[stride];

        using var tx = Create(suite);
        long sealed_ = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            for (var i = 0; i < batch; i++)
            {
                tx.Seal(payload, 4, packets.AsSpan(i * stride, stride), out lengths[i]);
            }

            sealed_ += batch;
        }

        var sealPps = sealed_ / sw.Elapsed.TotalSeconds;

        // Open: each round seals a fresh batch (not timed) and opens it once with a receiver that has seen the
        // previous rounds, so sequence numbers keep advancing as on a real SA.
        using var tx2 = Create(suite);
        using var rx = Create(suite);
        long opened = 0;
        var openTime = TimeSpan.Zero;
        while (openTime < duration)
        {
            for (var i = 0; i < batch; i++)
            {
                tx2.Seal(payload, 4, packets.AsSpan(i * stride, stride), out lengths[i]);
            }

            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < batch; i++)
            {
                if (rx.Open(packets.AsSpan(i * stride, lengths[i]), back, out _, out _) != EspOpenResult.Ok)
                {
                    throw new InvalidOperationException("open failed during the benchmark");
                }
            }

            openTime += Stopwatch.GetElapsedTime(start);
            opened += batch;
        }

        return (sealPps, opened / openTime.TotalSeconds);
    }
}
