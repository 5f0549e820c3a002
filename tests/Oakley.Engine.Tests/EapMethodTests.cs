using System.Text;
using Oakley.Crypto;
using Oakley.Engine.Eap;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// EAP-MSCHAPv2 server against peer in type data: the RFC 2759 §9.2 inputs on the wire, MSKs, refusals, a forged
/// authenticator response, names, and malformed input at every step (failure, never an exception).
/// </summary>
public class EapMethodTests
{
    // RFC 2759 §9.2 / RFC 3079 §3.5.3.
    private static readonly byte[] AuthenticatorChallenge = Convert.FromHexString("5B5D7C7D7B3F2F3E3C2C602132262628");
    private static readonly byte[] PeerChallenge = Convert.FromHexString("21402324255E262A28295F2B3A337C7E");
    private const string NtResponse = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
    private const string AuthenticatorResponse = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
    private const string ServerSendStartKey = "8B7CDC149B993A1BA118CB153F56DCCB";
    private static readonly byte[] Password = "clientPass"u8.ToArray();
    private const byte FirstId = 0x42;

    [Fact]
    public void Rfc2759Inputs_GiveTheRfcValuesOnTheWire_AndEqualMsks()
    {
        using var server = new EapMsChapV2Server("User", Password, new FixedEntropy(AuthenticatorChallenge), "Oakley");
        using var peer = new EapMsChapV2Peer("User", Password, new FixedEntropy(PeerChallenge));

        var challenge = Sent(server.Start(FirstId));
        var expectedChallenge = "01" + "42" + "001B" + "10" + Convert.ToHexString(AuthenticatorChallenge) + Convert.ToHexString("Oakley"u8);
        Assert.Equal(expectedChallenge, Convert.ToHexString(challenge));

        var response = Sent(peer.Process(FirstId, challenge));
        var expectedResponse = "02" + "42" + "003A" + "31" + Convert.ToHexString(PeerChallenge) + "0000000000000000" + NtResponse + "00"
            + Convert.ToHexString("User"u8);
        Assert.Equal(expectedResponse, Convert.ToHexString(response));

        var success = Sent(server.Process(FirstId, response));
        Assert.Equal(3, success[0]);
        Assert.Equal(FirstId, success[1]);
        Assert.Equal(success.Length, (success[2] << 8) | success[3]);
        Assert.StartsWith(AuthenticatorResponse + " M=", Encoding.ASCII.GetString(success, 4, success.Length - 4));
        Assert.Null(server.Msk);
        Assert.False(peer.ServerAuthenticated);

        Assert.Equal(new byte[] { 3 }, Sent(peer.Process(FirstId + 1, success)));
        Assert.True(peer.ServerAuthenticated);
        Assert.Equal(EapStepKind.Success, server.Process(FirstId + 1, [3]).Kind);

        var msk = server.Msk!;
        Assert.Equal(64, msk.Length);
        Assert.Equal(msk, peer.Msk);
        Assert.Equal(ServerSendStartKey, Convert.ToHexString(msk, 16, 16));
        Assert.All(msk[32..], b => Assert.Equal(0, b));
        Assert.False(server.Mutual); // strongSwan's classification for EAP-only (RFC 5998)
    }

    [Fact]
    public void RandomChallenges_Succeed_WithEqualMsks_DifferentPerRun()
    {
        var first = Run("alice", "alice", "s3cret"u8.ToArray(), "s3cret"u8.ToArray(), seed: 1);
        var second = Run("alice", "alice", "s3cret"u8.ToArray(), "s3cret"u8.ToArray(), seed: 2);
        Assert.Equal(EapStepKind.Success, first.ServerResult.Kind);
        Assert.NotNull(first.ServerMsk);
        Assert.Equal(first.ServerMsk, first.PeerMsk);
        Assert.NotEqual(first.ServerMsk, second.ServerMsk);
    }

