using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>Builds two peers, "moon" (192.0.2.1) and "sun" (192.0.2.2), in the style of strongSwan's test setups.</summary>
internal sealed class Scenario
{
    public static readonly IPEndPoint MoonAddress = new(IPAddress.Parse("192.0.2.1"), 500);
    public static readonly IPEndPoint SunAddress = new(IPAddress.Parse("192.0.2.2"), 500);
    public static readonly DateTimeOffset Start = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    public string MoonIke { get; set; } = "aes256gcm16-prfsha256-x25519";

    public string SunIke { get; set; } = "aes256gcm16-prfsha256-x25519";

    public string MoonEsp { get; set; } = "aes256gcm16";

    public string SunEsp { get; set; } = "aes256gcm16";

    /// <summary>Moon's PSK for (moon, sun); null: moon's secrets have no entry at all.</summary>
    public string? MoonPsk { get; set; } = "a shared secret of some length";

    public string? SunPsk { get; set; } = "a shared secret of some length";

    public string[] MoonLocalTs { get; set; } = ["198.51.100.0/24"];

    public string[] MoonRemoteTs { get; set; } = ["203.0.113.0/24"];

    public string[] SunLocalTs { get; set; } = ["203.0.113.0/24"];

    public string[] SunRemoteTs { get; set; } = ["198.51.100.0/24"];

    public bool MoonTransport { get; set; }

    public bool SunTransport { get; set; }

    public EngineSettings MoonSettings { get; set; } = new();

    public EngineSettings SunSettings { get; set; } = new();

    public int Seed { get; set; } = 1;

    /// <summary>Wraps moon's entropy source (a test that makes it fail).</summary>
    public Func<Crypto.IEntropySource, Crypto.IEntropySource> MoonEntropy { get; set; } = e => e;

    /// <summary>Sun answers IKE_SA_INIT from any address (remote_addrs = %any), as a gateway under attack does.</summary>
    public bool SunAcceptsAnyPeer { get; set; }

    /// <summary>IKE SA rekey_time of each side (swanctl default 4 h).</summary>
    public TimeSpan MoonIkeRekey { get; set; } = TimeSpan.FromHours(4);

