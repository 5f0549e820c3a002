using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Engine.Eap;
using Oakley.Host.Radius;

namespace Oakley.Host.Tests.Radius;

/// <summary>
/// The EAP relay against fake RADIUS servers on 127.0.0.1 (real UDP): challenge rounds with State, an Accept with
/// MPPE keys and Framed-IP addresses, a Reject, silence with failover to the second server, and a forged answer.
/// </summary>
public sealed class EapRadiusAuthenticatorTests : IAsyncDisposable
{
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("testing123");
    private static readonly byte[] IdentityResponse = [2, 0, 0, 10, 1, .. "carol"u8];
    private static readonly byte[] Md5Request = [1, 2, 0, 22, 4, 16, .. Enumerable.Range(0, 16).Select(i => (byte)i)];
    private static readonly byte[] Md5Response = [2, 2, 0, 22, 4, 16, .. Enumerable.Range(100, 16).Select(i => (byte)i)];
    private static readonly byte[] SendKey = Enumerable.Range(0, 32).Select(i => (byte)(0x40 + i)).ToArray();
    private static readonly byte[] RecvKey = Enumerable.Range(0, 32).Select(i => (byte)(0x80 + i)).ToArray();

    private readonly List<FakeRadiusServer> _servers = [];
    private readonly SemaphoreSlim _resumed = new(0);
    private readonly List<long> _resumedIds = [];
    private RadiusClient? _client;

    private FakeRadiusServer Server(Func<FakeRadiusServer, RadiusPacket, IEnumerable<byte[]>> answer)
    {
        FakeRadiusServer? server = null;
        server = new FakeRadiusServer(Secret, request => answer(server!, request));
        _servers.Add(server);
        return server;
    }

    private EapRadiusAaa Aaa(bool eapStart, params RadiusServerSettings[] servers)
    {
        var settings = new RadiusSettings(servers, eapStart, false, TimeSpan.Zero, []);
        _client = new RadiusClient(servers, NullLogger.Instance);
        return new EapRadiusAaa(settings, _client, id =>
        {
            lock (_resumedIds)
            {
                _resumedIds.Add(id);
            }

            _resumed.Release();
        }, NullLogger.Instance);
    }

    private static EapContext Context(long id = 42, Identity? eapId = null) =>
        new(id, "rw", Identity.Parse("carol@strongswan.org"), eapId, new IPEndPoint(IPAddress.Loopback, 500), new IPEndPoint(IPAddress.Parse("127.0.0.2"), 4500));

    /// <summary>Waits for the resume callback, then hands the same response in again (what the engine does).</summary>
    private async Task<EapStep> Resumed(Func<EapStep> again)
    {
        Assert.True(await _resumed.WaitAsync(TimeSpan.FromSeconds(10)), "the resume callback never came");
        return again();
    }

    private static IEnumerable<byte[]> Challenge(FakeRadiusServer s, RadiusPacket request, string state) =>
        [s.Respond(request, RadiusCode.AccessChallenge, r =>
        {
            r.AddEapMessage(Md5Request);
            r.Add(RadiusAttributeType.State, Encoding.ASCII.GetBytes(state));
        })];