    [Fact]
    public void WrongPassword_ServerSendsE691WithoutRetry_PeerAnswersFailure_ServerFails()
    {
        using var server = new EapMsChapV2Server("alice", "right"u8.ToArray(), new SeededEntropy(5));
        using var peer = new EapMsChapV2Peer("alice", "wrong"u8.ToArray(), new SeededEntropy(6));
        var response = Sent(peer.Process(FirstId, Sent(server.Start(FirstId))));
        var failure = Sent(server.Process(FirstId, response));
        Assert.Equal(4, failure[0]);
        Assert.Equal(FirstId, failure[1]);
        Assert.Equal(failure.Length, (failure[2] << 8) | failure[3]);
        Assert.Matches("^E=691 R=0 C=[0-9A-F]{32} V=3 M=", Encoding.ASCII.GetString(failure, 4, failure.Length - 4));

        Assert.Equal(new byte[] { 4 }, Sent(peer.Process(FirstId + 1, failure)));
        Assert.Contains("691", peer.FailureReason);
        Assert.False(peer.ServerAuthenticated);
        Assert.Null(peer.Msk);

        var end = server.Process(FirstId + 1, [4]);
        Assert.Equal(EapStepKind.Failure, end.Kind);
        Assert.Contains("wrong password", end.Error);
        Assert.DoesNotContain("right", end.Error);
        Assert.Null(server.Msk);
    }

    [Theory]
    [InlineData(6)] // the first hex digit of S= (after the 4-octet header and "S=")
    [InlineData(45)] // the last one
    public void TamperedAuthenticatorResponse_PeerFails(int position)
    {
        using var server = new EapMsChapV2Server("alice", Password, new SeededEntropy(7));
        using var peer = new EapMsChapV2Peer("alice", Password, new SeededEntropy(8));
        var success = Sent(server.Process(FirstId, Sent(peer.Process(FirstId, Sent(server.Start(FirstId))))));
        Assert.True(Uri.IsHexDigit((char)success[position]));
        success[position] = success[position] == (byte)'0' ? (byte)'1' : (byte)'0';
        var step = peer.Process(FirstId + 1, success);
        Assert.Equal(EapStepKind.Failure, step.Kind);
        Assert.Contains("authenticator response", step.Error);
        Assert.False(peer.ServerAuthenticated);
        Assert.Null(peer.Msk);
    }

    [Fact]
    public void SuccessComputedForAnotherPassword_IsRefused()
    {
        // Same challenges both times (same seeds); only the password behind the peer differs, so the S= of a server
        // that knows "clientPass" proves nothing to a peer holding "guess", and the other way round.
        using var server = new EapMsChapV2Server("alice", Password, new SeededEntropy(9));
        using var peer = new EapMsChapV2Peer("alice", Password, new SeededEntropy(10));
        using var otherPeer = new EapMsChapV2Peer("alice", "guess"u8.ToArray(), new SeededEntropy(10));
        var challenge = Sent(server.Start(FirstId));
        var success = Sent(server.Process(FirstId, Sent(peer.Process(FirstId, challenge))));
        Sent(otherPeer.Process(FirstId, challenge));
        Assert.Equal(EapStepKind.Failure, otherPeer.Process(FirstId + 1, success).Kind);
        Assert.False(otherPeer.ServerAuthenticated);
        Assert.Equal(new byte[] { 3 }, Sent(peer.Process(FirstId + 1, success)));
    }

    [Theory]
    [InlineData("CORP\\alice", "alice", true)]
    [InlineData("alice", "CORP\\alice", true)]
    [InlineData("OTHER\\alice", "CORP\\alice", true)]
    [InlineData("bob", "alice", false)]
    [InlineData("Alice", "alice", false)]
    [InlineData("CORP\\bob", "alice", false)]
    public void UserName_IsComparedWithoutDomain_AndAMismatchIsRefused(string peerName, string eapIdentity, bool accepted)
    {
        var run = Run(eapIdentity, peerName, Password, Password, seed: 11);
        if (accepted)
        {
            Assert.Equal(EapStepKind.Success, run.ServerResult.Kind);
            Assert.Equal(run.ServerMsk, run.PeerMsk);
        }
        else
        {
            // Refused the way a wrong password is (E=691), so names cannot be probed; the reason says which.
            Assert.Equal(4, run.ServerSecondRequest![0]);
            Assert.Equal(EapStepKind.Failure, run.ServerResult.Kind);
            Assert.Contains("user name", run.ServerResult.Error);
            Assert.Null(run.ServerMsk);
        }
    }

