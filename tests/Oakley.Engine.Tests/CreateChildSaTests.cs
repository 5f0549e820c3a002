using Oakley.Engine;

namespace Oakley.Engine.Tests;

/// <summary>Additional CHILD SAs with CREATE_CHILD_SA (RFC 7296 §1.3.1), with and without PFS, from either side.</summary>
public class CreateChildSaTests
{
    private static void Establish(Testing.EnginePair pair, bool moonInitiates) => pair.Initiate(moonInitiates);

    private static void CreateSecond(Testing.EnginePair pair, bool fromMoon)
    {
        if (fromMoon)
        {
            pair.A.Initiate(pair.Now, "moon-sun", "net2");
        }
        else
        {
            pair.B.Initiate(pair.Now, "sun-moon", "net2");
        }

        pair.Deliver();
    }

    private static void AssertPairsMatch(Testing.EnginePair pair, string child)
    {
        var a = Assert.Single(pair.EventsA.OfType<ChildSaInstall>(), c => c.ChildName == child);
        var b = Assert.Single(pair.EventsB.OfType<ChildSaInstall>(), c => c.ChildName == child);
        Assert.Equal(a.OutboundSpi, b.InboundSpi);
        Assert.Equal(a.InboundSpi, b.OutboundSpi);
        Assert.Equal(a.OutboundEncryptionKey, b.InboundEncryptionKey);
        Assert.Equal(a.InboundEncryptionKey, b.OutboundEncryptionKey);
        Assert.Equal(17, a.LocalTs[0].Protocol);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void SecondChild_WithoutPfs_FromEitherSide(bool moonInitiates, bool moonCreates)
    {
        var pair = new Scenario().Build();
        Establish(pair, moonInitiates);
        CreateSecond(pair, moonCreates);
        Assert.Contains(pair.Log, l => l.Contains("CREATE_CHILD_SA request", StringComparison.Ordinal));
        AssertPairsMatch(pair, "net2");
        // Fresh nonces went into KEYMAT: the second CHILD SA's keys are not a prefix of the first's.
        var first = pair.EventsA.OfType<ChildSaInstall>().First(c => c.ChildName == "net").OutboundEncryptionKey;
        var second = pair.EventsA.OfType<ChildSaInstall>().First(c => c.ChildName == "net2").OutboundEncryptionKey;
        Assert.False(first.AsSpan(0, 16).SequenceEqual(second.AsSpan(0, 16)));
        Assert.Single(pair.A.IkeSas);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SecondChild_WithPfs(bool moonCreates)
    {
        var pair = new Scenario { MoonEsp2 = "aes128gcm16-curve25519", SunEsp2 = "aes128gcm16-curve25519" }.Build();
        Establish(pair, true);
        CreateSecond(pair, moonCreates);
        AssertPairsMatch(pair, "net2");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SecondChild_PfsGroupMismatch_InvalidKeRetry(bool moonCreates)
    {
        var s = new Scenario();
        s.MoonEsp2 = moonCreates ? "aes128gcm16-curve25519-ecp256" : "aes128gcm16-ecp256";
        s.SunEsp2 = moonCreates ? "aes128gcm16-ecp256" : "aes128gcm16-curve25519-ecp256";
        var pair = s.Build();
        Establish(pair, true);
        CreateSecond(pair, moonCreates);
        Assert.Contains(pair.Log, l => l.Contains("CREATE_CHILD_SA response", StringComparison.Ordinal));
        Assert.Equal(2, pair.Log.Count(l => l.Contains("CREATE_CHILD_SA request", StringComparison.Ordinal)));
        AssertPairsMatch(pair, "net2");
    }

    [Fact]
    public void SecondChild_NoProposalChosen_LeavesTheIkeSaAndFirstChild()
    {
        // Neither of sun's children (aes256gcm16, aes128gcm16) accepts aes128-sha1.
        var pair = new Scenario { MoonEsp2 = "aes128-sha1", SunEsp2 = "aes128gcm16" }.Build();
        Establish(pair, true);
        CreateSecond(pair, true);
        Assert.DoesNotContain(pair.EventsA.OfType<ChildSaInstall>(), c => c.ChildName == "net2");
        Assert.Contains(pair.EventsA.OfType<Alert>(), a => a.Message.Contains("NoProposalChosen", StringComparison.Ordinal));
        Assert.Single(pair.A.IkeSas);
        Assert.Single(pair.A.IkeSas.Single().Children);
    }

    [Fact]
    public void BothChildren_AreTrackedOnBothSides()
    {
        var pair = new Scenario().Build();
        Establish(pair, true);
        CreateSecond(pair, true);
        Assert.Equal(2, pair.A.IkeSas.Single().Children.Count);
        Assert.Equal(2, pair.B.IkeSas.Single().Children.Count);
        Assert.Equal((2, 2), (pair.A.ChildSaCount, pair.B.ChildSaCount));
    }
}

public class QueuedChildTests
{
    [Fact]
    public void ChildRequestedDuringAnotherExchange_StartsWhenTheWindowFrees()
    {
        var pair = new Scenario().Build();
        pair.Initiate(true);
        var sa = pair.A.IkeSas.Single();
        Assert.True(sa.SendLivenessCheck(pair.Now)); // occupies the window (not delivered yet)
        pair.A.Initiate(pair.Now, "moon-sun", "net2"); // queued behind it
        pair.Deliver();
        Assert.Contains(pair.Log, l => l.Contains("CREATE_CHILD_SA request", StringComparison.Ordinal));
        Assert.Equal(2, pair.B.IkeSas.Single().Children.Count);
        Assert.Equal((2, 2), (pair.A.ChildSaCount, pair.B.ChildSaCount));
    }
}
