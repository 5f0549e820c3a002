namespace Oakley.Engine.Tests;

/// <summary>
/// What the operator is told when a negotiation fails (issue 12's troubleshooting): the responder names both
/// proposal lists on NO_PROPOSAL_CHOSEN, and an initiator learns at once (<see cref="ChildSaFailed"/>) that a
/// CHILD SA was refused, so that <c>oakley initiate</c> need not wait for its timeout.
/// </summary>
public class OperatorMessageTests
{
    [Fact]
    public void IkeNoProposalChosen_ResponderLogsReceivedAndConfiguredProposals()
    {
        var pair = new Scenario { MoonIke = "aes256gcm16-prfsha256-x25519", SunIke = "aes128-sha1-modp2048" }.Build();
        pair.Initiate(true);
        var alert = Assert.Single(pair.EventsB.OfType<Alert>());
        Assert.Equal("no acceptable IKE proposal from 192.0.2.1 for 'sun-moon', sending NO_PROPOSAL_CHOSEN: received aes256gcm16-prfsha256-curve25519; "
            + "configured aes128-sha1-prfsha1-modp2048", alert.Message);
    }

    [Fact]
    public void EspNoProposalChosen_ResponderLogsBothLists_InitiatorGetsChildSaFailed()
    {
        var pair = new Scenario { MoonEsp = "aes128gcm16", SunEsp = "chacha20poly1305", SunEsp2 = "chacha20poly1305" }.Build();
        pair.Initiate(true);
        Assert.Equal("CHILD SA 'net': no acceptable ESP proposal, sending NO_PROPOSAL_CHOSEN: received aes128gcm16; configured chacha20poly1305",
            Assert.Single(pair.EventsB.OfType<Alert>()).Message);
        var failed = Assert.Single(pair.EventsA.OfType<ChildSaFailed>());
        Assert.Equal(("moon-sun", "net"), (failed.IkeName, failed.ChildName));
        Assert.Equal("CHILD SA 'net' was not created: NoProposalChosen", failed.Reason);
        Assert.Single(pair.EventsA.OfType<IkeSaUp>()); // the IKE SA stays up (RFC 7296 §2.21.3)
        Assert.Empty(pair.EventsA.OfType<ChildSaInstall>());
    }

    [Fact]
    public void TsUnacceptable_InitiatorGetsChildSaFailed_InCreateChildSaToo()
    {
        var pair = new Scenario { MoonRemoteTs = ["192.0.2.128/25"] }.Build();
        pair.Initiate(true);
        Assert.Equal("CHILD SA 'net' was not created: TsUnacceptable", Assert.Single(pair.EventsA.OfType<ChildSaFailed>()).Reason);

        // A second CHILD SA on the established IKE SA (CREATE_CHILD_SA) fails the same way.
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        Assert.Equal(2, pair.EventsA.OfType<ChildSaFailed>().Count());
        Assert.Equal("net2", pair.EventsA.OfType<ChildSaFailed>().Last().ChildName);
    }

    [Fact]
    public void SuccessfulChild_RaisesNoChildSaFailed()
    {
        var pair = new Scenario().Build();
        pair.Initiate(true);
        Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Empty(pair.EventsA.OfType<ChildSaFailed>());
    }
}