    [Fact]
    public void PeerSendsTheDomainButHashesWithoutIt()
    {
        using var peer = new EapMsChapV2Peer("CORP\\User", Password, new FixedEntropy(PeerChallenge));
        var challenge = MsChapV2Challenge(FirstId, AuthenticatorChallenge, "x"u8);
        var response = Sent(peer.Process(FirstId, challenge));
        Assert.Equal(NtResponse, Convert.ToHexString(response, 29, 24));
        Assert.Equal("CORP\\User", Encoding.ASCII.GetString(response, 54, response.Length - 54));
    }

    [Fact]
    public void StrongSwanStyleSuccess_WithTrailingNulAndLowercaseHex_IsAccepted()
    {
        using var peer = new EapMsChapV2Peer("User", Password, new FixedEntropy(PeerChallenge));
        Sent(peer.Process(FirstId, MsChapV2Challenge(FirstId, AuthenticatorChallenge, "strongSwan"u8)));
        var text = Encoding.ASCII.GetBytes("S=" + AuthenticatorResponse[2..].ToLowerInvariant() + " M=Welcome2strongSwan\0");
        var success = Message(3, FirstId, text);
        Assert.Equal(new byte[] { 3 }, Sent(peer.Process(FirstId + 1, success)));
        Assert.True(peer.ServerAuthenticated);
        Assert.NotNull(peer.Msk);
    }

    [Fact]
    public void SuccessWithoutAuthenticatorResponse_OrWithAShortOne_Fails()
    {
        foreach (var text in new[] { "M=Welcome", "S=407A M=x", "S=" + new string('G', 40), "", "s=" + AuthenticatorResponse[2..] })
        {
            using var peer = new EapMsChapV2Peer("User", Password, new FixedEntropy(PeerChallenge));
            Sent(peer.Process(FirstId, MsChapV2Challenge(FirstId, AuthenticatorChallenge, "x"u8)));
            var step = peer.Process(FirstId + 1, Message(3, FirstId, Encoding.ASCII.GetBytes(text)));
            Assert.Equal(EapStepKind.Failure, step.Kind);
            Assert.False(peer.ServerAuthenticated);
        }
    }

    [Fact]
    public void TruncatedChallenge_FailsBelowItsMinimum_AndAShorterNameStillWorks()
    {
        var challenge = MsChapV2Challenge(FirstId, AuthenticatorChallenge, "Oakley"u8);
        for (var length = 0; length < challenge.Length; length++)
        {
            using var peer = new EapMsChapV2Peer("User", Password, new SeededEntropy(length));
            var step = peer.Process(FirstId, challenge.AsSpan(0, length));
            Assert.Equal(length < 22 ? EapStepKind.Failure : EapStepKind.Send, step.Kind);
        }
    }

    [Fact]
    public void TruncatedResponse_Fails_OrIsRefusedForItsName()
    {
        using var template = new EapMsChapV2Peer("alice", Password, new SeededEntropy(12));
        using var challengeServer = new EapMsChapV2Server("alice", Password, new SeededEntropy(13));
        var response = Sent(template.Process(FirstId, Sent(challengeServer.Start(FirstId))));
        for (var length = 0; length < response.Length; length++)
        {
            using var server = new EapMsChapV2Server("alice", Password, new SeededEntropy(13));
            server.Start(FirstId);
            var step = server.Process(FirstId, response.AsSpan(0, length));
            if (length < 54)
            {
                Assert.Equal(EapStepKind.Failure, step.Kind);
            }
            else
            {
                // The name is cut short: a well-formed Response for another user, refused with E=691.
                Assert.Equal(4, Sent(step)[0]);
            }
        }

        Assert.Equal(3, Sent(challengeServer.Process(FirstId, response))[0]);
    }

