using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Testing;

using static Oakley.Host.Tests.MoonSun;

namespace Oakley.Host.Tests;

/// <summary>The list-sas table of CHILD SAs: what it keeps of the engine's install events.</summary>
public class ChildSaTableTests
{

    [Fact]
    public void ListsTheChildSas_WithoutTheirKeys_AndLeavesTheEventsAsTheyWere()
    {
        var psk = "k"u8.ToArray();
        var secrets = new InMemorySecrets().Add(psk, Identity.Parse("moon"), Identity.Parse("sun"));
        var a = new Endpoint([PskConnection("a", Moon, Sun, "moon", "sun", "198.51.100.0/24", "203.0.113.0/24", "aes128-sha256")], secrets, new SeededEntropy(1));
        var b = new Endpoint([PskConnection("b", Sun, Moon, "sun", "moon", "203.0.113.0/24", "198.51.100.0/24", "aes128-sha256")], secrets, new SeededEntropy(2));
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
