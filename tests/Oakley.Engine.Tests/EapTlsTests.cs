using Oakley.Crypto.Signature;
using Oakley.Crypto.Tls;
using Oakley.Engine.Certificates;
using Oakley.Engine.Eap;
using Oakley.Testing;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>
/// EAP-TLS server against peer in type data (RFC 5216, RFC 9190): both TLS versions and every key type with equal
/// MSKs, negotiation of the highest common version, fragmentation, each way a certificate is refused (with the
/// reason), and the end of the conversation (TLS 1.3's success indication, the final empty response).
/// </summary>
public class EapTlsTests
{
    internal static readonly DateTimeOffset Now = TestPki.Epoch.AddDays(30);

    internal sealed record Side(EapTlsCredential Credential, CertificateStore Store);

    internal static Side Make(TestPki.Ca ca, string kind, string cn, string[]? eku = null, DateTimeOffset? notAfter = null, TestPki.Ca? trusts = null)
    {
        var (cert, key) = TestPki.Issue(ca, kind, cn, eku: eku, notAfter: notAfter);
        return new Side(new EapTlsCredential(cert, [cert, ca.Intermediate], key), new CertificateStore([(trusts ?? ca).Root], []));
    }

    internal static (EapTlsServer Server, EapTlsPeer Peer) Pair(
        Side server, Side client, Identity? eapIdentity = null, Identity? expectedServer = null, int fragmentSize = 1024,
        TlsVersion serverMax = TlsVersion.Tls13, TlsVersion clientMax = TlsVersion.Tls13, int seed = 1)
    {
        var serverOptions = new EapTlsOptions { Now = Now, FragmentSize = fragmentSize, MaxVersion = serverMax };
        var clientOptions = new EapTlsOptions { Now = Now, FragmentSize = fragmentSize, MaxVersion = clientMax };
        return (new EapTlsServer(server.Credential, eapIdentity ?? Identity.Parse("sun.example"), server.Store, serverOptions, new SeededEntropy(seed)),
            new EapTlsPeer(client.Credential, expectedServer ?? Identity.Parse("moon.example"), client.Store, clientOptions, new SeededEntropy(seed + 1000)));
    }

    /// <summary>One message of a conversation: who sent it and its type data.</summary>
    internal readonly record struct Message(bool FromServer, byte[] TypeData);

    /// <summary>Runs the conversation to its end: the last step that was not a Send, and who took it.</summary>
    internal static (EapStep Last, bool AtServer, List<Message> Transcript) Run(EapTlsServer server, EapTlsPeer peer)
    {
        var transcript = new List<Message>();
        byte id = 7;
        var step = server.Start(id);
        for (var i = 0; i < 1000 && step.Kind == EapStepKind.Send; i++, id++)
        {
            transcript.Add(new Message(true, step.Data!));
            var answer = peer.Process(id, step.Data);
            if (answer.Kind != EapStepKind.Send)
            {
                return (answer, false, transcript);
            }

            transcript.Add(new Message(false, answer.Data!));
            step = server.Process(id, answer.Data);
        }

        return (step, true, transcript);
    }

