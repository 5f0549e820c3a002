using Oakley.Crypto.Signature;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// What an established IKE SA keeps (issue 14's per-SA memory budget): state only an exchange needs goes when the
/// exchange is done, and every later exchange still works without it.
/// </summary>
public class EstablishedStateTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AfterIkeAuth_NoSideKeepsTheIkeSaInitMessagesOrNonces_AndLaterExchangesStillWork(bool moonInitiates)
    {
        var pair = new Scenario().Build();
        pair.Initiate(moonInitiates);
        var a = Assert.Single(pair.A.IkeSas);
        var b = Assert.Single(pair.B.IkeSas);
        foreach (var sa in new[] { a, b })
        {
            Assert.Equal(IkeSaState.Established, sa.State);
            Assert.Empty(sa.InitRequest);
            Assert.Empty(sa.InitResponse);
            Assert.Empty(sa.NonceI);
            Assert.Empty(sa.NonceR);
            Assert.Null(sa.PeerSignatureHashes);
            Assert.Equal(0, sa.Keys!.NativeContexts); // the SK_e ciphers keep no OpenSSL context while the SA is idle
            Assert.Empty(sa.Keys.Keys.SK_pi); // AUTH's keys are of no further use (§2.15)
            Assert.Empty(sa.Keys.Keys.SK_pr);
            Assert.NotEmpty(sa.Keys.Keys.SK_d);
        }

        // IKE_AUTH's CHILD SA took its KEYMAT from the IKE_SA_INIT nonces before they went.
        var first = Assert.Single(pair.EventsA.OfType<ChildSaInstall>());
        Assert.Equal(first.OutboundEncryptionKey, Assert.Single(pair.EventsB.OfType<ChildSaInstall>()).InboundEncryptionKey);

        // A new CHILD SA and a CHILD SA rekey bring their own nonces (RFC 7296 §1.3): both sides derive the same keys.
        pair.A.Initiate(pair.Now, "moon-sun", "net2");
        pair.Deliver();
        AssertKeysAgree(pair, "net2", 1);
        Assert.True(a.RekeyChild(pair.Now, first.InboundSpi));
        pair.Deliver();
        AssertKeysAgree(pair, first.ChildName, 2);

        // So does an IKE rekey (§2.18: SKEYSEED from the old SK_d and the rekey's nonces), and the new SA carries a CHILD SA.
        Assert.True(b.Rekey(pair.Now));
        pair.RunUntilIdle(TimeSpan.FromSeconds(5));
        Assert.Single(pair.EventsA.OfType<IkeSaRekeyed>());
        pair.B.Initiate(pair.Now, "sun-moon", "net2");
        pair.Deliver();
        AssertKeysAgree(pair, "net2", 2);
        Assert.True(Assert.Single(pair.A.IkeSas).Keys!.NativeContexts > 0); // re-keyed on demand for the exchanges
        Assert.Empty(pair.EventsA.OfType<IkeSaDown>());
        Assert.Empty(pair.EventsB.OfType<IkeSaDown>());
    }

    [Fact]
    public void BeforeIkeAuth_TheResponderStillHoldsWhatAuthNeeds()
    {
        // The drop happens when IKE_AUTH is done, not earlier: a responder that answered IKE_SA_INIT keeps both
        // messages and nonces for the AUTH payloads (RFC 7296 §2.15).
        var pair = new Scenario().Build();
        pair.Filter = (fromA, t) => fromA && EnginePair.Describe(t.Datagram).StartsWith("IKE_AUTH request", StringComparison.Ordinal) ? 0 : 1;
        pair.Initiate(true);
        var responder = Assert.Single(pair.B.IkeSas);
        Assert.Equal(IkeSaState.Connecting, responder.State);
        Assert.NotEmpty(responder.InitRequest);
        Assert.NotEmpty(responder.InitResponse);
        Assert.NotEmpty(responder.NonceI);
        Assert.NotEmpty(responder.NonceR);
        Assert.NotEmpty(responder.Keys!.Keys.SK_pi);
        Assert.NotEmpty(responder.Keys.Keys.SK_pr);

        // Each side read the other's SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4) for a signature authenticator to use.
        Assert.Equal([SignatureHash.Sha256, SignatureHash.Sha384, SignatureHash.Sha512, SignatureHash.Identity], responder.PeerSignatureHashes);
        Assert.Equal([SignatureHash.Sha256, SignatureHash.Sha384, SignatureHash.Sha512, SignatureHash.Identity], Assert.Single(pair.A.IkeSas).PeerSignatureHashes);
    }

    private static void AssertKeysAgree(EnginePair pair, string child, int expected)
    {
        var installedA = pair.EventsA.OfType<ChildSaInstall>().Where(c => c.ChildName == child).ToList();
        var installedB = pair.EventsB.OfType<ChildSaInstall>().Where(c => c.ChildName == child).ToList();
        Assert.Equal(expected, installedA.Count);
        Assert.Equal(expected, installedB.Count);
        var last = installedA[^1];
        var peer = Assert.Single(installedB, c => c.OutboundSpi == last.InboundSpi);
        Assert.Equal(last.OutboundEncryptionKey, peer.InboundEncryptionKey);
        Assert.Equal(last.InboundEncryptionKey, peer.OutboundEncryptionKey);
    }
}