    [Fact]
    public void TruncatedSuccessRequest_FailsUntilTheAuthenticatorResponseIsWhole()
    {
        using var server = new EapMsChapV2Server("alice", Password, new SeededEntropy(14));
        using var template = new EapMsChapV2Peer("alice", Password, new SeededEntropy(15));
        var challenge = Sent(server.Start(FirstId));
        var success = Sent(server.Process(FirstId, Sent(template.Process(FirstId, challenge))));
        for (var length = 0; length < success.Length; length++)
        {
            using var peer = new EapMsChapV2Peer("alice", Password, new SeededEntropy(15));
            peer.Process(FirstId, challenge);
            var step = peer.Process(FirstId + 1, success.AsSpan(0, length));
            Assert.Equal(length < 4 + 42 ? EapStepKind.Failure : EapStepKind.Send, step.Kind);
            Assert.Equal(length >= 4 + 42, peer.ServerAuthenticated);
        }
    }

    [Fact]
    public void Garbage_AtEveryStep_IsFailureOrARefusal_NeverAnException()
    {
        var random = new Random(2759);
        for (var i = 0; i < 3000; i++)
        {
            var garbage = new byte[random.Next(0, 80)];
            random.NextBytes(garbage);
            if (garbage.Length > 0 && random.Next(2) == 0)
            {
                garbage[0] = (byte)random.Next(1, 5); // a valid OpCode half of the time
            }

            using var peer = PeerAt(random.Next(2), out var peerId);
            var peerStep = peer.Process(peerId, garbage);
            Assert.True(peerStep.Kind is EapStepKind.Failure or EapStepKind.Send, peerStep.Kind.ToString());
            Assert.False(peer.ServerAuthenticated);
            Assert.Null(peer.Msk);

            var stage = random.Next(3);
            using var server = ServerAt(stage, out var serverId);
            var serverStep = server.Process(serverId, garbage);

            // Only the bare acknowledgement of a Success request can end well: the peer was authenticated before.
            var acknowledged = stage == 1 && garbage.Length > 0 && garbage[0] == 3;
            Assert.Equal(acknowledged, serverStep.Kind == EapStepKind.Success);
            Assert.True(serverStep.Kind is EapStepKind.Failure or EapStepKind.Send || acknowledged, serverStep.Kind.ToString());
        }
    }

    [Fact]
    public void UnexpectedOpCodesAndIdentifiers_Fail()
    {
        using var server = new EapMsChapV2Server("alice", Password, new SeededEntropy(16));
        Assert.Equal(EapStepKind.Failure, server.Process(FirstId, [2]).Kind); // before Start
        using var started = new EapMsChapV2Server("alice", Password, new SeededEntropy(16));
        var challenge = Sent(started.Start(FirstId));
        using var peer = new EapMsChapV2Peer("alice", Password, new SeededEntropy(17));
        var response = Sent(peer.Process(FirstId, challenge));
        Assert.Equal(EapStepKind.Failure, started.Process(FirstId + 1, response).Kind); // the wrong EAP identifier
        Assert.Equal(EapStepKind.Failure, started.Process(FirstId, response).Kind); // and it stays failed

        foreach (var opCode in new byte[] { 1, 3, 5, 7, 255 })
        {
            using var s = new EapMsChapV2Server("alice", Password, new SeededEntropy(16));
            s.Start(FirstId);
            Assert.Equal(EapStepKind.Failure, s.Process(FirstId, [opCode, .. response.AsSpan(1)]).Kind);
        }

        var wrongMsId = (byte[])response.Clone();
        wrongMsId[1]++;
        using var third = new EapMsChapV2Server("alice", Password, new SeededEntropy(16));
        third.Start(FirstId);
        Assert.Contains("MS-CHAPv2-ID", third.Process(FirstId, wrongMsId).Error);

        using var aborted = new EapMsChapV2Server("alice", Password, new SeededEntropy(16));
        aborted.Start(FirstId);
        Assert.Contains("aborted", aborted.Process(FirstId, [4]).Error);

        using var early = new EapMsChapV2Peer("alice", Password, new SeededEntropy(17));
        Assert.Equal(EapStepKind.Failure, early.Process(FirstId, Message(3, FirstId, "S=00"u8)).Kind); // Success before Challenge
    }

