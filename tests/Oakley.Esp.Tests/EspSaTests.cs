using System.Text.Json;
using Oakley.Crypto;
using Oakley.Crypto.Registry;
using Oakley.Iana;

namespace Oakley.Esp.Tests;

internal sealed class Seeded(int seed) : IEntropySource
{
    private readonly Random _r = new(seed);

    public void Fill(Span<byte> destination) => _r.NextBytes(destination);
}

public class EspSaTests
{
    private static EspSa Sa(string esp, uint spi, bool esn = false, int window = 64, int keySeed = 7)
    {
        var p = ProposalString.Parse(esp, ProtocolId.Esp);
        var encr = p.OfType(TransformType.Encryption).Single();
        var encryption = TransformRegistry.GetEncryption((EncrId)encr.Id, encr.KeyLengthBits)!;
        var integ = p.OfType(TransformType.Integrity).Select(t => TransformRegistry.GetIntegrity((IntegId)t.Id)).FirstOrDefault();
        var r = new Random(keySeed);
        var ek = new byte[encryption.KeyMaterialSize];
        r.NextBytes(ek);
        var ik = new byte[integ?.KeySize ?? 0];
        r.NextBytes(ik);
        return new EspSa(spi, encryption, ek, integ, ik, esn, window, new Seeded(keySeed));
    }

