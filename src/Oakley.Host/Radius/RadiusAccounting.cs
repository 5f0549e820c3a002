using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host.Radius;

/// <summary>
/// RADIUS accounting (RFC 2866) of the IKE SAs that authenticated through RADIUS, as strongSwan's eap-radius does
/// with <c>accounting = yes</c>: Accounting-Request Start when the IKE SA is up, Interim-Update every
/// accounting_interval (or the Acct-Interim-Interval of the Access-Accept), Stop when it goes, with the octets and
/// packets of its CHILD SAs summed (those deleted or rekeyed away included), the session time and the terminate
/// cause. <see cref="Handle"/> and <see cref="Tick"/> run on the engine thread (the CHILD SA counters are read
/// there); <see cref="Authenticated"/> may be called from any thread. Requests are sent off the engine thread.
/// </summary>
public sealed class RadiusAccounting : IDisposable
{
    private readonly RadiusClient _client;
    private readonly RadiusSettings _settings;
    private readonly Func<uint, (long BytesIn, long PacketsIn, long BytesOut, long PacketsOut)?> _counters;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<long, Authorization> _authorized = new();
    private readonly Dictionary<long, Session> _sessions = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly uint _prefix;
    private int _outstanding;

    private sealed record Authorization(byte[] UserName, IReadOnlyList<IPAddress> Framed, TimeSpan? Interim);

    private sealed class Session(string id, Authorization auth, IkeSaUp up)
    {
        public string Id { get; } = id;

        public long IkeSaId { get; } = up.IkeSaId;

        public Authorization Auth { get; } = auth;

        public string Connection { get; } = up.Name;

        public DateTimeOffset Started { get; } = up.Time;

        public IPEndPoint Local { get; set; } = up.Local;

        public IPEndPoint Remote { get; set; } = up.Remote;

        public DateTimeOffset? NextInterim { get; set; }

        /// <summary>The CHILD SAs held now, by inbound SPI.</summary>
        public HashSet<uint> Children { get; } = [];

        /// <summary>What the CHILD SAs deleted since the start carried.</summary>
        public Usage Retired { get; set; }
    }

    /// <summary>Octets and packets in (from the peer) and out (to it), RFC 2866 §5.3–§5.6.</summary>
    public readonly record struct Usage(ulong OctetsIn, ulong PacketsIn, ulong OctetsOut, ulong PacketsOut)
    {
        public static Usage operator +(Usage a, Usage b) => new(a.OctetsIn + b.OctetsIn, a.PacketsIn + b.PacketsIn, a.OctetsOut + b.OctetsOut, a.PacketsOut + b.PacketsOut);
    }