    [Fact]
    public async Task ChallengeThenAccept_RelaysEap_EchoesState_AndYieldsTheMskAndFramedAddresses()
    {
        var server = Server((s, request) => request.Find(RadiusAttributeType.State) is null
            ? Challenge(s, request, "round1")
            : [s.Respond(request, RadiusCode.AccessAccept, r =>
            {
                r.AddEapMessage([3, 2, 0, 4]);
                r.AddVendor(RadiusNumbers.VendorMicrosoft, RadiusNumbers.MsMppeSendKey, MppeKeys.Encrypt(SendKey, Secret, request.Authenticator, 0x8001));
                r.AddVendor(RadiusNumbers.VendorMicrosoft, RadiusNumbers.MsMppeRecvKey, MppeKeys.Encrypt(RecvKey, Secret, request.Authenticator, 0x8002));
                r.AddAddress(RadiusAttributeType.FramedIpAddress, IPAddress.Parse("10.3.0.5"));
                r.AddAddress(RadiusAttributeType.FramedIpv6Address, IPAddress.Parse("2001:db8::5"));
            })]);
        var aaa = Aaa(false, server.Settings("one"));
        using var auth = aaa.Create(Context(), out var error)!;
        Assert.Null(error);

        // No EAP identity configured: we ask for it ourselves (RFC 3748 §5.1).
        Assert.Equal(EapStep.Send([1, 0, 0, 5, 1]).Data, auth.Start().Data);
        Assert.Equal(EapStepKind.Pending, auth.Process(IdentityResponse).Kind);
        // A retransmitted IKE request: still pending, or (if the server's answer came in between) the answer itself.
        var retransmitted = auth.Process(IdentityResponse);
        EapStep challenge;
        if (retransmitted.Kind == EapStepKind.Pending)
        {
            challenge = await Resumed(() => auth.Process(IdentityResponse));
        }
        else
        {
            Assert.True(await _resumed.WaitAsync(TimeSpan.FromSeconds(10)), "the resume callback never came");
            challenge = retransmitted;
        }

        Assert.Equal(EapStepKind.Send, challenge.Kind);
        Assert.Equal(Md5Request, challenge.Data);
        Assert.Single(server.Received); // one Access-Request for the two calls

        Assert.Equal(EapStepKind.Pending, auth.Process(Md5Response).Kind);
        var done = await Resumed(() => auth.Process(Md5Response));
        Assert.Equal(EapStepKind.Success, done.Kind);
        Assert.Equal([42L, 42L], _resumedIds);

        var outcome = auth.Outcome!;
        Assert.Equal([.. RecvKey, .. SendKey], outcome.Msk!);
        Assert.Equal(["10.3.0.5", "2001:db8::5"], outcome.FramedAddresses.Select(a => a.ToString()));
        Assert.Equal(Identity.Parse("carol"), outcome.EapIdentity);
        Assert.Equal("eap-radius (md5)", outcome.Method);

        var requests = server.Received.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.All(requests, r => Assert.True(r.Verified)); // Message-Authenticator right
        var first = requests[0].Packet;
        Assert.Equal("carol", first.FindString(RadiusAttributeType.UserName));
        Assert.Equal(IdentityResponse, first.EapMessage());
        Assert.Equal(5u, first.FindUInt32(RadiusAttributeType.NasPortType));
        Assert.Equal(2u, first.FindUInt32(RadiusAttributeType.ServiceType));
        Assert.Equal(42u, first.FindUInt32(RadiusAttributeType.NasPort));
        Assert.Equal(IPAddress.Loopback.GetAddressBytes(), first.Find(RadiusAttributeType.NasIpAddress));
        Assert.Equal("127.0.0.1[500]", first.FindString(RadiusAttributeType.CalledStationId));
        Assert.Equal("127.0.0.2[4500]", first.FindString(RadiusAttributeType.CallingStationId));
        Assert.Equal("oakley-test", first.FindString(RadiusAttributeType.NasIdentifier));
        Assert.Null(first.Find(RadiusAttributeType.State));
        Assert.Equal("round1", requests[1].Packet.FindString(RadiusAttributeType.State));
        Assert.Equal(Md5Response, requests[1].Packet.EapMessage());
    }

    [Fact]
    public async Task Reject_FailsWithTheReplyMessage()
    {
        var server = Server((s, request) => request.Find(RadiusAttributeType.State) is null
            ? Challenge(s, request, "r")
            : [s.Respond(request, RadiusCode.AccessReject, r => r.AddString(RadiusAttributeType.ReplyMessage, "bad password\n"))]);
        using var auth = Aaa(false, server.Settings("one")).Create(Context(), out _)!;
        auth.Start();
        auth.Process(IdentityResponse);
        Assert.Equal(EapStepKind.Send, (await Resumed(() => auth.Process(IdentityResponse))).Kind);
        auth.Process(Md5Response);
        var failed = await Resumed(() => auth.Process(Md5Response));
        Assert.Equal(EapStep.Fail("RADIUS authentication of 'carol' failed: bad password?"), failed);
        Assert.Null(auth.Outcome);
    }

    [Fact]
    public async Task SilentServer_IsRetransmittedTo_ThenTheNextServerAnswers_AndLaterRequestsGoThereFirst()
    {
        var silent = Server((_, _) => []);
        var second = Server((s, request) => Challenge(s, request, "b"));
        var aaa = Aaa(false, silent.Settings("silent", preference: 10, tries: 2, timeout: 0.1), second.Settings("second"));
        using var auth = aaa.Create(Context(), out _)!;
        auth.Start();
        Assert.Equal(EapStepKind.Pending, auth.Process(IdentityResponse).Kind);
        Assert.Equal(Md5Request, (await Resumed(() => auth.Process(IdentityResponse))).Data);

        var tries = silent.Received.ToArray();
        Assert.Equal(2, tries.Length);
        Assert.Equal(tries[0].Raw, tries[1].Raw); // RFC 2865 §2.5: the same Identifier and Request Authenticator
        Assert.Single(second.Received);

        // The conversation stays with the server whose State it holds; a new one skips the server that timed out.
        auth.Process(Md5Response);
        await Resumed(() => auth.Process(Md5Response));
        using var next = aaa.Create(Context(43), out _)!;
        next.Start();
        next.Process(IdentityResponse);
        await Resumed(() => next.Process(IdentityResponse));
        Assert.Equal(2, silent.Received.Count);
        Assert.Equal(3, second.Received.Count);
    }