    [Fact]
    public void Rfc7634_AppendixA_EspPacket()
    {
        // RFC 7634 Appendix A: SPI 0x01020304, sequence number 5, IV 1011121314151617, the given key and salt.
        var v = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "rfc7634.json"))).RootElement.GetProperty("vectors")[0];
        string H(string n) => v.GetProperty(n).GetString()!;
        var plaintext = Convert.FromHexString(H("plaintext"));
        // The vector's plaintext is the ESP payload with its trailer: the inner IPv4 packet is its first 84 bytes.
        var inner = plaintext.AsSpan(0, 84).ToArray();
        Assert.Equal(4, plaintext[^1]); // next header: IPv4
        var encryption = TransformRegistry.GetEncryption(EncrId.ChaCha20Poly1305, 0)!;
        using var sa = new EspSa(0x01020304, encryption, Convert.FromHexString(H("key") + H("salt")), null, default, false, 64, new Seeded(1));
        for (var i = 0; i < 4; i++)
        {
            sa.Seal([0], 59, new byte[128], out _); // sequence numbers 1..4
        }

        var output = new byte[256];
        Assert.Equal(EspSealResult.Ok, sa.Seal(inner, 4, output, out var n, Convert.FromHexString(H("iv"))));
        Assert.Equal(H("aad") + H("iv") + H("ciphertext_and_tag"), Convert.ToHexStringLower(output.AsSpan(0, n)));

        using var receiver = new EspSa(0x01020304, encryption, Convert.FromHexString(H("key") + H("salt")), null, default, false, 64, new Seeded(2));
        var back = new byte[256];
        Assert.Equal(EspOpenResult.Ok, receiver.Open(output.AsSpan(0, n), back, out var length, out var nh));
        Assert.Equal(4, nh);
        Assert.Equal(inner, back.AsSpan(0, length).ToArray());
    }

    public static TheoryData<string, bool> Suites => new()
    {
        { "aes128gcm16", false }, { "aes256gcm16", true }, { "aes128gcm8", false }, { "aes256gcm12", false },
        { "chacha20poly1305", false }, { "chacha20poly1305-esn", true }, { "aes128ccm16", false },
        { "aes128-sha1", false }, { "aes256-sha256", true }, { "aes192-sha384", false }, { "aes256-sha512", false },
        { "aes128ctr-sha256", false }, { "aes256ctr-aesxcbc", false }, { "3des-sha1", false }, { "null-sha256", false },
        { "aes256gmac", false }, { "aes128-aescmac", true },
    };

    [Theory]
    [MemberData(nameof(Suites))]
    public void SealOpen_RoundTrips_AtManySizes(string esp, bool esn)
    {
        using var tx = Sa(esp + (esn && !esp.EndsWith("-esn", StringComparison.Ordinal) ? "-esn" : string.Empty), 0xAABBCCDD, esn);
        using var rx = Sa(esp + (esn && !esp.EndsWith("-esn", StringComparison.Ordinal) ? "-esn" : string.Empty), 0xAABBCCDD, esn);
        var packet = new byte[2000];
        var back = new byte[2000];
        foreach (var size in new[] { 0, 1, 20, 63, 64, 100, 1400 })
        {
            var payload = Enumerable.Range(0, size).Select(i => (byte)(i * 13)).ToArray();
            Assert.Equal(EspSealResult.Ok, tx.Seal(payload, 41, packet, out var n));
            Assert.True(n <= tx.MaxSealedLength(size));
            Assert.Equal(0, (n - EspSa.HeaderSize - TransformIv(esp) - TransformIcv(esp)) % 4); // RFC 4303 §2.4 alignment
            Assert.Equal(EspOpenResult.Ok, rx.Open(packet.AsSpan(0, n), back, out var length, out var nh));
            Assert.Equal(41, nh);
            Assert.Equal(payload, back.AsSpan(0, length).ToArray());
        }

        Assert.Equal(7, rx.Packets);
    }

    private static int TransformIv(string esp) => esp.StartsWith("null", StringComparison.Ordinal) ? 0 : esp.StartsWith("3des", StringComparison.Ordinal) ? 8 : esp.Contains("gcm", StringComparison.Ordinal) || esp.Contains("ccm", StringComparison.Ordinal) || esp.Contains("chacha", StringComparison.Ordinal) || esp.Contains("ctr", StringComparison.Ordinal) || esp.Contains("gmac", StringComparison.Ordinal) ? 8 : 16;

    private static int TransformIcv(string esp) => esp switch
    {
        _ when esp.Contains("gcm8", StringComparison.Ordinal) => 8,
        _ when esp.Contains("gcm12", StringComparison.Ordinal) => 12,
        _ when esp.Contains("gcm", StringComparison.Ordinal) || esp.Contains("ccm16", StringComparison.Ordinal) || esp.Contains("chacha", StringComparison.Ordinal) || esp.Contains("gmac", StringComparison.Ordinal) => 16,
        _ when esp.Contains("sha512", StringComparison.Ordinal) => 32,
        _ when esp.Contains("sha384", StringComparison.Ordinal) => 24,
        _ when esp.Contains("sha256", StringComparison.Ordinal) => 16,
        _ => 12,
    };

    [Theory]
    [InlineData("aes128gcm16")]
    [InlineData("aes128-sha256")]
    public void Replay_IsRejected_AndTamperingIsBadIcv(string esp)
    {
        using var tx = Sa(esp, 1);
        using var rx = Sa(esp, 1);
        var packet = new byte[200];
        var back = new byte[200];
        tx.Seal(new byte[50], 4, packet, out var n);
        var copy = packet.AsSpan(0, n).ToArray();
        Assert.Equal(EspOpenResult.Ok, rx.Open(copy, back, out _, out _));
        Assert.Equal(EspOpenResult.Replay, rx.Open(copy, back, out _, out _));

        tx.Seal(new byte[50], 4, packet, out n);
        var tampered = packet.AsSpan(0, n).ToArray();
        tampered[20] ^= 1;
        Assert.Equal(EspOpenResult.BadIcv, rx.Open(tampered, back, out _, out _));
        // A forged packet must not advance the window: the genuine one is still accepted.
        Assert.Equal(EspOpenResult.Ok, rx.Open(packet.AsSpan(0, n), back, out _, out _));
        Assert.Equal(EspOpenResult.ShortPacket, rx.Open(packet.AsSpan(0, 10), back, out _, out _));
    }

    [Fact]
    public void DummyPackets_AreAuthenticatedThenDropped()
    {
        using var tx = Sa("aes128gcm16", 9);
        using var rx = Sa("aes128gcm16", 9);
        var packet = new byte[100];
        tx.Seal(new byte[10], 59, packet, out var n);
        Assert.Equal(EspOpenResult.Dummy, rx.Open(packet.AsSpan(0, n), new byte[100], out _, out _));
    }

    [Fact]
    public void BadPadding_IsDetected_AfterAuthentication()
    {
        // NULL encryption with HMAC-SHA-256-128: build an authentic packet whose padding is not 1, 2, 3, ...
        using var rx = Sa("null-sha256", 3, keySeed: 11);
        var r = new Random(11);
        var integrityKey = new byte[32];
        r.NextBytes(integrityKey); // Sa() draws the (empty) encryption key, then the integrity key, from the same seed
        byte[] body = [0, 0, 0, 3, 0, 0, 0, 1, /* payload */ 0x45, 0x00, 0x00, 0x00, /* pad */ 1, 9, /* pad length */ 2, /* next header */ 4];
        var icv = System.Security.Cryptography.HMACSHA256.HashData(integrityKey, body).AsSpan(0, 16).ToArray();
        Assert.Equal(EspOpenResult.BadPadding, rx.Open([.. body, .. icv], new byte[64], out _, out _));
        // The same packet with correct padding is accepted.
        body[13] = 2;
        body[7] = 2; // a new sequence number: the bad one counted (it was authentic)
        icv = System.Security.Cryptography.HMACSHA256.HashData(integrityKey, body).AsSpan(0, 16).ToArray();
        Assert.Equal(EspOpenResult.Ok, rx.Open([.. body, .. icv], new byte[64], out var length, out var nh));
        Assert.Equal((4, 4), (length, (int)nh));
    }

    /// <summary>
    /// The packet path must not allocate once warm (issue: "nothing is allocated per packet in steady state").
    /// Allocation counts are exact, so this is a test and not a benchmark; the BenchmarkDotNet figures are in
    /// docs/benchmarks.md.
    /// </summary>
    [Theory]
    [InlineData("aes128gcm16", false)]
    [InlineData("aes256gcm16", true)]
    [InlineData("chacha20poly1305", false)]
    [InlineData("aes128-sha256", false)]
    [InlineData("aes256-sha512", true)]
    [InlineData("aes128ctr-sha256", false)]
    public void SealAndOpen_AllocateNothingOnceWarm(string esp, bool esn)
    {
        using var tx = Sa(esp, 0x42, esn);
        using var rx = Sa(esp, 0x42, esn);
        var payload = new byte[1400];
        var packet = new byte[1600];
        var back = new byte[1600];
        for (var i = 0; i < 20; i++)
        {
            tx.Seal(payload, 4, packet, out var n);
            rx.Open(packet.AsSpan(0, n), back, out _, out _);
        }

        var ok = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200; i++)
        {
            tx.Seal(payload, 4, packet, out var n);
            ok += rx.Open(packet.AsSpan(0, n), back, out _, out _) == EspOpenResult.Ok ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(200, ok);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void SequenceNumber_NeverWraps()
    {
        using var tx = Sa("aes128gcm16", 5);
        tx.ResumeSequence(uint.MaxValue - 1);
        var packet = new byte[100];
        Assert.Equal(EspSealResult.Ok, tx.Seal([1], 4, packet, out _));
        Assert.Equal(EspSealResult.SequenceExhausted, tx.Seal([1], 4, packet, out _));
        Assert.Equal((ulong)uint.MaxValue, tx.Sequence);
    }

    [Fact]
    public void WrongSpiKeys_FailAuthentication()
    {
        using var tx = Sa("aes256gcm16", 1, keySeed: 1);
        using var rx = Sa("aes256gcm16", 1, keySeed: 2);
        var packet = new byte[100];
        tx.Seal(new byte[20], 4, packet, out var n);
        Assert.Equal(EspOpenResult.BadIcv, rx.Open(packet.AsSpan(0, n), new byte[100], out _, out _));
    }

    [Theory]
    [InlineData("aes128gcm16")]
    [InlineData("aes128-sha256")]
    public void SealAndOpen_FromSeveralThreadsAtOnce_EachPacketIntact(string esp)
    {
        // Cipher contexts are per thread (OpenSSL contexts are not thread-safe): four threads seal on one SA while
        // four others open on one SA at the same time; a context shared between two threads would corrupt packets.
        using var tx = Sa(esp, 0x77, window: 4096);
        using var rx = Sa(esp, 0x77, window: 4096);
        const int perThread = 500;
        var sealedPackets = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        using var start = new Barrier(4);
        var sealers = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var packet = new byte[1600];
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                var payload = new byte[100 + (i % 300)];
                Array.Fill(payload, (byte)(t * 31 + i));
                Assert.Equal(EspSealResult.Ok, tx.Seal(payload, 4, packet, out var n));
                sealedPackets.Enqueue(packet.AsSpan(0, n).ToArray());
            }
        })).ToList();
        sealers.ForEach(t => t.Start());
        sealers.ForEach(t => t.Join());
        var all = sealedPackets.ToArray();
        var ok = 0;
        using var openStart = new Barrier(4);
        var openers = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var back = new byte[1600];
            openStart.SignalAndWait();
            for (var i = t; i < all.Length; i += 4)
            {
                var result = rx.Open(all[i], back, out var length, out var nh);
                if (result == EspOpenResult.Ok && nh == 4 && length >= 100 && back.AsSpan(1, length - 1).IndexOfAnyExcept(back[0]) < 0)
                {
                    Interlocked.Increment(ref ok);
                }
            }
        })).ToList();
        openers.ForEach(t => t.Start());
        openers.ForEach(t => t.Join());
        Assert.Equal(4 * perThread, all.Length);
        Assert.Equal(4 * perThread, ok);
        Assert.Equal(4UL * perThread, tx.Sequence);
    }

    [Fact]
    public void Disposed_RefusesToSealFromANewThread()
    {
        // Dispose zeroes the keys: a thread that never used the SA must not key a context from them afterwards.
        var tx = Sa("aes128gcm16", 0x78);
        tx.Dispose();
        Exception? seen = null;
        var thread = new Thread(() => seen = Record.Exception(() => tx.Seal([1, 2, 3], 4, new byte[100], out _)));
        thread.Start();
        thread.Join();
        Assert.IsType<ObjectDisposedException>(seen);
    }
}