    /// <param name="counters">A CHILD SA's counters by inbound SPI (the data plane's, e.g. <c>DataPlaneInstaller.Counters</c>); null once it is gone.</param>
    public RadiusAccounting(RadiusClient client, RadiusSettings settings, Func<uint, (long BytesIn, long PacketsIn, long BytesOut, long PacketsOut)?> counters, ILogger log, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _client = client;
        _settings = settings;
        _counters = counters;
        _log = log;
        // strongSwan: the session IDs are "<daemon start time>-<IKE SA unique ID>", unique across restarts.
        _prefix = (uint)(time ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();
    }

    /// <summary>Accounting-Requests sent and not answered yet (for tests and shutdown).</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>The Acct-Session-Id of an IKE SA (also sent in its Access-Requests), or null with accounting off.</summary>
    public string? SessionId(long ikeSaId) => _settings.Accounting ? string.Create(CultureInfo.InvariantCulture, $"{_prefix}-{ikeSaId}") : null;

    /// <summary>An Access-Accept for the IKE SA: its accounting starts when the SA is up.</summary>
    public void Authenticated(long ikeSaId, byte[] userName, IReadOnlyList<IPAddress> framed, TimeSpan? interim)
    {
        if (_settings.Accounting)
        {
            _authorized[ikeSaId] = new Authorization(userName, framed, interim);
        }
    }

    /// <summary>An engine event (engine thread), before the data plane forgets a removed CHILD SA's counters.</summary>
    public void Handle(EngineEvent e)
    {
        switch (e)
        {
            case IkeSaUp up when _authorized.TryRemove(up.IkeSaId, out var auth):
                var session = new Session(SessionId(up.IkeSaId)!, auth, up);
                var interval = auth.Interim ?? _settings.AccountingInterval;
                session.NextInterim = interval > TimeSpan.Zero ? up.Time + interval : null;
                _sessions[up.IkeSaId] = session;
                Send(session, AcctStatusType.Start, up.Time, null);
                break;
            case ChildSaInstall c when _sessions.TryGetValue(c.IkeSaId, out var s):
                s.Children.Add(c.InboundSpi);
                break;
            case ChildSaRemove r when _sessions.TryGetValue(r.IkeSaId, out var s) && s.Children.Remove(r.InboundSpi):
                s.Retired += Read(r.InboundSpi);
                break;
            case IkeSaAddressesChanged moved when _sessions.TryGetValue(moved.IkeSaId, out var s):
                s.Local = moved.Local;
                s.Remote = moved.Remote;
                break;
            case IkeSaDown down:
                _authorized.TryRemove(down.IkeSaId, out _);
                if (_sessions.Remove(down.IkeSaId, out var gone))
                {
                    // strongSwan: a peer that stopped answering is Lost-Service; anything else a User-Request.
                    Send(gone, AcctStatusType.Stop, down.Time, down.PeerDead ? AcctTerminateCause.LostService : AcctTerminateCause.UserRequest);
                }

                break;
        }
    }

    /// <summary>Sends the Interim-Updates that are due (engine thread; the host calls it about once a second).</summary>
    public void Tick(DateTimeOffset now)
    {
        foreach (var session in _sessions.Values)
        {
            if (session.NextInterim is { } due && due <= now)
            {
                var interval = session.Auth.Interim ?? _settings.AccountingInterval;
                session.NextInterim = due + interval <= now ? now + interval : due + interval; // a stalled host does not send a burst
                Send(session, AcctStatusType.InterimUpdate, now, null);
            }
        }
    }

    /// <summary>Runs <see cref="Tick"/> on the engine thread once a second until stopped.</summary>
    internal async Task RunAsync(IkeHost host, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                await host.Invoke((_, now) =>
                {
                    Tick(now);
                    return 0;
                }).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private Usage Read(uint spi) => _counters(spi) is { } c
        ? new Usage((ulong)Math.Max(0, c.BytesIn), (ulong)Math.Max(0, c.PacketsIn), (ulong)Math.Max(0, c.BytesOut), (ulong)Math.Max(0, c.PacketsOut))
        : default;

    private void Send(Session session, AcctStatusType status, DateTimeOffset now, AcctTerminateCause? cause)
    {
        var packet = new RadiusPacket(RadiusCode.AccountingRequest);
        packet.AddUInt32(RadiusAttributeType.AcctStatusType, (uint)status);
        packet.AddString(RadiusAttributeType.AcctSessionId, session.Id);
        RadiusNasAttributes.Add(packet, session.IkeSaId, session.Connection, session.Local, session.Remote);
        packet.Add(RadiusAttributeType.UserName, session.Auth.UserName.AsSpan(0, Math.Min(session.Auth.UserName.Length, RadiusPacket.MaxValueLength)));
        foreach (var framed in session.Auth.Framed)
        {
            packet.AddAddress(framed.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? RadiusAttributeType.FramedIpAddress : RadiusAttributeType.FramedIpv6Address, framed);
        }

        if (status != AcctStatusType.Start)
        {
            var usage = session.Children.Aggregate(session.Retired, (sum, spi) => sum + Read(spi));
            AddOctets(packet, RadiusAttributeType.AcctOutputOctets, RadiusAttributeType.AcctOutputGigawords, usage.OctetsOut);
            packet.AddUInt32(RadiusAttributeType.AcctOutputPackets, unchecked((uint)usage.PacketsOut));
            AddOctets(packet, RadiusAttributeType.AcctInputOctets, RadiusAttributeType.AcctInputGigawords, usage.OctetsIn);
            packet.AddUInt32(RadiusAttributeType.AcctInputPackets, unchecked((uint)usage.PacketsIn));
            packet.AddUInt32(RadiusAttributeType.AcctSessionTime, (uint)Math.Clamp((now - session.Started).TotalSeconds, 0, uint.MaxValue));
        }

        if (cause is { } c)
        {
            packet.AddUInt32(RadiusAttributeType.AcctTerminateCause, (uint)c);
        }

        Interlocked.Increment(ref _outstanding);
        _ = Task.Run(() => SendAsync(packet, status, session.Id));
    }

    /// <summary>RFC 2869 §5.1/§5.2: the octet counts modulo 2^32, and how many times they wrapped (only when they did, as strongSwan).</summary>
    private static void AddOctets(RadiusPacket packet, RadiusAttributeType octets, RadiusAttributeType gigawords, ulong value)
    {
        packet.AddUInt32(octets, unchecked((uint)value));
        if (value >> 32 is var high and > 0)
        {
            packet.AddUInt32(gigawords, (uint)Math.Min(high, uint.MaxValue));
        }
    }

    private async Task SendAsync(RadiusPacket packet, AcctStatusType status, string session)
    {
        try
        {
            if (await _client.SendAsync(packet, null, _stop.Token).ConfigureAwait(false) is null)
            {
                _log.LogWarning("RADIUS accounting {Status} for session {Session}: no server answered", status, session);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