    [Fact]
    public void AfterSuccess_FurtherInputFails_AndLeavesTheMskIntact()
    {
        using var server = new EapMsChapV2Server("alice", Password, new SeededEntropy(18));
        using var peer = new EapMsChapV2Peer("alice", Password, new SeededEntropy(19));
        var success = Sent(server.Process(FirstId, Sent(peer.Process(FirstId, Sent(server.Start(FirstId))))));
        Sent(peer.Process(FirstId + 1, success));
        Assert.Equal(EapStepKind.Success, server.Process(FirstId + 1, [3]).Kind);
        var msk = server.Msk;
        Assert.Equal(EapStepKind.Failure, server.Process(FirstId + 2, [3]).Kind);
        Assert.Equal(EapStepKind.Failure, server.Start(FirstId).Kind);
        Assert.Equal(EapStepKind.Failure, peer.Process(FirstId + 2, success).Kind);
        Assert.Equal(msk, server.Msk);
        Assert.Equal(msk, peer.Msk);
        Assert.True(peer.ServerAuthenticated);
    }

    private static byte[] Sent(EapStep step)
    {
        Assert.True(step.Kind == EapStepKind.Send, $"{step.Kind}: {step.Error}");
        return step.Data!;
    }

    private static byte[] Message(byte opCode, byte msId, ReadOnlySpan<byte> body) =>
        [opCode, msId, (byte)((body.Length + 4) >> 8), (byte)(body.Length + 4), .. body];

    private static byte[] MsChapV2Challenge(byte msId, byte[] challenge, ReadOnlySpan<byte> name) =>
        Message(1, msId, [16, .. challenge, .. name]);

    /// <summary>A peer waiting for the Challenge (stage 0) or for Success/Failure (stage 1), and the identifier it expects.</summary>
    private static EapMsChapV2Peer PeerAt(int stage, out byte identifier)
    {
        var peer = new EapMsChapV2Peer("alice", Password, new SeededEntropy(20));
        identifier = FirstId;
        if (stage == 1)
        {
            Sent(peer.Process(FirstId, MsChapV2Challenge(FirstId, AuthenticatorChallenge, "x"u8)));
            identifier = FirstId + 1;
        }

        return peer;
    }

    /// <summary>A server waiting for the Response (0), the Success-Response (1) or the Failure-Response (2).</summary>
    private static EapMsChapV2Server ServerAt(int stage, out byte identifier)
    {
        var server = new EapMsChapV2Server("alice", Password, new SeededEntropy(21));
        var challenge = Sent(server.Start(FirstId));
        identifier = FirstId;
        if (stage > 0)
        {
            using var peer = new EapMsChapV2Peer("alice", stage == 1 ? Password : "wrong"u8.ToArray(), new SeededEntropy(22));
            var next = Sent(server.Process(FirstId, Sent(peer.Process(FirstId, challenge))));
            Assert.Equal(stage == 1 ? 3 : 4, next[0]);
            identifier = FirstId + 1;
        }

        return server;
    }

    private static RunResult Run(string eapIdentity, string peerName, byte[] serverPassword, byte[] peerPassword, int seed)
    {
        using var server = new EapMsChapV2Server(eapIdentity, serverPassword, new SeededEntropy(seed));
        using var peer = new EapMsChapV2Peer(peerName, peerPassword, new SeededEntropy(seed + 1000));
        var request = Sent(server.Start(FirstId));
        var response = Sent(peer.Process(FirstId, request));
        var second = Sent(server.Process(FirstId, response));
        var peerStep = peer.Process(FirstId + 1, second);
        var result = peerStep.Kind == EapStepKind.Send ? server.Process(FirstId + 1, peerStep.Data) : peerStep;
        return new RunResult(result, second, server.Msk, peer.Msk);
    }

    private sealed record RunResult(EapStep ServerResult, byte[]? ServerSecondRequest, byte[]? ServerMsk, byte[]? PeerMsk);
}

/// <summary>Entropy that hands out the given byte strings in order (then zeros), to put known challenges on the wire.</summary>
internal sealed class FixedEntropy(params byte[][] outputs) : IEntropySource
{
    private int _next;

    public void Fill(Span<byte> destination)
    {
        destination.Clear();
        if (_next < outputs.Length)
        {
            var output = outputs[_next++];
            output.AsSpan(0, Math.Min(destination.Length, output.Length)).CopyTo(destination);
        }
    }
}
