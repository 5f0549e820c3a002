using System.Security.Cryptography;
using Oakley.Engine.Eap;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>EAP-MD5 and EAP-GTC server against peer in type data, and the method factory.</summary>
public class EapMethodSimpleTests
{
    private static readonly byte[] Secret = "tellme"u8.ToArray();
    private static readonly byte[] Challenge = Convert.FromHexString("000102030405060708090A0B0C0D0E0F");
    private const byte Id = 0x2A;

    [Fact]
    public void Md5_KnownAnswer_IsMd5OfIdentifierSecretAndChallenge()
    {
        // RFC 1994 §4.1, written out: MD5(0x2A | "tellme" | 00..0F), with the BCL's MD5 over the explicit bytes.
        var expected = MD5.HashData(new byte[] { 0x2A, 0x74, 0x65, 0x6C, 0x6C, 0x6D, 0x65, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 });

        using var server = new EapMd5Server(Secret, new FixedEntropy(Challenge));
        using var peer = new EapMd5Peer(Secret);
        var request = Sent(server.Start(Id));
        Assert.Equal("10" + Convert.ToHexString(Challenge), Convert.ToHexString(request));

        var response = Sent(peer.Process(Id, request));
        Assert.Equal("10" + Convert.ToHexString(expected), Convert.ToHexString(response));
        Assert.Equal(EapStepKind.Success, server.Process(Id, response).Kind);
        Assert.Null(server.Msk);
        Assert.Null(peer.Msk);
        Assert.False(server.Mutual);
        Assert.False(peer.ServerAuthenticated);
    }

    [Fact]
    public void Md5_PeerIgnoresTheName_AndTakesAChallengeOfAnyLength()
    {
        using var peer = new EapMd5Peer(Secret);
        var response = Sent(peer.Process(7, [3, 0xAA, 0xBB, 0xCC, .. "server.example"u8]));
        var expected = MD5.HashData(new byte[] { 7, 0x74, 0x65, 0x6C, 0x6C, 0x6D, 0x65, 0xAA, 0xBB, 0xCC });
        Assert.Equal(new byte[] { 16 }.Concat(expected).ToArray(), response);
    }

    [Fact]
    public void Md5_WrongSecret_Fails()
    {
        using var server = new EapMd5Server(Secret, new SeededEntropy(1));
        using var peer = new EapMd5Peer("tellm3"u8.ToArray());
        var step = server.Process(Id, Sent(peer.Process(Id, Sent(server.Start(Id)))));
        Assert.Equal(EapStepKind.Failure, step.Kind);
        Assert.DoesNotContain("tellme", step.Error);
    }

