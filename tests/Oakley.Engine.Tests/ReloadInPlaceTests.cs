using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// load-all with a changed connection (<see cref="Endpoint.Reconfigure"/>): what the running SAs were negotiated on
/// decides between replacing and updating in place. Lifetimes, DPD and children change without a new IKE SA; the
/// IKE SA's identity of negotiation (proposals here) still replaces it.
/// </summary>
public class ReloadInPlaceTests
{
    private static EnginePair Established()
    {
        var pair = new Scenario().Build();
        pair.Initiate(true);
        Assert.Single(pair.A.IkeSas);
        Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        return pair;
    }

    /// <summary>A copy of <paramref name="c"/> with some values replaced (IkeConfig has init-only properties).</summary>
    private static IkeConfig Copy(IkeConfig c, TimeSpan? rekeyTime = null, TimeSpan? dpdDelay = null, IReadOnlyList<ChildConfig>? children = null, string? proposals = null) => new()
    {
        Name = c.Name, LocalAddresses = c.LocalAddresses, RemoteAddresses = c.RemoteAddresses, RemotePort = c.RemotePort,
        Proposals = proposals is null ? c.Proposals : ProposalString.ParseList(proposals, ProtocolId.Ike),
        LocalId = c.LocalId, RemoteId = c.RemoteId, LocalAuth = c.LocalAuth, RemoteAuth = c.RemoteAuth, MoreLocalAuth = c.MoreLocalAuth, MoreRemoteAuth = c.MoreRemoteAuth,
        SendCert = c.SendCert, SendCertReq = c.SendCertReq, Children = children ?? c.Children, Vips = c.Vips, Pools = c.Pools, ForceEncapsulation = c.ForceEncapsulation,
        SendInitialContact = c.SendInitialContact, RekeyTime = rekeyTime ?? c.RekeyTime, ReauthTime = c.ReauthTime, OverTime = c.OverTime, RandTime = c.RandTime,
        Unique = c.Unique, DpdDelay = dpdDelay ?? c.DpdDelay, Fragmentation = c.Fragmentation, Mobike = c.Mobike,
    };

    private static ChildConfig CopyChild(ChildConfig c, TimeSpan? rekeyTime = null, string? esp = null, string[]? remoteTs = null) => new()
    {
        Name = c.Name, LocalTs = c.LocalTs, RemoteTs = remoteTs is null ? c.RemoteTs : [.. remoteTs.Select(TrafficSelectorRange.Parse)],
        EspProposals = esp is null ? c.EspProposals : ProposalString.ParseList(esp, ProtocolId.Esp), TransportMode = c.TransportMode,
        LocalTsDynamic = c.LocalTsDynamic, RemoteTsDynamic = c.RemoteTsDynamic, RekeyTime = rekeyTime ?? c.RekeyTime,
        LifeTime = rekeyTime is { } r ? r * 1.1 : c.LifeTime, RandTime = TimeSpan.Zero, RekeyBytes = c.RekeyBytes, LifeBytes = c.LifeBytes,
        RekeyPackets = c.RekeyPackets, LifePackets = c.LifePackets,
    };

    private static ReloadReport Reload(EnginePair pair, IkeConfig config) => pair.A.Reconfigure(pair.Now, [config, .. pair.A.Configs.Skip(1)], pair.A.Secrets);

    [Fact]
    public void AShorterIkeRekeyTime_KeepsTheSa_AndRekeysWhenItIsDue()
    {
        var pair = Established();
        var sa = pair.A.IkeSas.Single();
        var id = sa.Id;
        Assert.True(sa.IkeRekeyAt > pair.Now + TimeSpan.FromHours(3)); // 4 h minus up to over_time
        pair.AdvanceBy(TimeSpan.FromMinutes(10));

        var report = Reload(pair, Copy(pair.A.Configs[0], rekeyTime: TimeSpan.FromMinutes(30)));
        Assert.Equal(new ReloadReport(0, 1, 0), report);
        pair.Deliver();
        Assert.Equal(id, Assert.Single(pair.A.IkeSas).Id); // no DELETE, the same SA
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
        // 30 minutes from establishment (minus up to rand_time = over_time, 3 minutes), no longer hours away.
        var due = pair.A.IkeSas.Single().IkeRekeyAt;
        Assert.InRange(due, pair.Now + TimeSpan.FromMinutes(16), pair.Now + TimeSpan.FromMinutes(20));

        pair.AdvanceBy(TimeSpan.FromMinutes(21));
        Assert.Single(pair.EventsA.OfType<IkeSaRekeyed>());
        Assert.Empty(pair.EventsA.OfType<ChildSaRemove>()); // the CHILD SA moved to the new IKE SA
    }

    [Fact]
    public void ARekeyTimeThatHasPassed_RekeysNow()
    {
        var pair = Established();
        pair.AdvanceBy(TimeSpan.FromMinutes(40));
        Assert.Equal(1, Reload(pair, Copy(pair.A.Configs[0], rekeyTime: TimeSpan.FromMinutes(30))).Updated);
        pair.AdvanceBy(TimeSpan.FromSeconds(1));
        Assert.Single(pair.EventsA.OfType<IkeSaRekeyed>());
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
    }

