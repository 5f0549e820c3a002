using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Testing;

namespace Oakley.Host.Tests;

/// <summary>The list-sas table of CHILD SAs: what it keeps of the engine's install events.</summary>
public class ChildSaTableTests
{
    private static readonly IPEndPoint Moon = new(IPAddress.Parse("192.0.2.1"), 500);
    private static readonly IPEndPoint Sun = new(IPAddress.Parse("192.0.2.2"), 500);

    private static IkeConfig Config(string name, IPEndPoint l, IPEndPoint r, string lid, string rid, string lts, string rts) => new()
    {
        Name = name,
        LocalAddresses = [l.Address],
        RemoteAddresses = [r.Address],
        LocalId = Identity.Parse(lid),
        RemoteId = Identity.Parse(rid),
        Children = [new ChildConfig { Name = "net", LocalTs = [TrafficSelectorRange.Parse(lts)], RemoteTs = [TrafficSelectorRange.Parse(rts)], EspProposals = ProposalString.ParseList("aes128-sha256", ProtocolId.Esp) }],
    };

    [Fact]
    public void ListsTheChildSas_WithoutTheirKeys_AndLeavesTheEventsAsTheyWere()
    {
        var psk = "k"u8.ToArray();
        var secrets = new InMemorySecrets().Add(psk, Identity.Parse("moon"), Identity.Parse("sun"));
        var a = new Endpoint([Config("a", Moon, Sun, "moon", "sun", "198.51.100.0/24", "203.0.113.0/24")], secrets, new SeededEntropy(1));
        var b = new Endpoint([Config("b", Sun, Moon, "sun", "moon", "203.0.113.0/24", "198.51.100.0/24")], secrets, new SeededEntropy(2));
        var pair = new EnginePair(a, b, Moon, Sun, DateTimeOffset.UnixEpoch);
        a.Initiate(pair.Now, "a");
        pair.Deliver();

        var table = new ChildSaTable();
        pair.EventsA.ForEach(table.Handle);
        var installed = Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        var listed = Assert.Single(table.Of(Assert.Single(a.IkeSas)));

        // What list-sas shows is all there.
        Assert.Equal((installed.ChildName, installed.InboundSpi, installed.OutboundSpi), (listed.ChildName, listed.InboundSpi, listed.OutboundSpi));
        Assert.Equal((installed.Encryption, installed.Integrity, installed.Time), (listed.Encryption, listed.Integrity, listed.Time));
        Assert.Equal(installed.LocalTs, listed.LocalTs);
        Assert.Equal(installed.RemoteTs, listed.RemoteTs);
        // The keys are not: the table holds no secrets.
        Assert.All([listed.InboundEncryptionKey, listed.InboundIntegrityKey, listed.OutboundEncryptionKey, listed.OutboundIntegrityKey], Assert.Empty);
        // The event the data plane installed from keeps its keys (HMAC-SHA256: 32 bytes each way).
        Assert.Equal(32, installed.InboundIntegrityKey.Length);
        Assert.NotEmpty(installed.OutboundEncryptionKey);
    }
}