    [Fact]
    public void Md5_TheResponseIsBoundToTheIdentifier()
    {
        using var server = new EapMd5Server(Secret, new SeededEntropy(2));
        using var peer = new EapMd5Peer(Secret);
        var request = Sent(server.Start(Id));
        var response = Sent(peer.Process(Id + 1, request)); // computed over another identifier
        Assert.Equal(EapStepKind.Failure, server.Process(Id, response).Kind);

        using var other = new EapMd5Server(Secret, new SeededEntropy(2));
        other.Start(Id);
        Assert.Equal(EapStepKind.Failure, other.Process(Id + 1, response).Kind); // answers another request
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("10")]
    [InlineData("1000010203040506070809")]
    [InlineData("0F000102030405060708090A0B0C0D0E")] // Value-Size 15
    [InlineData("11000102030405060708090A0B0C0D0E0F10")] // Value-Size 17
    [InlineData("FF00")]
    public void Md5_MalformedResponse_Fails(string hex)
    {
        using var server = new EapMd5Server(Secret, new SeededEntropy(3));
        server.Start(Id);
        Assert.Equal(EapStepKind.Failure, server.Process(Id, Convert.FromHexString(hex)).Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("05AABBCC")]
    [InlineData("FF")]
    public void Md5_MalformedChallenge_Fails(string hex)
    {
        using var peer = new EapMd5Peer(Secret);
        Assert.Equal(EapStepKind.Failure, peer.Process(Id, Convert.FromHexString(hex)).Kind);
    }

    [Fact]
    public void Md5_OutOfOrder_Fails()
    {
        using var server = new EapMd5Server(Secret, new SeededEntropy(4));
        Assert.Equal(EapStepKind.Failure, server.Process(Id, new byte[17]).Kind); // before Start
        using var peer = new EapMd5Peer(Secret);
        Sent(peer.Process(Id, Challenge16()));
        Assert.Equal(EapStepKind.Failure, peer.Process(Id + 1, Challenge16()).Kind); // a second challenge

        using var done = new EapMd5Server(Secret, new SeededEntropy(5));
        using var donePeer = new EapMd5Peer(Secret);
        var response = Sent(donePeer.Process(Id, Sent(done.Start(Id))));
        Assert.Equal(EapStepKind.Success, done.Process(Id, response).Kind);
        Assert.Equal(EapStepKind.Failure, done.Process(Id, response).Kind); // no second success
    }

    [Fact]
    public void Gtc_PromptThenSecret_Succeeds()
    {
        using var server = new EapGtcServer(Secret);
        using var peer = new EapGtcPeer(Secret);
        var prompt = Sent(server.Start(Id));
        Assert.Equal("Password: "u8.ToArray(), prompt);
        var response = Sent(peer.Process(Id, prompt));
        Assert.Equal(Secret, response);
        Assert.Equal(EapStepKind.Success, server.Process(Id, response).Kind);
        Assert.Null(server.Msk);
        Assert.Null(peer.Msk);
        Assert.False(server.Mutual);
        Assert.False(peer.ServerAuthenticated);
    }

    [Theory]
    [InlineData("tellm3")]
    [InlineData("tellme ")]
    [InlineData("tell")]
    [InlineData("TELLME")]
    [InlineData("")]
    public void Gtc_AnyOtherAnswer_Fails(string answer)
    {
        using var server = new EapGtcServer(Secret);
        server.Start(Id);
        var step = server.Process(Id, System.Text.Encoding.UTF8.GetBytes(answer));
        Assert.Equal(EapStepKind.Failure, step.Kind);
        Assert.DoesNotContain("tellme", step.Error);
    }

    [Fact]
    public void Gtc_OutOfOrder_Fails()
    {
        using var server = new EapGtcServer(Secret);
        Assert.Equal(EapStepKind.Failure, server.Process(Id, Secret).Kind); // before Start
        using var other = new EapGtcServer(Secret);
        other.Start(Id);
        Assert.Equal(EapStepKind.Failure, other.Process(Id + 1, Secret).Kind); // another identifier

        using var peer = new EapGtcPeer(Secret);
        Assert.Equal(Secret, Sent(peer.Process(Id, [])));  // an empty prompt is still a prompt
        Assert.Equal(EapStepKind.Failure, peer.Process(Id + 1, "Password: "u8).Kind);
    }

    [Fact]
    public void Factory_BuildsTheThreeMethods_AndNothingElse()
    {
        var entropy = new SeededEntropy(6);
        Assert.IsType<EapMd5Server>(EapMethods.Server(EapType.Md5, "alice", Secret, entropy));
        Assert.IsType<EapGtcServer>(EapMethods.Server(EapType.Gtc, "alice", Secret, entropy));
        Assert.IsType<EapMsChapV2Server>(EapMethods.Server(EapType.MsChapV2, "alice", Secret, entropy));
        Assert.IsType<EapMd5Peer>(EapMethods.Peer(EapType.Md5, "alice", Secret, entropy));
        Assert.IsType<EapGtcPeer>(EapMethods.Peer(EapType.Gtc, "alice", Secret, entropy));
        Assert.IsType<EapMsChapV2Peer>(EapMethods.Peer(EapType.MsChapV2, "alice", Secret, entropy));
        foreach (var type in new[] { EapType.Identity, EapType.Notification, EapType.Nak, EapType.Tls, EapType.Ttls, EapType.Peap, (EapType)99 })
        {
            Assert.Null(EapMethods.Server(type, "alice", Secret, entropy));
            Assert.Null(EapMethods.Peer(type, "alice", Secret, entropy));
        }

        foreach (var type in new[] { EapType.Md5, EapType.Gtc, EapType.MsChapV2 })
        {
            using var server = EapMethods.Server(type, "alice", Secret, entropy)!;
            using var peer = EapMethods.Peer(type, "alice", Secret, entropy)!;
            Assert.Equal(type, server.Type);
            Assert.Equal(type, peer.Type);
            Assert.False(server.Mutual);
        }
    }

    [Fact]
    public void FactoryMethods_RunToSuccess_AndTheMsChapV2ServerNamesItselfOakley()
    {
        foreach (var type in new[] { EapType.Md5, EapType.Gtc, EapType.MsChapV2 })
        {
            using var server = EapMethods.Server(type, "alice", Secret, new SeededEntropy(7))!;
            using var peer = EapMethods.Peer(type, "alice", Secret, new SeededEntropy(8))!;
            byte id = 1;
            var step = server.Start(id);
            if (type == EapType.MsChapV2)
            {
                Assert.EndsWith("Oakley", System.Text.Encoding.ASCII.GetString(step.Data!));
            }

            for (var round = 0; round < 4 && step.Kind == EapStepKind.Send; round++, id++)
            {
                step = server.Process(id, Sent(peer.Process(id, step.Data)));
            }

            Assert.Equal(EapStepKind.Success, step.Kind);
            Assert.Equal(server.Msk, peer.Msk);
            Assert.Equal(type == EapType.MsChapV2, peer.ServerAuthenticated);
        }
    }

    [Fact]
    public void Garbage_NeverThrows()
    {
        var random = new Random(1994);
        for (var i = 0; i < 2000; i++)
        {
            var garbage = new byte[random.Next(0, 40)];
            random.NextBytes(garbage);
            using var md5 = new EapMd5Server(Secret, new SeededEntropy(i));
            md5.Start(Id);
            Assert.Equal(EapStepKind.Failure, md5.Process(Id, garbage).Kind);
            using var md5Peer = new EapMd5Peer(Secret);
            Assert.True(md5Peer.Process(Id, garbage).Kind is EapStepKind.Send or EapStepKind.Failure);
            using var gtc = new EapGtcServer(Secret);
            gtc.Start(Id);
            Assert.Equal(EapStepKind.Failure, gtc.Process(Id, garbage).Kind);
        }
    }

    private static byte[] Challenge16() => [16, .. Challenge];

    private static byte[] Sent(EapStep step)
    {
        Assert.True(step.Kind == EapStepKind.Send, $"{step.Kind}: {step.Error}");
        return step.Data!;
    }
}
