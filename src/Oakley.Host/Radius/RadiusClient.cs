using Microsoft.Extensions.Logging;
using Oakley.Config;

namespace Oakley.Host.Radius;

/// <summary>A verified RADIUS answer, with what it answered (the MPPE keys are encrypted under the request's authenticator).</summary>
public sealed record RadiusExchange(RadiusPacket Response, byte[] RequestAuthenticator, RadiusServerSettings Server);

/// <summary>
/// The RADIUS client of <c>charon.plugins.eap-radius</c>: asynchronous UDP, one socket per server and port
/// (<see cref="RadiusChannel"/>), retransmissions, then failover to the next server. Servers are tried reachable
/// first (a server that timed out last time goes after the others), then by preference, then in configuration
/// order. Every request gets the server's NAS-Identifier (as strongSwan's radius_client adds it) and is signed with
/// that server's secret. Nothing here runs on the caller's thread past the first await; callers on the engine
/// thread start it with <see cref="Task.Run(Func{Task})"/>.
/// </summary>
public sealed class RadiusClient : IAsyncDisposable
{
    private readonly List<Server> _servers;
    private readonly ILogger _log;

    private sealed class Server(RadiusServerSettings settings, int order, RadiusChannel auth, RadiusChannel acct)
    {
        public RadiusServerSettings Settings { get; } = settings;

        public int Order { get; } = order;

        public RadiusChannel Auth { get; } = auth;

        public RadiusChannel Acct { get; } = acct;

        public volatile bool Unreachable;
    }

    public RadiusClient(IReadOnlyList<RadiusServerSettings> servers, ILogger log, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(servers);
        _log = log;
        var clock = time ?? TimeProvider.System;
        _servers = servers.Select((s, i) => new Server(s, i, new RadiusChannel(s, s.AuthPort, log, clock), new RadiusChannel(s, s.AcctPort, log, clock))).ToList();
    }

    public IReadOnlyList<RadiusServerSettings> Servers => _servers.Select(s => s.Settings).ToList();

    /// <summary>
    /// Sends <paramref name="request"/> (an Access-Request or Accounting-Request, without NAS-Identifier and
    /// Message-Authenticator: they are added per server) and returns the first verified answer; null when every
    /// server tried timed out. <paramref name="only"/>: the one server to ask (an EAP conversation's State belongs
    /// to the server that issued it).
    /// </summary>
    public async Task<RadiusExchange?> SendAsync(RadiusPacket request, RadiusServerSettings? only, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(request);
        var order = _servers.Where(s => only is null || ReferenceEquals(s.Settings, only))
            .OrderBy(s => s.Unreachable).ThenByDescending(s => s.Settings.Preference).ThenBy(s => s.Order).ToList();
        foreach (var server in order)
        {
            var accounting = request.Code == RadiusCode.AccountingRequest;
            var channel = accounting ? server.Acct : server.Auth;
            byte[]? authenticator = null;
            _log.LogDebug("sending RADIUS {Code} to server '{Server}'", request.Code, server.Settings.Name);
            var response = await channel.ExchangeAsync(request.Code, id =>
            {
                var copy = ForServer(request, server.Settings, id);
                var bytes = accounting ? RadiusSigning.EncodeAccountingRequest(copy, server.Settings.Secret) : RadiusSigning.EncodeAccessRequest(copy, server.Settings.Secret);
                authenticator = copy.Authenticator;
                return bytes;
            }, cancel).ConfigureAwait(false);
            server.Unreachable = response is null;
            if (response is not null)
            {
                _log.LogDebug("received RADIUS {Code} from server '{Server}'", response.Code, server.Settings.Name);
                return new RadiusExchange(response, authenticator!, server.Settings);
            }
        }

        return null;
    }

    private static RadiusPacket ForServer(RadiusPacket request, RadiusServerSettings server, byte id)
    {
        var copy = new RadiusPacket(request.Code, id);
        copy.Attributes.AddRange(request.Attributes.Where(a => a.Type is not RadiusAttributeType.MessageAuthenticator and not RadiusAttributeType.NasIdentifier));
        copy.AddString(RadiusAttributeType.NasIdentifier, server.NasIdentifier);
        return copy;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers)
        {
            await s.Auth.DisposeAsync().ConfigureAwait(false);
            await s.Acct.DisposeAsync().ConfigureAwait(false);
        }
    }
}