    public TimeSpan SunIkeRekey { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Moon's reauth_time, over_time and unique; sun's unique.</summary>
    public TimeSpan MoonReauth { get; set; }

    public TimeSpan? MoonOverTime { get; set; }

    public UniquePolicy MoonUnique { get; set; }

    public UniquePolicy SunUnique { get; set; }

    /// <summary>Moon's dpd_delay (zero: no dead peer detection).</summary>
    public TimeSpan MoonDpdDelay { get; set; }

    /// <summary>Sun's dpd_delay (zero: no dead peer detection).</summary>
    public TimeSpan SunDpdDelay { get; set; }

    /// <summary>ESP proposals of the second child, "net2" (UDP only), created with CREATE_CHILD_SA.</summary>
    public string MoonEsp2 { get; set; } = "aes128gcm16";

    public string SunEsp2 { get; set; } = "aes128gcm16";

    /// <summary>swanctl fragmentation of each side (RFC 7383; default yes).</summary>
    public Fragmentation MoonFragmentation { get; set; } = Fragmentation.Yes;

    public Fragmentation SunFragmentation { get; set; } = Fragmentation.Yes;

    /// <summary>swanctl mobike of each side (default yes, as in strongSwan).</summary>
    public bool MoonMobike { get; set; } = true;

    public bool SunMobike { get; set; } = true;

    /// <summary>Sun accepts moon from any address (remote_addrs = %any): moon may sit behind a NAT or move.</summary>
    public bool SunRemoteAny { get; set; }

    /// <summary>Moon's and sun's identities (default moon.example and sun.example).</summary>
    public Identity MoonId { get; set; } = Identity.Parse("moon.example");

    public Identity SunId { get; set; } = Identity.Parse("sun.example");

    /// <summary>The identity each side expects of the other (default: the other's id; null: %any).</summary>
    public Identity? MoonExpects { get; set; } = Identity.Parse("sun.example");

    public Identity? SunExpects { get; set; } = Identity.Parse("moon.example");

    /// <summary>How each side authenticates itself and its peer (default PSK both ways).</summary>
    public AuthConfig MoonLocalAuth { get; set; } = AuthConfig.Psk;

    public AuthConfig MoonRemoteAuth { get; set; } = AuthConfig.Psk;

    public AuthConfig SunLocalAuth { get; set; } = AuthConfig.Psk;

    public AuthConfig SunRemoteAuth { get; set; } = AuthConfig.Psk;

    public SendCertPolicy MoonSendCert { get; set; }

    public SendCertPolicy SunSendCert { get; set; }

    /// <summary>Private keys and certificates of each side, added to its PSK secrets.</summary>
    public List<SignaturePrivateKey> MoonKeys { get; } = [];

    public List<SignaturePrivateKey> SunKeys { get; } = [];

    public CertificateStore MoonCertificates { get; set; } = CertificateStore.Empty;

    public CertificateStore SunCertificates { get; set; } = CertificateStore.Empty;

    /// <summary>Wraps each side's credential store (a test that lies about keys).</summary>
    public Func<ISecretStore, ISecretStore> MoonStore { get; set; } = s => s;

    public Func<ISecretStore, ISecretStore> SunStore { get; set; } = s => s;

    /// <summary>Moon's swanctl vips (a client asking for virtual IPs: its child's local_ts becomes dynamic).</summary>
    public IReadOnlyList<IPAddress> MoonVips { get; set; } = [];

    /// <summary>Sun's swanctl pools on the connection (a gateway: its child's remote_ts becomes dynamic) and their definitions.</summary>
    public IReadOnlyList<Pools.PoolConfig> SunPools { get; set; } = [];

    /// <summary>Moon's local-2, … and sun's remote-2, … (RFC 4739).</summary>
    public IReadOnlyList<AuthConfig> MoonMoreLocal { get; set; } = [];

    public IReadOnlyList<AuthConfig> SunMoreRemote { get; set; } = [];

    /// <summary>EAP secrets of each side (identity, password).</summary>
    public List<(string Id, string Secret)> MoonEap { get; } = [];

    public List<(string Id, string Secret)> SunEap { get; } = [];

    public EnginePair Build()
    {
        var moonId = MoonId;
        var sunId = SunId;
        var moon = Config("moon-sun", MoonAddress, SunAddress, moonId, sunId, MoonIke, MoonEsp, MoonLocalTs, MoonRemoteTs, MoonTransport, MoonEsp2, MoonDpdDelay, MoonIkeRekey,
            reauth: MoonReauth, overTime: MoonOverTime, unique: MoonUnique, fragmentation: MoonFragmentation, mobike: MoonMobike);
        var sun = Config("sun-moon", SunAddress, MoonAddress, sunId, moonId, SunIke, SunEsp, SunLocalTs, SunRemoteTs, SunTransport, SunEsp2, SunDpdDelay, SunIkeRekey, SunAcceptsAnyPeer || SunRemoteAny,
            unique: SunUnique, fragmentation: SunFragmentation, mobike: SunMobike);
        moon = With(moon, MoonLocalAuth, MoonRemoteAuth, MoonSendCert, MoonExpects, vips: MoonVips, moreLocal: MoonMoreLocal);
        sun = With(sun, SunLocalAuth, SunRemoteAuth, SunSendCert, SunExpects, pools: SunPools.Select(p => p.Name).ToList(), moreRemote: SunMoreRemote);
        var moonSecrets = Secrets(MoonPsk, moonId, sunId);
        moonSecrets.Certificates = MoonCertificates;
        MoonKeys.ForEach(k => moonSecrets.AddKey(k));
        var sunSecrets = Secrets(SunPsk, moonId, sunId);
        sunSecrets.Certificates = SunCertificates;
        SunKeys.ForEach(k => sunSecrets.AddKey(k));
        MoonEap.ForEach(e => moonSecrets.AddEap(Identity.Parse(e.Id), System.Text.Encoding.UTF8.GetBytes(e.Secret)));
        SunEap.ForEach(e => sunSecrets.AddEap(Identity.Parse(e.Id), System.Text.Encoding.UTF8.GetBytes(e.Secret)));
        var a = new Endpoint([moon], MoonStore(moonSecrets), MoonEntropy(new SeededEntropy(Seed)), MoonSettings);
        var b = new Endpoint([sun], SunStore(sunSecrets), new SeededEntropy(Seed + 1000), SunSettings);
        b.SetPools(SunPools);
        a.VerifyTimers = b.VerifyTimers = true;
        return new EnginePair(a, b, MoonAddress, SunAddress, Start) { Inspect = new PayloadRuleWatch(a, b).Inspect };
    }

    /// <summary>The config with the authentication of the scenario (IkeConfig is init-only).</summary>
    private static IkeConfig With(IkeConfig c, AuthConfig local, AuthConfig remote, SendCertPolicy sendCert, Identity? expects,
        IReadOnlyList<IPAddress>? vips = null, IReadOnlyList<string>? pools = null, IReadOnlyList<AuthConfig>? moreLocal = null, IReadOnlyList<AuthConfig>? moreRemote = null) => new()
    {
        Name = c.Name, ReauthTime = c.ReauthTime, OverTime = c.OverTime, Unique = c.Unique, Fragmentation = c.Fragmentation, Mobike = c.Mobike,
        SendInitialContact = c.SendInitialContact, DpdDelay = c.DpdDelay, RekeyTime = c.RekeyTime, LocalAddresses = c.LocalAddresses,
        RemoteAddresses = c.RemoteAddresses, Proposals = c.Proposals, LocalId = c.LocalId, RemoteId = expects,
        Children = vips is { Count: > 0 } ? c.Children.Select(ch => Dynamic(ch, local: true)).ToList()
            : pools is { Count: > 0 } ? c.Children.Select(ch => Dynamic(ch, local: false)).ToList() : c.Children,
        LocalAuth = local, RemoteAuth = remote, SendCert = sendCert, Vips = vips ?? [], Pools = pools ?? [],
        MoreLocalAuth = moreLocal ?? [], MoreRemoteAuth = moreRemote ?? [],
    };

    /// <summary>A road warrior's child (local_ts = dynamic: its virtual IP) or a gateway's (remote_ts = dynamic: the IP it assigns).</summary>
    private static ChildConfig Dynamic(ChildConfig c, bool local) => new()
    {
        Name = c.Name, EspProposals = c.EspProposals, TransportMode = c.TransportMode,
        LocalTs = local ? [] : c.LocalTs, LocalTsDynamic = local, RemoteTs = local ? c.RemoteTs : [], RemoteTsDynamic = !local,
    };

    private static InMemorySecrets Secrets(string? psk, params Identity[] ids) =>
        psk is null ? new InMemorySecrets() : new InMemorySecrets().Add(System.Text.Encoding.UTF8.GetBytes(psk), ids);

    private static IkeConfig Config(string name, IPEndPoint local, IPEndPoint remote, Identity localId, Identity remoteId,
        string ike, string esp, string[] localTs, string[] remoteTs, bool transport, string esp2, TimeSpan dpdDelay = default, TimeSpan? ikeRekey = null, bool anyRemote = false,
        TimeSpan reauth = default, TimeSpan? overTime = null, UniquePolicy unique = UniquePolicy.No,
        Fragmentation fragmentation = Fragmentation.Yes, bool mobike = true) => new()
    {
        Name = name,
        ReauthTime = reauth,
        OverTime = overTime,
        Unique = unique,
        Fragmentation = fragmentation,
        Mobike = mobike,
        SendInitialContact = unique != UniquePolicy.Never,
        DpdDelay = dpdDelay,
        RekeyTime = ikeRekey ?? TimeSpan.FromHours(4),
        LocalAddresses = [local.Address],
        RemoteAddresses = anyRemote ? [] : [remote.Address],
        Proposals = ProposalString.ParseList(ike, ProtocolId.Ike),
        LocalId = localId,
        RemoteId = remoteId,
        Children =
        [
            new ChildConfig
            {
                Name = "net",
                LocalTs = localTs.Select(TrafficSelectorRange.Parse).ToList(),
                RemoteTs = remoteTs.Select(TrafficSelectorRange.Parse).ToList(),
                EspProposals = ProposalString.ParseList(esp, ProtocolId.Esp),
                TransportMode = transport,
            },
            new ChildConfig
            {
                Name = "net2",
                LocalTs = localTs.Select(t => TrafficSelectorRange.Parse(t + "[udp]")).ToList(),
                RemoteTs = remoteTs.Select(t => TrafficSelectorRange.Parse(t + "[udp]")).ToList(),
                EspProposals = ProposalString.ParseList(esp2, ProtocolId.Esp),
            },
        ],
    };
}

internal static class PairExtensions
{
    /// <summary>Initiates from moon (A) or sun (B) and delivers until quiet.</summary>
    public static void Initiate(this EnginePair pair, bool fromMoon)
    {
        if (fromMoon)
        {
            pair.A.Initiate(pair.Now, "moon-sun");
        }
        else
        {
            pair.B.Initiate(pair.Now, "sun-moon");
        }

        pair.Deliver();
    }

    public static Endpoint Initiator(this EnginePair pair, bool fromMoon) => fromMoon ? pair.A : pair.B;

    public static Endpoint Responder(this EnginePair pair, bool fromMoon) => fromMoon ? pair.B : pair.A;

    public static List<EngineEvent> InitiatorEvents(this EnginePair pair, bool fromMoon) => fromMoon ? pair.EventsA : pair.EventsB;

    public static List<EngineEvent> ResponderEvents(this EnginePair pair, bool fromMoon) => fromMoon ? pair.EventsB : pair.EventsA;
}