    [Fact]
    public async Task NoServerAnswers_Fails()
    {
        var a = Server((_, _) => []);
        var b = Server((_, _) => []);
        using var auth = Aaa(false, a.Settings("a", tries: 1, timeout: 0.05), b.Settings("b", tries: 2, timeout: 0.05)).Create(Context(), out _)!;
        auth.Start();
        auth.Process(IdentityResponse);
        Assert.Equal(EapStep.Fail("RADIUS server(s) did not answer"), await Resumed(() => auth.Process(IdentityResponse)));
        Assert.Equal((1, 2), (a.Received.Count, b.Received.Count));
    }

    [Fact]
    public async Task ForgedAnswer_IsDropped()
    {
        // Each request gets a forged Access-Accept (signed with another secret) and then the genuine challenge.
        var server = Server((s, request) => [s.Respond(request, RadiusCode.AccessAccept, r => r.AddEapMessage([3, 0, 0, 4]), secret: "forger"u8.ToArray()), .. Challenge(s, request, "x")]);
        using var auth = Aaa(false, server.Settings("one")).Create(Context(), out _)!;
        auth.Start();
        auth.Process(IdentityResponse);
        Assert.Equal(Md5Request, (await Resumed(() => auth.Process(IdentityResponse))).Data);

        // Forged answers alone: the request times out.
        server.Answer = request => [server.Respond(request, RadiusCode.AccessAccept, r => r.AddEapMessage([3, 2, 0, 4]), secret: "forger"u8.ToArray())];
        auth.Process(Md5Response);
        Assert.Equal(EapStep.Fail("RADIUS server(s) did not answer"), await Resumed(() => auth.Process(Md5Response)));
    }

    [Fact]
    public async Task AnswerWithoutMessageAuthenticator_IsDropped()
    {
        // RFC 3579 §3.2: answers to an Access-Request with EAP-Message carry a Message-Authenticator. A Reject
        // without one (right secret, right Response Authenticator) is the BlastRADIUS shape: refused.
        var server = Server((s, request) => [s.Respond(request, RadiusCode.AccessReject, messageAuthenticator: false)]);
        using var auth = Aaa(false, server.Settings("one", tries: 2, timeout: 0.05)).Create(Context(), out _)!;
        auth.Start();
        auth.Process(IdentityResponse);
        Assert.Equal(EapStep.Fail("RADIUS server(s) did not answer"), await Resumed(() => auth.Process(IdentityResponse)));
        Assert.Equal(2, server.Received.Count);
    }

    [Fact]
    public async Task EapStart_WithAConfiguredIdentity_StartsWithEmptyEapMessage()
    {
        var server = Server((s, request) => Challenge(s, request, "s"));
        using var auth = Aaa(true, server.Settings("one")).Create(Context(eapId: Identity.Parse("dave@strongswan.org")), out _)!;
        Assert.Equal(EapStepKind.Pending, auth.Start().Kind);
        Assert.Equal(Md5Request, (await Resumed(auth.Start)).Data);
        var request = Assert.Single(server.Received).Packet;
        Assert.Equal([], request.EapMessage()!);
        Assert.Equal("dave@strongswan.org", request.FindString(RadiusAttributeType.UserName));
    }

    [Fact]
    public async Task AcceptWithoutAnyChallenge_IsAFailure()
    {
        // strongSwan's quirk for Microsoft servers that accept the first request unauthenticated.
        var server = Server((s, request) => [s.Respond(request, RadiusCode.AccessAccept)]);
        using var auth = Aaa(false, server.Settings("nps")).Create(Context(eapId: Identity.Parse("carol")), out _)!;
        Assert.Equal(EapStepKind.Pending, auth.Start().Kind);
        var step = await Resumed(auth.Start);
        Assert.Equal(EapStepKind.Failure, step.Kind);
        Assert.Contains("without an EAP exchange", step.Error, StringComparison.Ordinal);
        // The identity response we sent on carol's behalf (eap_start = no).
        Assert.Equal([2, 0, 0, 10, 1, .. "carol"u8], Assert.Single(server.Received).Packet.EapMessage());
    }

    [Fact]
    public void NoServerConfigured_CreatesNothing()
    {
        var aaa = new EapRadiusAaa(RadiusSettings.None, new RadiusClient([], NullLogger.Instance), _ => { }, NullLogger.Instance);
        Assert.Null(aaa.Create(Context(), out var error));
        Assert.Contains("no RADIUS server", error, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        foreach (var s in _servers)
        {
            await s.DisposeAsync();
        }

        _resumed.Dispose();
    }
}
