using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Engine.Pools;
using Oakley.Iana;

namespace Oakley.Cli;

/// <summary>
/// What <c>oakley bench handshake</c> negotiates: the responder's connection, the initiator's connections, the
/// credentials of each side and the responder's pools. Site-to-site (<c>--auth psk</c> or certificates): one
/// connection that every IKE SA uses. Remote access (<c>--auth eap-mschapv2</c>, <see cref="BenchRemoteAccess"/>):
/// one connection per client, because the EAP identity is a property of the connection (swanctl's
/// <c>local.eap_id</c>) and every client needs its own.
/// </summary>
internal sealed class BenchSetup
{
    private readonly Func<IPAddress, IPEndPoint, bool, IReadOnlyList<IkeConfig>> _initiators;
    private readonly Func<int, string> _connection;

    public BenchSetup(IkeConfig responder, Func<IPAddress, IPEndPoint, bool, IReadOnlyList<IkeConfig>> initiators, Func<int, string> connection,
        ISecretStore initiatorSecrets, ISecretStore responderSecrets, IReadOnlyList<PoolConfig> pools, string label)
    {
        ResponderTemplate = responder;
        _initiators = initiators;
        _connection = connection;
        InitiatorSecrets = initiatorSecrets;
        ResponderSecrets = responderSecrets;
        Pools = pools;
        Label = label;
    }

    /// <summary>The responder's connection; its local address is set by <see cref="Responder"/>.</summary>
    private IkeConfig ResponderTemplate { get; }

    public ISecretStore InitiatorSecrets { get; }

    public ISecretStore ResponderSecrets { get; }

    /// <summary>The responder's virtual IP pools (none for site-to-site).</summary>
    public IReadOnlyList<PoolConfig> Pools { get; }

    /// <summary>How the run is described in the output (authentication of both sides).</summary>
    public string Label { get; }

    public bool RemoteAccess => Pools.Count > 0;

    public const string ChildName = "net";

    public static IReadOnlyList<AlgorithmProposal> Esp { get; } = ProposalString.ParseList("aes256gcm16", ProtocolId.Esp);

    /// <summary>The connection the handshake number <paramref name="index"/> (from 0, warm-up included) initiates.</summary>
    public string Connection(int index) => _connection(index);

    /// <summary>The initiator's connections, to <paramref name="remote"/> (over UDP without MOBIKE: no NAT-T socket to move to).</summary>
    public IReadOnlyList<IkeConfig> Initiators(IPAddress local, IPEndPoint remote, bool mobike) => _initiators(local, remote, mobike);

    public IkeConfig Responder(IPAddress local) => new()
    {
        Name = ResponderTemplate.Name, LocalAddresses = [local], Proposals = ResponderTemplate.Proposals, LocalId = ResponderTemplate.LocalId,
        Children = ResponderTemplate.Children, LocalAuth = ResponderTemplate.LocalAuth, RemoteAuth = ResponderTemplate.RemoteAuth, Pools = ResponderTemplate.Pools,
    };

    /// <summary>The setup of <c>--auth</c>: site-to-site with PSK or certificates, or remote access with EAP-MSCHAPv2 clients.</summary>
    public static BenchSetup Create(string auth, string gatewayAuth, string proposal, int clients, int poolSize)
    {
        var proposals = ProposalString.ParseList(proposal, ProtocolId.Ike);
        return auth == BenchRemoteAccess.Kind
            ? BenchRemoteAccess.Create(gatewayAuth, proposals, clients, poolSize)
            : SiteToSite(auth, proposals);
    }

    private static BenchSetup SiteToSite(string auth, IReadOnlyList<AlgorithmProposal> proposals)
    {
        var (secrets, iAuth, rAuth) = BenchCredentials.Create(auth);
        var child = new ChildConfig
        {
            Name = ChildName,
            LocalTs = [TrafficSelectorRange.Parse("198.51.100.0/24")],
            RemoteTs = [TrafficSelectorRange.Parse("203.0.113.0/24")],
            EspProposals = Esp,
        };
        var childR = new ChildConfig { Name = ChildName, LocalTs = child.RemoteTs, RemoteTs = child.LocalTs, EspProposals = Esp };
        var responder = new IkeConfig
        {
            Name = "bench", Proposals = proposals, LocalId = Identity.Parse("responder.example"), Children = [childR], LocalAuth = rAuth, RemoteAuth = Verify(iAuth),
        };
        IReadOnlyList<IkeConfig> Initiators(IPAddress local, IPEndPoint remote, bool mobike) =>
        [
            new IkeConfig
            {
                Name = "bench", LocalAddresses = [local], RemoteAddresses = [remote.Address], RemotePort = remote.Port, Proposals = proposals,
                LocalId = Identity.Parse("initiator.example"), Children = [child], SendInitialContact = false, Mobike = mobike, LocalAuth = iAuth, RemoteAuth = Verify(rAuth),
            },
        ];
        var label = auth == "psk" ? "PSK" : "certificates " + auth;
        return new BenchSetup(responder, Initiators, _ => "bench", secrets, secrets, [], label);
    }

    /// <summary>The peer's side of a round: a certificate from the trusted CA (pubkey), or the PSK.</summary>
    public static AuthConfig Verify(AuthConfig peer) => peer.Class == AuthClass.Psk ? AuthConfig.Psk : new AuthConfig { Class = AuthClass.PublicKey };
}
