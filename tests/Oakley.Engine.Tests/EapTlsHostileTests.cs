using System.Buffers.Binary;
using Oakley.Crypto.Tls;
using Oakley.Engine.Eap;
using Oakley.Tests.Shared;
using static Oakley.Engine.Tests.EapTlsTests;

namespace Oakley.Engine.Tests;

/// <summary>
/// EAP-TLS under hostile input: every message of a real conversation, in both TLS versions, replaced by truncations,
/// framing lies and garbage; each conversation ends in a failure, never an exception and never a success. And the
/// reassembly bound: a peer that announces or sends more than 64 KiB is refused before it is buffered.
/// </summary>
public class EapTlsHostileTests
{
    private static readonly TestPki.Ca Ca = TestPki.NewCa("ecdsa256", "Hostile");
    private static readonly Side Server = Make(Ca, "ecdsa256", "moon.example");
    private static readonly Side Client = Make(Ca, "ecdsa256", "sun.example");

    /// <summary>
    /// Runs a conversation in which message <paramref name="at"/> is replaced by <paramref name="mutate"/>'s result. The
    /// number of messages varies from run to run (ECDSA signatures vary in length, and with them the fragments), so a run
    /// that ended before message <paramref name="at"/> is run again, until one reaches it.
    /// </summary>
    private static EapStep Drive(TlsVersion version, int fragmentSize, int at, Func<byte[], byte[]> mutate)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if (DriveOnce(version, fragmentSize, at, mutate) is { } last)
            {
                return last;
            }
        }

        throw new InvalidOperationException($"no run of 50 reached message {at}");
    }

    /// <summary>One conversation with message <paramref name="at"/> replaced; null if it ended before that message.</summary>
    private static EapStep? DriveOnce(TlsVersion version, int fragmentSize, int at, Func<byte[], byte[]> mutate)
    {
        var (server, peer) = Pair(Server, Client, serverMax: version, fragmentSize: fragmentSize);
        using (server)
        using (peer)
        {
            byte id = 3;
            var step = server.Start(id);
            var index = 0;
            for (var i = 0; i < 1000; i++, id++)
            {
                if (step.Kind != EapStepKind.Send)
                {
                    return index > at ? step : null;
                }

                var toPeer = index++ == at ? mutate(step.Data!) : step.Data!;
                var answer = peer.Process(id, toPeer);
                if (answer.Kind != EapStepKind.Send)
                {
                    return index > at ? answer : null;
                }

                var toServer = index++ == at ? mutate(answer.Data!) : answer.Data!;
                step = server.Process(id, toServer);
            }

            return step;
        }
    }

    /// <summary>
    /// The replacements of one message. They are computed from the message as it is in that run (ECDSA signatures vary
    /// in length from run to run, so a fixed cut could be no cut at all).
    /// </summary>
    private static IEnumerable<(string Name, Func<byte[], byte[]> Mutate, bool MustFail)> Mutations()
    {
        yield return ("empty", _ => [], true);
        foreach (var cut in new[] { 1, 2, 4, 5, 6 })
        {
            yield return ($"truncated to {cut}", m => m[..Math.Min(cut, m.Length - 1)], true);
        }

        yield return ("truncated to half", m => m[..(m.Length / 2)], true);
        yield return ("last octet cut", m => m[..^1], true);

        yield return ("Start flag", m => [(byte)(m[0] | EapTlsFraming.Start), .. m[1..]], true);
        yield return ("length announces one more", m => (m[0] & EapTlsFraming.LengthIncluded) != 0 ? WithLength(m, +1) : [0x80, 0, 0, 0, 9, 1], true);
        yield return ("length announces 70000", m => [0x80, 0, 1, 0x11, 0x70, .. m[1..]], true);
        yield return ("garbage after the framing", m => Garbage(m, keep: (m[0] & EapTlsFraming.LengthIncluded) != 0 ? 5 : 1, seed: m.Length), true);
        yield return ("flipped last octet", m => m.Length > 1 ? [.. m[..^1], (byte)(m[^1] ^ 0x5A)] : [0, 0x5A], true);
        for (var seed = 0; seed < 4; seed++)
        {
            var s = seed;
            yield return ($"random {seed}", m => Garbage(m, keep: 0, seed: s + 17), false);
        }
    }

    private static byte[] WithLength(byte[] m, int delta)
    {
        var copy = m.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(1), (uint)(BinaryPrimitives.ReadUInt32BigEndian(copy.AsSpan(1)) + delta));
        return copy;
    }

    private static byte[] Garbage(byte[] m, int keep, int seed)
    {
        var random = new Testing.SeededEntropy(seed);
        var g = new byte[Math.Max(m.Length, keep + 8)];
        random.Fill(g);
        m.AsSpan(0, Math.Min(keep, m.Length)).CopyTo(g);
        return g;
    }

    [Theory]
    [InlineData(TlsVersion.Tls12, 1024)]
    [InlineData(TlsVersion.Tls13, 1024)]
    [InlineData(TlsVersion.Tls13, 400)]
    public void EveryMessage_Mutated_EndsInFailure_NeverAnException(TlsVersion version, int fragmentSize)
    {
        var (server, peer) = Pair(Server, Client, serverMax: version, fragmentSize: fragmentSize);
        var transcript = Run(server, peer).Transcript;
        Assert.True(transcript.Count >= 8);
        for (var at = 0; at < transcript.Count; at++)
        {
            foreach (var (name, mutate, mustFail) in Mutations())
            {
                if (mutate(transcript[at].TypeData).SequenceEqual(transcript[at].TypeData))
                {
                    continue; // no change (the Start flag on the Start request)
                }

                var last = Drive(version, fragmentSize, at, mutate);
                Assert.True(last.Kind != EapStepKind.Success || !mustFail, $"message {at} {name}: {last.Kind}");
                if (mustFail)
                {
                    Assert.True(last.Kind == EapStepKind.Failure, $"message {at} {name}: {last.Kind}");
                    Assert.False(string.IsNullOrEmpty(last.Error));
                }
            }
        }
    }

    [Fact]
    public void AnnouncingMoreThan64KiB_IsRefused_AtTheFirstFragment()
    {
        var (server, _) = Pair(Server, Client);
        server.Start(1);
        var step = server.Process(1, [0xC0, 0x00, 0x01, 0x00, 0x01, 0x16, 0x03, 0x03]);
        Assert.Equal(EapStepKind.Failure, step.Kind);
        Assert.Contains("announces 65537 octets of TLS data, more than 65536", step.Error);
        Assert.Equal(EapStepKind.Failure, server.Process(2, [0]).Kind); // and it stays failed
    }

    [Fact]
    public void FragmentsBeyond64KiB_WithoutALength_AreRefused()
    {
        var (server, _) = Pair(Server, Client);
        server.Start(1);
        var fragment = new byte[1001];
        fragment[0] = EapTlsFraming.MoreFragments;
        EapStep step = default;
        var acks = 0;
        for (byte id = 1; id < 200; id++)
        {
            step = server.Process(id, fragment);
            if (step.Kind != EapStepKind.Send)
            {
                break;
            }

            Assert.Equal(new byte[] { 0 }, step.Data);
            acks++;
        }

        Assert.Equal(EapStepKind.Failure, step.Kind);
        Assert.Contains("exceed 65536 octets", step.Error);
        Assert.Equal(65, acks);
    }

    [Fact]
    public void EapSuccess_BeforeTheHandshakeFinished_IsAFailureForTheClient()
    {
        var secrets = new Testing.InMemorySecrets { Certificates = Client.Store }.AddKey(Client.Credential.Key);
        var round = new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.Tls, Certificates = [Client.Credential.Certificate] };
        using var peer = new EapPeer(round, Identity.Parse("sun.example"), Identity.Parse("moon.example"), secrets, new Testing.SeededEntropy(4),
            new EapTlsOptions { Now = Now, Certificates = round.Certificates });
        var hello = peer.Process(EapMessage.Request(9, EapType.Tls, [EapTlsFraming.Start]));
        Assert.True(hello.Kind == EapStepKind.Send, hello.Error);
        Assert.Equal(0x16, hello.Data![10]); // a TLS handshake record after the EAP header, Flags and Length

        var success = peer.Process(EapMessage.Success(9));
        Assert.Equal(EapStepKind.Failure, success.Kind);
        Assert.Contains("before the EAP-TLS handshake finished", success.Error);
    }
}
