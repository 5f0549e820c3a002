using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Esp;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Testing;

using static Oakley.Host.Tests.MoonSun;

namespace Oakley.Host.Tests;

/// <summary>CHILD SA events from a real (in-memory) negotiation become working ESP data planes on both peers.</summary>
public class DataPlaneInstallerTests
{

    private static byte[] Packet(string src, string dst)
    {
        var p = new byte[40];
        p[0] = 0x45;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 40);
        p[9] = 17;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 16);
        return p;
    }

    [Theory]
    [InlineData("aes256gcm16")]
    [InlineData("aes128-sha256")]
    [InlineData("chacha20poly1305-esn")]
    public void NegotiatedKeys_CarryTrafficBothWays_AndRemovalUninstalls(string esp)
    {
        var psk = "k"u8.ToArray();
        var a = new Endpoint([PskConnection("a", Moon, Sun, "moon", "sun", "198.51.100.0/24", "203.0.113.0/24", esp)], new InMemorySecrets().Add(psk, Identity.Parse("moon"), Identity.Parse("sun")), new SeededEntropy(1));
        var b = new Endpoint([PskConnection("b", Sun, Moon, "sun", "moon", "203.0.113.0/24", "198.51.100.0/24", esp)], new InMemorySecrets().Add(psk, Identity.Parse("moon"), Identity.Parse("sun")), new SeededEntropy(2));
        var pair = new EnginePair(a, b, Moon, Sun, DateTimeOffset.UnixEpoch);
        a.Initiate(pair.Now, "a");
        pair.Deliver();

        var moon = new DataPlaneInstaller(new SeededEntropy(3));
        var sun = new DataPlaneInstaller(new SeededEntropy(4));
        pair.EventsA.ForEach(moon.Handle);
        pair.EventsB.ForEach(sun.Handle);
        var moonPlane = new EspDataPlane(moon.Databases);
        var sunPlane = new EspDataPlane(sun.Databases);
        var esp1 = new byte[256];
        var inner = new byte[256];

        var request = Packet("198.51.100.9", "203.0.113.9");
        Assert.Equal(OutboundResult.Send, moonPlane.Outbound(request, esp1, out var n, out var policy));
        Assert.Equal(Sun.Address, policy!.Peer!.Address); // IKE moved to port 4500 (MOBIKE), which raw ESP does not use
        Assert.False(policy.UdpEncapsulation); // no NAT between the two: raw ESP
        var length = sunPlane.Inbound(esp1.AsSpan(0, n), inner);
        Assert.Equal(request, inner.AsSpan(0, length).ToArray());

        var reply = Packet("203.0.113.9", "198.51.100.9");
        Assert.Equal(OutboundResult.Send, sunPlane.Outbound(reply, esp1, out n, out _));
        length = moonPlane.Inbound(esp1.AsSpan(0, n), inner);
        Assert.Equal(reply, inner.AsSpan(0, length).ToArray());

        // Deleting the IKE SA removes the CHILD SA: traffic no longer matches any policy.
        a.Terminate(pair.Now);
        pair.Deliver();
        pair.EventsA.OfType<ChildSaRemove>().ToList().ForEach(moon.Handle);
        Assert.Equal(OutboundResult.Dropped, moonPlane.Outbound(request, esp1, out _, out _));
        Assert.Equal(1, moonPlane.Counters.NoPolicy);
        Assert.Equal(0, moon.Databases.InboundCount);
    }

    /// <summary>Moon (a) and sun (b) with one IKE SA and CHILD SA (aes256gcm16) between them.</summary>
    private static (EnginePair Pair, Endpoint A, Endpoint B) Established()
    {
        var psk = "k"u8.ToArray();
        var a = new Endpoint([PskConnection("a", Moon, Sun, "moon", "sun", "198.51.100.0/24", "203.0.113.0/24", "aes256gcm16")], new InMemorySecrets().Add(psk, Identity.Parse("moon"), Identity.Parse("sun")), new SeededEntropy(1));
        var b = new Endpoint([PskConnection("b", Sun, Moon, "sun", "moon", "203.0.113.0/24", "198.51.100.0/24", "aes256gcm16")], new InMemorySecrets().Add(psk, Identity.Parse("moon"), Identity.Parse("sun")), new SeededEntropy(2));
        var pair = new EnginePair(a, b, Moon, Sun, DateTimeOffset.UnixEpoch);
        a.Initiate(pair.Now, "a");
        pair.Deliver();
        return (pair, a, b);
    }

    [Fact]
    public void TheTrafficReport_SeesOnlySasThatMoved_AndTheDirection()
    {
        var (pair, a, b) = Established();
        var moon = new DataPlaneInstaller(new SeededEntropy(3));
        var sun = new DataPlaneInstaller(new SeededEntropy(4));
        pair.EventsA.ForEach(moon.Handle);
        pair.EventsB.ForEach(sun.Handle);
        var moonPlane = new EspDataPlane(moon.Databases);
        var sunPlane = new EspDataPlane(sun.Databases);
        var moved = new Dictionary<uint, (bool In, bool Out)>();
        Assert.Equal(0, TrafficReport.Report(a, pair.Now, moon, moved)); // installed, no packet yet

        var esp = new byte[256];
        var inner = new byte[256];
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(OutboundResult.Send, moonPlane.Outbound(Packet("198.51.100.9", "203.0.113.9"), esp, out var n, out _));
            Assert.True(sunPlane.Inbound(esp.AsSpan(0, n), inner) > 0);
        }

        var moonSpi = pair.EventsA.OfType<ChildSaInstall>().Single().InboundSpi;
        var sunSpi = pair.EventsB.OfType<ChildSaInstall>().Single().InboundSpi;
        Assert.Equal(1, TrafficReport.Report(a, pair.Now, moon, moved)); // three packets: one entry
        Assert.Equal((false, true), moved[moonSpi]);
        Assert.Equal(1, TrafficReport.Report(b, pair.Now, sun, moved));
        Assert.Equal((true, false), moved[sunSpi]);
        Assert.Equal(0, TrafficReport.Report(a, pair.Now, moon, moved)); // quiet since: nothing to report

        Assert.Equal(OutboundResult.Send, moonPlane.Outbound(Packet("198.51.100.9", "203.0.113.9"), esp, out _, out _));
        Assert.Equal(1, TrafficReport.Report(a, pair.Now, moon, moved)); // moving again reports again
    }

    [Fact]
    public void AnAddressChange_MovesTheChildSasPeer_WithoutReplacingTheSas()
    {
        var (pair, a, b) = Established();
        var sun = new DataPlaneInstaller(new SeededEntropy(4));
        pair.EventsB.ForEach(sun.Handle);
        var sunPlane = new EspDataPlane(sun.Databases);
        var install = pair.EventsB.OfType<ChildSaInstall>().Single();
        var counters = sun.Counters(install.InboundSpi);
        var esp = new byte[256];
        var reply = Packet("203.0.113.9", "198.51.100.9");
        Assert.Equal(OutboundResult.Send, sunPlane.Outbound(reply, esp, out _, out var before));
        Assert.False(before!.UdpEncapsulation);

        var moved = new IPEndPoint(IPAddress.Parse("198.51.100.77"), 40001);
        sun.Handle(new IkeSaAddressesChanged(pair.Now, install.IkeSaId, "b", new IPEndPoint(Sun.Address, 4500), moved, true, "test"));
        Assert.Equal(OutboundResult.Send, sunPlane.Outbound(reply, esp, out _, out var after));
        Assert.Equal(moved, after!.Peer);
        Assert.True(after.UdpEncapsulation);
        Assert.Same(before.Outbound, after.Outbound); // same SA: keys and sequence numbers carry on
        Assert.Equal(counters!.Value.PacketsOut + 2, sun.Counters(install.InboundSpi)!.Value.PacketsOut);

        // Another IKE SA's change leaves these policies alone.
        sun.Handle(new IkeSaAddressesChanged(pair.Now, install.IkeSaId + 1, "b", new IPEndPoint(Sun.Address, 4500), Moon, false, "other"));
        Assert.Equal(OutboundResult.Send, sunPlane.Outbound(reply, esp, out _, out var unchanged));
        Assert.Equal(moved, unchanged!.Peer);
    }
}