    [Fact]
    public void DpdDelay_TakesEffectOnTheRunningSa()
    {
        var pair = Established();
        Assert.Equal(1, Reload(pair, Copy(pair.A.Configs[0], dpdDelay: TimeSpan.FromSeconds(30))).Updated);
        var before = pair.Log.Count;
        pair.AdvanceBy(TimeSpan.FromSeconds(31));
        // An empty INFORMATIONAL (the liveness check) went out from A within the new delay.
        Assert.Contains(pair.Log.Skip(before), l => l.StartsWith("A->B", StringComparison.Ordinal) && l.Contains("INFORMATIONAL request", StringComparison.Ordinal));
        Assert.Single(pair.A.IkeSas);
    }

    [Fact]
    public void AnIdenticalReload_ChangesNothing()
    {
        var pair = Established();
        var rekeyAt = pair.A.IkeSas.Single().IkeRekeyAt;
        Assert.Equal(new ReloadReport(0, 0, 1), Reload(pair, Copy(pair.A.Configs[0])));
        Assert.Equal(rekeyAt, pair.A.IkeSas.Single().IkeRekeyAt);
    }

    [Fact]
    public void AChildsNewLifetime_ReschedulesItsChildSa_WithTheSameKeys()
    {
        var pair = Established();
        var config = pair.A.Configs[0];
        var child = pair.A.IkeSas.Single().Children.Single();
        var spi = child.InboundSpi;
        var net = config.Children.First(c => c.Name == child.Config.Name);
        Assert.Equal(1, Reload(pair, Copy(config, children: [CopyChild(net, rekeyTime: TimeSpan.FromMinutes(5)), .. config.Children.Where(c => c != net)])).Updated);
        var same = pair.A.IkeSas.Single().Children.Single();
        Assert.Equal(spi, same.InboundSpi);
        Assert.Equal(child.Installed + TimeSpan.FromMinutes(5), same.RekeyAt);
        Assert.Equal(TimeSpan.FromMinutes(5), same.Config.RekeyTime);

        pair.AdvanceBy(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.NotEqual(spi, pair.A.IkeSas.Single().Children.Single().InboundSpi); // rekeyed on the new schedule
    }

    [Fact]
    public void AChildsNewProposals_AreNegotiatedByARekey()
    {
        var pair = Established();
        var config = pair.A.Configs[0];
        var child = pair.A.IkeSas.Single().Children.Single();
        var net = config.Children.First(c => c.Name == child.Config.Name);
        // Sun accepts aes256gcm16 only, so moon offers its new first choice and that one.
        Reload(pair, Copy(config, children: [CopyChild(net, esp: "aes128gcm16-aes256gcm16"), .. config.Children.Where(c => c != net)]));
        pair.Deliver();
        var now = pair.A.IkeSas.Single().Children.Single();
        Assert.NotEqual(child.InboundSpi, now.InboundSpi);
        Assert.Contains(pair.Log, l => l.StartsWith("A->B", StringComparison.Ordinal) && l.Contains("CREATE_CHILD_SA request", StringComparison.Ordinal));
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
    }

    [Fact]
    public void AChildThatIsGone_IsDeleted_AndTheIkeSaStays()
    {
        var pair = Established();
        var config = pair.A.Configs[0];
        var child = pair.A.IkeSas.Single().Children.Single();
        Reload(pair, Copy(config, children: [.. config.Children.Where(c => c.Name != child.Config.Name)]));
        pair.Deliver();
        Assert.Contains(pair.EventsA.OfType<ChildSaRemove>(), r => r.InboundSpi == child.InboundSpi);
        Assert.Empty(pair.A.IkeSas.Single().Children);
        Assert.Empty(pair.B.IkeSas.Single().Children);
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
    }

    [Fact]
    public void AChildsNewSelectors_ReplaceItsChildSa_OnTheInitiator()
    {
        var pair = Established();
        var config = pair.A.Configs[0];
        var child = pair.A.IkeSas.Single().Children.Single();
        var net = config.Children.First(c => c.Name == child.Config.Name);
        // A narrower remote selector that sun's 203.0.113.0/24 still allows.
        Reload(pair, Copy(config, children: [CopyChild(net, remoteTs: ["203.0.113.0/25"]), .. config.Children.Where(c => c != net)]));
        pair.Deliver();
        var replaced = pair.A.IkeSas.Single().Children.Single();
        Assert.NotEqual(child.InboundSpi, replaced.InboundSpi);
        Assert.Equal("203.0.113.0/25", Assert.Single(replaced.RemoteTs).ToString());
        Assert.Contains(pair.EventsA.OfType<ChildSaRemove>(), r => r.InboundSpi == child.InboundSpi);
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
    }

    [Fact]
    public void NewIkeProposals_ReplaceTheIkeSa()
    {
        var pair = Established();
        Assert.Equal(new ReloadReport(1, 0, 0), Reload(pair, Copy(pair.A.Configs[0], proposals: "aes128-sha256-modp2048")));
        pair.Deliver();
        Assert.Empty(pair.A.IkeSas);
    }
}
