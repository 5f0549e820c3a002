using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Engine.Eap;
using Oakley.Host.Radius;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley radius-check</c> (hidden, for tests/interop/radius-freeradius.sh): plays an IKE SA's EAP-MD5 peer
/// through the eap-radius relay against the servers of a strongswan.conf, then sends that session's accounting
/// Start and Stop, exactly as the daemon would. Prints one line per step; exit 0 when all went through.
/// </summary>
internal static class RadiusCheck
{
    private const long IkeSaId = 7;

    public static async Task<int> RunAsync(string settingsPath, string user, string password, ILogger log, TextWriter output)
    {
        var settings = RadiusSettings.Read(SwanctlFile.ReadSettings(settingsPath, "strongswan.conf")) with { Accounting = true };
        if (!settings.Enabled)
        {
            await output.WriteLineAsync($"{settingsPath} configures no RADIUS server (charon.plugins.eap-radius)");
            return 1;
        }

        await using var client = new RadiusClient(settings.Servers, log);
        var counters = new Dictionary<uint, (long, long, long, long)>();
        using var accounting = new RadiusAccounting(client, settings, spi => counters.TryGetValue(spi, out var c) ? c : null, log);
        using var resumed = new SemaphoreSlim(0);
        var aaa = new EapRadiusAaa(settings, client, _ => resumed.Release(), log, accounting);
        var local = new IPEndPoint(IPAddress.Loopback, 4500);
        var remote = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 4500);
        using var server = aaa.Create(new EapContext(IkeSaId, "rw", Identity.Parse(user), null, local, remote), out var error);
        if (server is null)
        {
            await output.WriteLineAsync($"no EAP-RADIUS server: {error}");
            return 1;
        }

        var outcome = await AuthenticateAsync(server, resumed, user, password, output);
        if (outcome is null)
        {
            return 1;
        }

        await output.WriteLineAsync($"eap: success, method {outcome.Method}, identity {outcome.EapIdentity}, MSK {(outcome.Msk is null ? "none" : $"{outcome.Msk.Length} bytes")}, framed [{string.Join(", ", outcome.FramedAddresses)}]");

        var now = DateTimeOffset.UtcNow;
        accounting.Handle(new IkeSaUp(now, IkeSaId, "rw", 1, 2, false, local, remote, "-", "oakley", user));
        accounting.Handle(new ChildSaInstall(now, IkeSaId, "rw", "net", 0x1001, 0x2002, false, true, Iana.EncrId.AesGcm16, 256, Iana.IntegId.None, false,
            [], [], [], [], [], [], local, remote, TimeSpan.FromHours(1), TimeSpan.FromHours(2)));
        counters[0x1001] = (1234, 10, 5678, 20);
        accounting.Handle(new IkeSaDown(now + TimeSpan.FromSeconds(2), IkeSaId, "rw", "deleted"));
        for (var i = 0; i < 300 && accounting.Outstanding > 0; i++)
        {
            await Task.Delay(50);
        }

        await output.WriteLineAsync(accounting.Outstanding == 0 ? $"accounting: start and stop answered (session {accounting.SessionId(IkeSaId)})" : "accounting: no answer");
        return accounting.Outstanding == 0 ? 0 : 1;
    }

    /// <summary>The peer's side of EAP-Identity and EAP-MD5 (RFC 3748 §5.1, §5.4), handed to the relay as the engine would.</summary>
    private static async Task<EapOutcome?> AuthenticateAsync(IEapAuthenticator server, SemaphoreSlim resumed, string user, string password, TextWriter output)
    {
        var step = server.Start();
        for (var round = 0; round < 10; round++)
        {
            if (step.Kind == EapStepKind.Success)
            {
                return server.Outcome;
            }

            if (step.Kind != EapStepKind.Send || step.Data is not { Length: >= 5 } request)
            {
                await output.WriteLineAsync($"eap: {step.Kind} {step.Error}");
                return null;
            }

            var response = Respond(request, user, password);
            await output.WriteLineAsync($"eap: request type {request[4]}, answering with type {response[4]}");
            step = server.Process(response);
            for (var wait = 0; wait < 2 && step.Kind == EapStepKind.Pending; wait++)
            {
                if (!await resumed.WaitAsync(TimeSpan.FromSeconds(30)))
                {
                    await output.WriteLineAsync("eap: no resume within 30 s");
                    return null;
                }

                step = server.Process(response);
            }
        }

        await output.WriteLineAsync("eap: too many rounds");
        return null;
    }

    private static byte[] Respond(byte[] request, string user, string password)
    {
        byte[] data;
        if (request[4] == (byte)EapType.Identity)
        {
            data = [(byte)EapType.Identity, .. Encoding.UTF8.GetBytes(user)];
        }
        else if (request[4] == (byte)EapType.Md5 && request.Length >= 6 && request.Length >= 6 + request[5])
        {
            // RFC 1994 §4.1 as RFC 3748 §5.4 uses it: MD5(Identifier || secret || challenge).
            var challenge = request.AsSpan(6, request[5]);
            var value = MD5.HashData([request[1], .. Encoding.UTF8.GetBytes(password), .. challenge]);
            data = [(byte)EapType.Md5, 16, .. value];
        }
        else
        {
            data = [(byte)EapType.Nak, (byte)EapType.Md5]; // RFC 3748 §5.3.1: ask for MD5
        }

        var length = 4 + data.Length;
        return [2, request[1], (byte)(length >> 8), (byte)length, .. data];
    }
}
