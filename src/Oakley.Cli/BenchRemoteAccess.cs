using System.Buffers.Binary;
using System.Net;
using System.Text;
using Oakley.Config;
using Oakley.Crypto.Registry;
using Oakley.Crypto.Signature;
using Oakley.Engine;
using Oakley.Engine.Certificates;
using Oakley.Engine.Eap;
using Oakley.Engine.Pools;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley bench handshake --auth eap-mschapv2</c>: a remote-access gateway and its clients. The gateway
/// authenticates itself with the PSK (or a certificate, <c>--gateway-auth</c>), asks each client for its EAP
/// identity (<c>eap_id = %any</c>), runs EAP-MSCHAPv2 against the secrets of all clients in the daemon's own
/// <see cref="CredentialStore"/>, and hands out a virtual IPv4 from one pool. Client k is the connection
/// <c>userk</c> (IKE and EAP identity <c>userk</c>, its own password, <c>vips = 0.0.0.0</c>).
/// </summary>
internal static class BenchRemoteAccess
{
    public const string Kind = "eap-mschapv2";

    public const string PoolName = "bench";

    /// <summary>
    /// The pool's first address. RFC 2544's benchmarking network 198.18.0.0/15 (131,072 addresses): no traffic goes
    /// to a virtual IP in either mode (nothing installs them), and the documentation networks are /24s, too small.
    /// </summary>
    public static readonly IPAddress PoolBase = IPAddress.Parse("198.18.0.0");

    public const int MaxPool = 131_072;

    public static string User(int index) => $"user{index + 1}";

    public static BenchSetup Create(string gatewayAuth, IReadOnlyList<AlgorithmProposal> proposals, int clients, int poolSize)
    {
        if (poolSize is < 1 or > MaxPool)
        {
            throw new ArgumentException($"--pool must be 1..{MaxPool} (198.18.0.0/15)", nameof(poolSize));
        }

        if (clients > poolSize)
        {
            throw new ArgumentException($"{clients} clients (warm-up included) do not fit a pool of {poolSize}: every client must get its own address", nameof(clients));
        }

        var (store, _, gatewayRound) = BenchCredentials.Create(gatewayAuth);
        var clientSecrets = new BenchClientSecrets(store);
        for (var k = 0; k < clients; k++)
        {
            var id = Identity.Parse(User(k));
            var password = Encoding.UTF8.GetBytes($"bench password of {User(k)}");
            store.AddEap([id], password);
            clientSecrets.AddEap(id, password);
        }

        var responder = new IkeConfig
        {
            Name = "rw", Proposals = proposals, LocalId = Identity.Parse("responder.example"), LocalAuth = gatewayRound,
            RemoteAuth = new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.MsChapV2, EapId = Identity.Parse("%any") },
            Pools = [PoolName],
            Children = [new ChildConfig { Name = BenchSetup.ChildName, LocalTs = [TrafficSelectorRange.Parse("203.0.113.0/24")], RemoteTsDynamic = true, EspProposals = BenchSetup.Esp }],
        };
        var gatewayVerify = BenchSetup.Verify(gatewayRound);
        var clientChild = new ChildConfig { Name = BenchSetup.ChildName, LocalTsDynamic = true, RemoteTs = [TrafficSelectorRange.Parse("203.0.113.0/24")], EspProposals = BenchSetup.Esp };
        IReadOnlyList<IkeConfig> Initiators(IPAddress local, IPEndPoint remote, bool mobike)
        {
            var configs = new IkeConfig[clients];
            for (var k = 0; k < clients; k++)
            {
                var id = Identity.Parse(User(k));
                configs[k] = new IkeConfig
                {
                    Name = User(k), LocalAddresses = [local], RemoteAddresses = [remote.Address], RemotePort = remote.Port, Proposals = proposals, LocalId = id,
                    RemoteId = Identity.Parse("responder.example"), Children = [clientChild], SendInitialContact = false, Mobike = mobike,
                    LocalAuth = new AuthConfig { Class = AuthClass.Eap, EapMethod = EapType.MsChapV2, EapId = id }, RemoteAuth = gatewayVerify, Vips = [IPAddress.Any],
                };
            }

            return configs;
        }

        var last = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(last, BinaryPrimitives.ReadUInt32BigEndian(PoolBase.GetAddressBytes()) + (uint)(poolSize - 1));
        var pool = new PoolConfig { Name = PoolName, Addresses = $"{PoolBase}-{new IPAddress(last)}" };
        var label = $"EAP-MSCHAPv2 clients ({clients} users, pool of {poolSize}), gateway {(gatewayAuth == "psk" ? "PSK" : "certificate " + gatewayAuth)}";
        return new BenchSetup(responder, Initiators, User, clientSecrets, store, [pool], label);
    }

    /// <summary>
    /// The clients' side of the credentials: each client knows only its own EAP password, so one client's lookup is a
    /// dictionary hit here, not a scan of every user's (the gateway's store, measured, holds them all). The gateway's
    /// PSK or CA comes from the shared store.
    /// </summary>
    private sealed class BenchClientSecrets(CredentialStore shared) : ISecretStore
    {
        private readonly Dictionary<Identity, byte[]> _eap = [];

        public CertificateStore Certificates => shared.Certificates;

        public void AddEap(Identity id, byte[] secret) => _eap[id] = secret;

        public byte[]? FindSharedKey(Identity local, Identity? remote) => shared.FindSharedKey(local, remote);

        public SignaturePrivateKey? FindPrivateKey(ReadOnlySpan<byte> subjectPublicKeyInfo) => shared.FindPrivateKey(subjectPublicKeyInfo);

        public byte[]? FindEapSecret(Identity eapId, Identity? other) => _eap.GetValueOrDefault(eapId);
    }
}
