using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Host.Radius;
using Oakley.Iana;

namespace Oakley.Host.Tests.Radius;

/// <summary>RFC 2866 accounting of a RADIUS-authenticated IKE SA against a fake accounting server on 127.0.0.1.</summary>
public sealed class RadiusAccountingTests : IAsyncDisposable
{
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("acct-secret");
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly IPEndPoint Local = new(IPAddress.Loopback, 4500);
    private static readonly IPEndPoint Remote = new(IPAddress.Parse("127.0.0.3"), 4500);

    private readonly FakeRadiusServer _server;
    private readonly RadiusClient _client;
    private readonly Dictionary<uint, (long BytesIn, long PacketsIn, long BytesOut, long PacketsOut)> _counters = [];
    private readonly RadiusAccounting _accounting;

    public RadiusAccountingTests()
    {
        _server = new FakeRadiusServer(Secret, _ => []);
        _server.Answer = request => [_server.Respond(request, RadiusCode.AccountingResponse, messageAuthenticator: false)];
        var servers = new[] { _server.Settings("acct") };
        _client = new RadiusClient(servers, NullLogger.Instance);
        var settings = new RadiusSettings(servers, false, true, TimeSpan.FromSeconds(10), []);
        _accounting = new RadiusAccounting(_client, settings, spi => _counters.TryGetValue(spi, out var c) ? c : null, NullLogger.Instance);
    }

    private static ChildSaInstall Child(long ike, uint spi) => new(T0, ike, "rw", "net", spi, spi + 1, false, true, EncrId.AesGcm16, 256, IntegId.None, false,
        [], [], [], [], [], [], Local, Remote, TimeSpan.FromHours(1), TimeSpan.FromHours(2));

    private async Task<RadiusPacket> Next(int count)
    {
        for (var i = 0; i < 200 && _server.Received.Count < count; i++)
        {
            await Task.Delay(25);
        }

        Assert.Equal(count, _server.Received.Count);
        var (packet, _, verified) = _server.Received.ToArray()[count - 1];
        Assert.True(verified); // RFC 2866 §3 Request Authenticator
        return packet;
    }

    [Fact]
    public async Task StartInterimStop_CarryTheSummedCountersOfTheChildSas()
    {
        _accounting.Authenticated(7, "carol"u8.ToArray(), [IPAddress.Parse("10.3.0.5")], null);
        _accounting.Handle(new IkeSaUp(T0, 8, "other", 1, 2, false, Local, Remote, "-", "a", "b")); // not RADIUS-authenticated
        _accounting.Handle(new IkeSaUp(T0, 7, "rw", 1, 2, false, Local, Remote, "-", "moon", "carol"));
        var start = await Next(1);
        Assert.Equal((uint)AcctStatusType.Start, start.FindUInt32(RadiusAttributeType.AcctStatusType));
        Assert.Equal(_accounting.SessionId(7), start.FindString(RadiusAttributeType.AcctSessionId));
        Assert.EndsWith("-7", _accounting.SessionId(7), StringComparison.Ordinal);
        Assert.Equal("carol", start.FindString(RadiusAttributeType.UserName));
        Assert.Equal(7u, start.FindUInt32(RadiusAttributeType.NasPort));
        Assert.Equal(IPAddress.Parse("10.3.0.5").GetAddressBytes(), start.Find(RadiusAttributeType.FramedIpAddress));
        Assert.Equal("127.0.0.3[4500]", start.FindString(RadiusAttributeType.CallingStationId));
        Assert.Null(start.Find(RadiusAttributeType.AcctInputOctets));

        _accounting.Handle(Child(7, 0x1000));
        _accounting.Handle(Child(7, 0x2000));
        _accounting.Handle(Child(8, 0x3000));
        _counters[0x1000] = (5_000_000_100, 10, 300, 3);
        _counters[0x2000] = (100, 1, 200, 2);
        _counters[0x3000] = (1, 1, 1, 1);
        _accounting.Tick(T0 + TimeSpan.FromSeconds(9));
        _accounting.Tick(T0 + TimeSpan.FromSeconds(10));
        var interim = await Next(2);
        Assert.Equal((uint)AcctStatusType.InterimUpdate, interim.FindUInt32(RadiusAttributeType.AcctStatusType));
        // 5,000,000,200 octets in: 1 gigaword and 705,032,904 (RFC 2869 §5.1).
        Assert.Equal(705_032_904u, interim.FindUInt32(RadiusAttributeType.AcctInputOctets));
        Assert.Equal(1u, interim.FindUInt32(RadiusAttributeType.AcctInputGigawords));
        Assert.Equal(11u, interim.FindUInt32(RadiusAttributeType.AcctInputPackets));
        Assert.Equal(500u, interim.FindUInt32(RadiusAttributeType.AcctOutputOctets));
        Assert.Null(interim.Find(RadiusAttributeType.AcctOutputGigawords));
        Assert.Equal(5u, interim.FindUInt32(RadiusAttributeType.AcctOutputPackets));
        Assert.Equal(10u, interim.FindUInt32(RadiusAttributeType.AcctSessionTime));

        // A CHILD SA that goes (rekeyed away) still counts; the data plane forgets it after the event.
        _counters[0x2000] = (1000, 10, 2000, 20);
        _accounting.Handle(new ChildSaRemove(T0, 7, "net", 0x2000, 0x2001));
        _counters.Remove(0x2000);
        _counters[0x1000] = (400, 4, 300, 3);
        _accounting.Handle(new IkeSaDown(T0 + TimeSpan.FromSeconds(30), 7, "rw", "peer unreachable", PeerDead: true));
        var stop = await Next(3);
        Assert.Equal((uint)AcctStatusType.Stop, stop.FindUInt32(RadiusAttributeType.AcctStatusType));
        Assert.Equal(1400u, stop.FindUInt32(RadiusAttributeType.AcctInputOctets));
        Assert.Equal(2300u, stop.FindUInt32(RadiusAttributeType.AcctOutputOctets));
        Assert.Equal(14u, stop.FindUInt32(RadiusAttributeType.AcctInputPackets));
        Assert.Equal(30u, stop.FindUInt32(RadiusAttributeType.AcctSessionTime));
        Assert.Equal((uint)AcctTerminateCause.LostService, stop.FindUInt32(RadiusAttributeType.AcctTerminateCause));
        Assert.Equal(start.FindString(RadiusAttributeType.AcctSessionId), stop.FindString(RadiusAttributeType.AcctSessionId));

        _accounting.Handle(new IkeSaDown(T0, 8, "other", "deleted"));
        _accounting.Tick(T0 + TimeSpan.FromMinutes(5));
        await Task.Delay(200);
        Assert.Equal(3, _server.Received.Count); // nothing for the SA that did not authenticate through RADIUS
        for (var i = 0; i < 100 && _accounting.Outstanding > 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, _accounting.Outstanding); // every request was answered
    }

    [Fact]
    public void AccountingOff_NoSessionIdAndNothingTracked()
    {
        var off = new RadiusAccounting(_client, new RadiusSettings([], false, false, TimeSpan.Zero, []), _ => null, NullLogger.Instance);
        Assert.Null(off.SessionId(1));
        off.Authenticated(1, "x"u8.ToArray(), [], null);
        off.Handle(new IkeSaUp(T0, 1, "rw", 1, 2, false, Local, Remote, "-", "a", "b"));
        Assert.Equal(0, off.Outstanding);
        off.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        _accounting.Dispose();
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }
}
