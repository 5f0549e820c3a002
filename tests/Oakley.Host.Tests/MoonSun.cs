using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;

namespace Oakley.Host.Tests;

/// <summary>The two in-memory peers of the host tests, moon (192.0.2.1) and sun (192.0.2.2), and their PSK connection.</summary>
internal static class MoonSun
{
    public static readonly IPEndPoint Moon = new(IPAddress.Parse("192.0.2.1"), 500);
    public static readonly IPEndPoint Sun = new(IPAddress.Parse("192.0.2.2"), 500);

    private static readonly IkeConfig Defaults = new() { Name = "defaults", LocalId = Identity.Parse("defaults") };

    /// <summary>
    /// One IKEv2 connection from <paramref name="l"/> to <paramref name="r"/> with one child "net". <paramref name="ike"/>
    /// null: the default proposals. <paramref name="quiet"/>: unique = never and no INITIAL_CONTACT, so that one SA never
    /// replaces another.
    /// </summary>
    public static IkeConfig PskConnection(string name, IPEndPoint l, IPEndPoint r, string lid, string rid, string lts, string rts, string esp = "aes128gcm16",
        string? ike = null, bool quiet = false) => new()
    {
        Name = name,
        LocalAddresses = [l.Address],
        RemoteAddresses = [r.Address],
        LocalId = Identity.Parse(lid),
        RemoteId = Identity.Parse(rid),
        Proposals = ike is null ? Defaults.Proposals : ProposalString.ParseList(ike, ProtocolId.Ike),
        Unique = quiet ? UniquePolicy.Never : Defaults.Unique,
        SendInitialContact = !quiet && Defaults.SendInitialContact,
        Children = [new ChildConfig { Name = "net", LocalTs = [TrafficSelectorRange.Parse(lts)], RemoteTs = [TrafficSelectorRange.Parse(rts)], EspProposals = ProposalString.ParseList(esp, ProtocolId.Esp) }],
    };
}