    [Theory]
    [InlineData("ecdsa256", "ecdsa256", TlsVersion.Tls13)]
    [InlineData("ecdsa384", "rsa2048", TlsVersion.Tls13)]
    [InlineData("rsa2048", "ed25519", TlsVersion.Tls13)]
    [InlineData("ed25519", "ecdsa521", TlsVersion.Tls13)]
    [InlineData("ecdsa256", "ecdsa256", TlsVersion.Tls12)]
    [InlineData("rsa2048", "rsa2048", TlsVersion.Tls12)]
    [InlineData("ed25519", "ecdsa384", TlsVersion.Tls12)]
    [InlineData("ecdsa521", "ed25519", TlsVersion.Tls12)]
    public void EveryKeyType_BothVersions_Succeeds_WithEqualMsks(string serverKind, string clientKind, TlsVersion version)
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (server, peer) = Pair(Make(ca, serverKind, "moon.example"), Make(ca, clientKind, "sun.example"), serverMax: version);
        using (server)
        using (peer)
        {
            Assert.Null(server.Msk);
            var (last, atServer, transcript) = Run(server, peer);

            Assert.True(last.Kind == EapStepKind.Success, last.Error);
            Assert.True(atServer);
            Assert.Equal(version, server.Version);
            Assert.Equal(version, peer.Version);
            Assert.True(peer.ServerAuthenticated);
            Assert.True(server.Mutual);
            var msk = server.Msk!;
            Assert.Equal(64, msk.Length);
            Assert.Equal(msk, peer.Msk);
            Assert.Contains(msk, b => b != 0);

            // The conversation ends with the peer's empty response (Flags only) to the server's last flight.
            Assert.Equal(new byte[] { 0 }, transcript[^1].TypeData);
            Assert.False(transcript[^1].FromServer);
            Assert.Equal(new byte[] { EapTlsFraming.Start }, transcript[0].TypeData);
        }
    }

    [Theory]
    [InlineData(TlsVersion.Tls13, TlsVersion.Tls13, TlsVersion.Tls13)]
    [InlineData(TlsVersion.Tls12, TlsVersion.Tls13, TlsVersion.Tls12)]
    [InlineData(TlsVersion.Tls13, TlsVersion.Tls12, TlsVersion.Tls12)]
    public void TheHighestCommonVersion_IsNegotiated(TlsVersion serverMax, TlsVersion clientMax, TlsVersion expected)
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (server, peer) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example"), serverMax: serverMax, clientMax: clientMax);
        var (last, _, _) = Run(server, peer);
        Assert.True(last.Kind == EapStepKind.Success, last.Error);
        Assert.Equal(expected, server.Version);
        Assert.Equal(server.Msk, peer.Msk);
    }

    [Fact]
    public void Tls13_TheServersLastFlight_IsTheProtectedSuccessIndication()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (server, peer) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example"));
        var (last, _, transcript) = Run(server, peer);
        Assert.Equal(EapStepKind.Success, last.Kind);

        // RFC 9190 §2.1.1: one TLS 1.3 record of application data (outer type 23) whose plaintext is 0x00; with the
        // content type octet and AES-GCM's 16-octet tag the record carries 1 + 1 + 16 octets.
        var indication = transcript[^2];
        Assert.True(indication.FromServer);
        Assert.Equal(EapTlsFraming.LengthIncluded, indication.TypeData[0]);
        var record = indication.TypeData[5..];
        Assert.Equal(23, record[0]);
        Assert.Equal(0x0303, (record[1] << 8) | record[2]);
        Assert.Equal(18, (record[3] << 8) | record[4]);
        Assert.Equal(5 + 18, record.Length);
    }

    [Theory]
    [InlineData(TlsVersion.Tls13, 64)]
    [InlineData(TlsVersion.Tls12, 100)]
    [InlineData(TlsVersion.Tls13, 300)]
    public void SmallFragments_AreSentAndReassembled_WithAcks(TlsVersion version, int fragmentSize)
    {
        var ca = TestPki.NewCa("rsa2048");
        var (server, peer) = Pair(Make(ca, "rsa2048", "moon.example"), Make(ca, "rsa2048", "sun.example"), fragmentSize: fragmentSize, serverMax: version);
        var (last, _, transcript) = Run(server, peer);

        Assert.True(last.Kind == EapStepKind.Success, last.Error);
        Assert.Equal(server.Msk, peer.Msk);
        Assert.All(transcript, m => Assert.True(m.TypeData.Length <= fragmentSize - 5, $"{m.TypeData.Length} octets of type data"));
        var fragments = transcript.Where(m => (m.TypeData[0] & EapTlsFraming.MoreFragments) != 0).ToList();
        Assert.True(fragments.Count > 10);

        // Every fragment with M is answered by an ACK from the other side, and the first of a message carries L.
        for (var i = 0; i < transcript.Count - 1; i++)
        {
            if ((transcript[i].TypeData[0] & EapTlsFraming.MoreFragments) != 0)
            {
                Assert.Equal(new byte[] { 0 }, transcript[i + 1].TypeData);
                Assert.NotEqual(transcript[i].FromServer, transcript[i + 1].FromServer);
            }
        }

        Assert.Contains(transcript, m => m.TypeData[0] == (EapTlsFraming.LengthIncluded | EapTlsFraming.MoreFragments));
    }

    [Fact]
    public void AClientOfAnUntrustedCa_IsRefused_ByTheServer()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var other = TestPki.NewCa("ecdsa256", "Elsewhere");
        var (server, peer) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(other, "ecdsa256", "sun.example", trusts: ca));
        var (last, atServer, _) = Run(server, peer);

        Assert.Equal(EapStepKind.Failure, last.Kind);
        Assert.True(atServer);
        Assert.Contains("no trusted path from 'C=CH, O=Oakley Test, CN=sun.example'", last.Error);
        Assert.Null(server.Msk);
        Assert.Null(peer.Msk);
    }

    [Fact]
    public void AnExpiredClient_IsRefused_WithTheDate()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (server, peer) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example", notAfter: Now.AddDays(-1)));
        var (last, atServer, _) = Run(server, peer);

        Assert.Equal(EapStepKind.Failure, last.Kind);
        Assert.True(atServer);
        Assert.Contains("certificate 'C=CH, O=Oakley Test, CN=sun.example' expired on", last.Error);
    }

    [Fact]
    public void AClientCertificate_ThatDoesNotConfirmTheEapIdentity_IsRefused()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (server, peer) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example"), eapIdentity: Identity.Parse("carol@example.org"));
        var (last, atServer, _) = Run(server, peer);

        Assert.Equal(EapStepKind.Failure, last.Kind);
        Assert.True(atServer);
        Assert.Contains("ID 'carol@example.org' not confirmed by certificate 'C=CH, O=Oakley Test, CN=sun.example'", last.Error);
    }

    [Fact]
    public void AClientCertificate_WhoseEkuForbidsIke_IsRefused()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (server, peer) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example", eku: ["1.3.6.1.5.5.7.3.3"]));
        var (last, atServer, _) = Run(server, peer);

        Assert.Equal(EapStepKind.Failure, last.Kind);
        Assert.True(atServer);
        Assert.Contains("extendedKeyUsage codeSigning", last.Error);
    }

    [Fact]
    public void AServerCertificate_ThatDoesNotConfirmTheExpectedIdentity_IsRefused_ByThePeer()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var (server, peer) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example"), expectedServer: Identity.Parse("gateway.example"));
        var (last, atServer, _) = Run(server, peer);

        Assert.Equal(EapStepKind.Failure, last.Kind);
        Assert.False(atServer);
        Assert.Contains("ID 'gateway.example' not confirmed by certificate 'C=CH, O=Oakley Test, CN=moon.example'", last.Error);
        Assert.False(peer.ServerAuthenticated);
        Assert.Null(peer.Msk);
    }

    [Fact]
    public void AnUntrustedServer_IsRefused_ByThePeer_AndAWildcardExpectation_MatchesTheNames()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var other = TestPki.NewCa("ecdsa256", "Elsewhere");
        var (server, peer) = Pair(Make(other, "ecdsa256", "moon.example", trusts: ca), Make(ca, "ecdsa256", "sun.example"));
        var (last, atServer, _) = Run(server, peer);
        Assert.Equal(EapStepKind.Failure, last.Kind);
        Assert.False(atServer);
        Assert.Contains("no trusted path from 'C=CH, O=Oakley Test, CN=moon.example'", last.Error);

        var (server2, peer2) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example"), expectedServer: Identity.Parse("*.example"));
        var wildcard = Run(server2, peer2).Last;
        Assert.True(wildcard.Kind == EapStepKind.Success, wildcard.Error);

        var (server3, peer3) = Pair(Make(ca, "ecdsa256", "moon.example"), Make(ca, "ecdsa256", "sun.example"), expectedServer: Identity.Parse("*.example.org"));
        Assert.Contains("ID '*.example.org' not confirmed", Run(server3, peer3).Last.Error);
    }
}
