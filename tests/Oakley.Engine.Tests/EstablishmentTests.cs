using Oakley.Engine;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine.Tests;

/// <summary>IKE_SA_INIT + IKE_AUTH with PSK and the first CHILD SA, each scenario run with either side initiating.</summary>
public class EstablishmentTests
{
    public static TheoryData<string, string, bool> Families => new()
    {
        { "aes256gcm16-prfsha256-x25519", "aes256gcm16", true },
        { "aes256gcm16-prfsha256-x25519", "aes256gcm16", false },
        { "aes128-sha256-modp2048", "aes128-sha256", true },
        { "aes128-sha256-modp2048", "aes128-sha256", false },
        { "chacha20poly1305-prfsha256-ecp256", "chacha20poly1305", true },
        { "chacha20poly1305-prfsha256-ecp256", "chacha20poly1305", false },
        { "aes256-sha512-ecp384", "aes256-sha512-esn", true },
        { "aes128ctr-aescmac-curve448", "aes128ctr-sha256", false },
        { "aes192ccm16-prfsha384-mlkem768", "aes192ccm16", true },
        { "3des-sha1-modp1024", "3des-sha1", false },
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void HappyPath_EveryProposalFamily(string ike, string esp, bool moonInitiates)
    {
        var pair = new Scenario { MoonIke = ike, SunIke = ike, MoonEsp = esp, SunEsp = esp }.Build();
        pair.Initiate(moonInitiates);

        Assert.Equal(
        [
            "A->B IKE_SA_INIT request #0 [SecurityAssociation,KeyExchange,Nonce,N(NatDetectionSourceIp),N(NatDetectionDestinationIp),N(Ikev2FragmentationSupported),N(SignatureHashAlgorithms)]",
            "B->A IKE_SA_INIT response #0 [SecurityAssociation,KeyExchange,Nonce,N(NatDetectionSourceIp),N(NatDetectionDestinationIp),N(Ikev2FragmentationSupported),N(SignatureHashAlgorithms)]",
            "A->B IKE_AUTH request #1 [EncryptedAndAuthenticated]",
            "B->A IKE_AUTH response #1 [EncryptedAndAuthenticated]",
        ], pair.Log.Select(l => moonInitiates ? l : l.Replace("A->B", "X").Replace("B->A", "A->B").Replace("X", "B->A")));

        var upI = Assert.Single(pair.InitiatorEvents(moonInitiates).OfType<IkeSaUp>());
        var upR = Assert.Single(pair.ResponderEvents(moonInitiates).OfType<IkeSaUp>());
        Assert.Equal((upI.SpiI, upI.SpiR), (upR.SpiI, upR.SpiR));
        Assert.True(upI.IsInitiator);
        Assert.False(upR.IsInitiator);
        Assert.Equal(upI.Algorithms, upR.Algorithms);

        var ci = Assert.Single(pair.InitiatorEvents(moonInitiates).OfType<ChildSaInstall>());
        var cr = Assert.Single(pair.ResponderEvents(moonInitiates).OfType<ChildSaInstall>());
        Assert.Equal(ci.InboundSpi, cr.OutboundSpi);
        Assert.Equal(ci.OutboundSpi, cr.InboundSpi);
        Assert.Equal(ci.OutboundEncryptionKey, cr.InboundEncryptionKey);
        Assert.Equal(ci.InboundEncryptionKey, cr.OutboundEncryptionKey);
        Assert.Equal(ci.OutboundIntegrityKey, cr.InboundIntegrityKey);
        Assert.NotEqual(ci.OutboundEncryptionKey, ci.InboundEncryptionKey);
        Assert.Equal(esp.EndsWith("-esn", StringComparison.Ordinal), ci.Esn);
        Assert.False(ci.TransportMode);
        Assert.Equal(IkeSaState.Established, Assert.Single(pair.A.IkeSas).State);
        Assert.Equal(IkeSaState.Established, Assert.Single(pair.B.IkeSas).State);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InvalidKe_InitiatorRetriesWithTheRequestedGroup(bool moonInitiates)
    {
        // The initiator sends a Curve25519 KE; the responder only accepts ECP-256 and says so.
        var s = new Scenario();
        if (moonInitiates)
        {
            s.MoonIke = "aes256gcm16-prfsha256-x25519-ecp256";
            s.SunIke = "aes256gcm16-prfsha256-ecp256";
        }
        else
        {
            s.SunIke = "aes256gcm16-prfsha256-x25519-ecp256";
            s.MoonIke = "aes256gcm16-prfsha256-ecp256";
        }

        var pair = s.Build();
        pair.Initiate(moonInitiates);
        Assert.Contains(pair.Log, l => l.Contains("IKE_SA_INIT response #0 [N(InvalidKePayload)]", StringComparison.Ordinal));
        Assert.Equal(6, pair.Log.Count);
        Assert.Contains("ecp256", Assert.Single(pair.InitiatorEvents(moonInitiates).OfType<IkeSaUp>()).Algorithms, StringComparison.Ordinal);
        Assert.Equal(1, pair.Responder(moonInitiates).Stats.InvalidKeSent);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cookie_RoundTrip_UnderLoad(bool moonInitiates)
    {
        var s = new Scenario { MoonSettings = new EngineSettings { CookieThreshold = 1 }, SunSettings = new EngineSettings { CookieThreshold = 1 } };
        var pair = s.Build();
        // One half-open SA at the responder (a request from the initiator's address that never continues) puts it
        // at cookie_threshold.
        var responder = pair.Responder(moonInitiates);
        var initiatorAddress = moonInitiates ? Scenario.MoonAddress : Scenario.SunAddress;
        var responderAddress = moonInitiates ? Scenario.SunAddress : Scenario.MoonAddress;
        responder.HandleDatagram(pair.Now, responderAddress, initiatorAddress,
            new ForgedIkeSaInit().Build(0x1122334455667788, Enumerable.Range(1, 32).Select(i => (byte)i).ToArray(), Enumerable.Range(9, 32).Select(i => (byte)i).ToArray(), initiatorAddress, responderAddress));
        while (responder.TryPollTransmit(out _))
        {
        }

        Assert.Equal(1, responder.HalfOpenCount);
        pair.Initiate(moonInitiates);
        Assert.Contains("IKE_SA_INIT response #0 [N(Cookie)]", pair.Log[1], StringComparison.Ordinal);
        Assert.StartsWith("IKE_SA_INIT request #0 [N(Cookie),SecurityAssociation", pair.Log[2][5..], StringComparison.Ordinal);
        Assert.Single(pair.InitiatorEvents(moonInitiates).OfType<IkeSaUp>());
        Assert.Equal(1, pair.Responder(moonInitiates).Stats.CookiesSent);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NoProposalChosen_LeavesNoSaOnEitherSide(bool moonInitiates)
    {
        var pair = new Scenario { MoonIke = "aes256gcm16-prfsha256-x25519", SunIke = "aes128-sha1-modp2048" }.Build();
        pair.Initiate(moonInitiates);
        Assert.Contains("IKE_SA_INIT response #0 [N(NoProposalChosen)]", pair.Log[1], StringComparison.Ordinal);
        Assert.Single(pair.InitiatorEvents(moonInitiates).OfType<IkeSaDown>());
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WrongPsk_AuthenticationFailed_NoSaLeftBehind(bool moonInitiates)
    {
        var pair = new Scenario { SunPsk = "a different secret" }.Build();
        pair.Initiate(moonInitiates);
        Assert.Equal(4, pair.Log.Count);
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
        Assert.Contains(pair.InitiatorEvents(moonInitiates).OfType<Alert>(), a => a.Message.Contains("AUTHENTICATION_FAILED", StringComparison.Ordinal)
            || a.Message.Contains("did not verify", StringComparison.Ordinal));
        Assert.Contains(pair.ResponderEvents(moonInitiates).OfType<Alert>(), a => a.Message.Contains("did not verify", StringComparison.Ordinal));
        Assert.Empty(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Empty(pair.EventsB.OfType<ChildSaInstall>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TrafficSelectors_AreNarrowedByTheResponder(bool moonInitiates)
    {
        var s = new Scenario();
        if (moonInitiates)
        {
            s.MoonLocalTs = ["198.51.100.0/24"];
            s.MoonRemoteTs = ["203.0.113.0/24"];
            s.SunLocalTs = ["203.0.113.128/25"];
            s.SunRemoteTs = ["198.51.100.0/26[tcp]"];
        }
        else
        {
            s.SunLocalTs = ["203.0.113.0/24"];
            s.SunRemoteTs = ["198.51.100.0/24"];
            s.MoonLocalTs = ["198.51.100.0/26[tcp]"];
            s.MoonRemoteTs = ["203.0.113.128/25"];
        }

        var pair = s.Build();
        pair.Initiate(moonInitiates);
        var moonChild = Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        var sunChild = Assert.Single(pair.EventsB.OfType<ChildSaInstall>());
        // Whichever side narrows, moon's side ends up as the TCP-only /26 and sun's as the /25.
        Assert.Equal("198.51.100.0/26[6]", Assert.Single(moonChild.LocalTs).ToString());
        Assert.Equal("203.0.113.128/25", Assert.Single(moonChild.RemoteTs).ToString().Replace("[6]", string.Empty, StringComparison.Ordinal));
        Assert.Equal(moonChild.LocalTs[0], sunChild.RemoteTs[0]);
        Assert.Equal(moonChild.RemoteTs[0], sunChild.LocalTs[0]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DisjointSelectors_TsUnacceptable_IkeSaStaysUp(bool moonInitiates)
    {
        var pair = new Scenario { SunRemoteTs = ["192.0.2.128/25"] }.Build();
        pair.Initiate(moonInitiates);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Single(pair.EventsB.OfType<IkeSaUp>());
        Assert.Empty(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Empty(pair.EventsB.OfType<ChildSaInstall>());
        Assert.Contains(pair.InitiatorEvents(moonInitiates).OfType<Alert>(), a => a.Message.Contains("TsUnacceptable", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TransportMode_IsNegotiatedWithUseTransportMode(bool moonInitiates)
    {
        var pair = new Scenario { MoonTransport = true, SunTransport = true, MoonLocalTs = ["192.0.2.1/32"], MoonRemoteTs = ["192.0.2.2/32"], SunLocalTs = ["192.0.2.2/32"], SunRemoteTs = ["192.0.2.1/32"] }.Build();
        pair.Initiate(moonInitiates);
        Assert.True(Assert.Single(pair.EventsA.OfType<ChildSaInstall>()).TransportMode);
        Assert.True(Assert.Single(pair.EventsB.OfType<ChildSaInstall>()).TransportMode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EspProposalMismatch_NoChild_IkeSaUp(bool moonInitiates)
    {
        var pair = new Scenario { MoonEsp = "aes256gcm16", SunEsp = "aes128-sha256" }.Build();
        pair.Initiate(moonInitiates);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Empty(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Contains(pair.InitiatorEvents(moonInitiates).OfType<Alert>(), a => a.Message.Contains("NoProposalChosen", StringComparison.Ordinal));
    }
}

/// <summary>Identity types of RFC 7296 §3.5 through IKE_AUTH, and configuration reloads.</summary>
public class IdentityAndReloadTests
{
    [Theory]
    [InlineData("moon@example.org", "sun@example.org", Protocol.Ikev2.IdentificationType.Rfc822Address)]
    [InlineData("2001:db8::1", "2001:db8::2", Protocol.Ikev2.IdentificationType.Ipv6Address)]
    [InlineData("192.0.2.1", "192.0.2.2", Protocol.Ikev2.IdentificationType.Ipv4Address)]
    [InlineData("@#0102a0", "@#0203b0", Protocol.Ikev2.IdentificationType.KeyId)]
    [InlineData("@moon.example", "@sun.example", Protocol.Ikev2.IdentificationType.Fqdn)]
    public void IdentityTypes_Authenticate(string moon, string sun, Protocol.Ikev2.IdentificationType type)
    {
        var moonId = Identity.Parse(moon);
        var sunId = Identity.Parse(sun);
        Assert.Equal(type, moonId.Type);
        var psk = "identity test key"u8.ToArray();
        IkeConfig Config(string name, Identity local, Identity remote, System.Net.IPEndPoint l, System.Net.IPEndPoint r) => new()
        {
            Name = name,
            LocalAddresses = [l.Address],
            RemoteAddresses = [r.Address],
            LocalId = local,
            RemoteId = remote,
            Children = [new ChildConfig { Name = "net", LocalTsDynamic = true, RemoteTsDynamic = true }],
        };
        var a = new Endpoint([Config("a", moonId, sunId, Scenario.MoonAddress, Scenario.SunAddress)], new Testing.InMemorySecrets().Add(psk, moonId, sunId), new Testing.SeededEntropy(1));
        var b = new Endpoint([Config("b", sunId, moonId, Scenario.SunAddress, Scenario.MoonAddress)], new Testing.InMemorySecrets().Add(psk, moonId, sunId), new Testing.SeededEntropy(2));
        var pair = new Testing.EnginePair(a, b, Scenario.MoonAddress, Scenario.SunAddress, Scenario.Start);
        a.Initiate(pair.Now, "a");
        pair.Deliver();
        var up = Assert.Single(pair.EventsA.OfType<IkeSaUp>());
        Assert.Equal(sunId.ToString(), up.RemoteId);
        Assert.Equal(moonId.ToString(), Assert.Single(pair.EventsB.OfType<IkeSaUp>()).RemoteId);
        // dynamic selectors: each side's own address as a host selector
        Assert.Equal("192.0.2.1/32", Assert.Single(Assert.Single(pair.EventsA.OfType<ChildSaInstall>()).LocalTs).ToString());
    }

    [Fact]
    public void Reload_KeepsUnchangedSas_DeletesChangedOnes()
    {
        var pair = new Scenario().Build();
        pair.Initiate(true);
        var config = pair.A.Configs[0];
        Assert.Equal(0, pair.A.Reconfigure(pair.Now, [config], new Testing.InMemorySecrets()).Deleted);
        pair.Deliver();
        Assert.Single(pair.A.IkeSas);

        var changed = new IkeConfig { Name = config.Name, LocalAddresses = config.LocalAddresses, RemoteAddresses = config.RemoteAddresses, LocalId = config.LocalId, RemoteId = config.RemoteId, Children = config.Children, Proposals = Crypto.Registry.ProposalString.ParseList("aes128-sha256-modp2048", Iana.ProtocolId.Ike) };
        Assert.Equal(1, pair.A.Reconfigure(pair.Now, [changed], new Testing.InMemorySecrets()).Deleted);
        pair.Deliver();
        Assert.Empty(pair.A.IkeSas);
        Assert.Empty(pair.B.IkeSas);
    }
}
