using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Engine;

/// <summary>The CHILD SAs an IKE SA holds: installing one from its KEYMAT, removing one, volume limits (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    /// <summary>
    /// Derives the CHILD SA's keys (§2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) with the nonces of the exchange
    /// that creates it), adds it and tells the host to install it.
    /// </summary>
    internal ChildSa InstallChild(DateTimeOffset now, ChildConfig child, uint inboundSpi, uint outboundSpi, AlgorithmProposal selected,
        IReadOnlyList<TrafficSelectorRange> localTs, IReadOnlyList<TrafficSelectorRange> remoteTs, bool transport,
        byte[]? exchangeNonceI = null, byte[]? exchangeNonceR = null, byte[]? pfsSecret = null, bool? weInitiatedExchange = null, ChildSa? rekeys = null)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        localTs = TrafficSelectorRange.Share(localTs);
        remoteTs = TrafficSelectorRange.Share(remoteTs);
        var keys = _keys!;
        // Without the exchange's nonces only IKE_AUTH's CHILD SAs are derived, before ForgetIkeSaInit drops the SA's.
        var nonceI = exchangeNonceI ?? (NonceI.Length > 0 ? NonceI : throw new InvalidOperationException("CHILD SA keys without nonces"));
        var nonceR = exchangeNonceR ?? (NonceR.Length > 0 ? NonceR : throw new InvalidOperationException("CHILD SA keys without nonces"));
        using var keymat = Ikev2KeySchedule.DeriveChildKeys(keys.Suite.Prf!, keys.Keys.SK_d, nonceI, nonceR,
            suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0, pfsSecret is null ? [] : [pfsSecret]);
        // KEYMAT is split initiator->responder first (§2.17); "initiator" is the initiator of this exchange.
        var iAmExchangeInitiator = weInitiatedExchange ?? IsOriginalInitiator;
        var outEnc = iAmExchangeInitiator ? keymat.EncryptionKeyInitiatorToResponder : keymat.EncryptionKeyResponderToInitiator;
        var outInt = iAmExchangeInitiator ? keymat.IntegrityKeyInitiatorToResponder : keymat.IntegrityKeyResponderToInitiator;
        var inEnc = iAmExchangeInitiator ? keymat.EncryptionKeyResponderToInitiator : keymat.EncryptionKeyInitiatorToResponder;
        var inInt = iAmExchangeInitiator ? keymat.IntegrityKeyResponderToInitiator : keymat.IntegrityKeyInitiatorToResponder;
        var childSa = new ChildSa
        {
            Config = child,
            InboundSpi = inboundSpi,
            OutboundSpi = outboundSpi,
            Suite = suite,
            LocalTs = localTs,
            RemoteTs = remoteTs,
            TransportMode = transport,
            Installed = now,
            RekeyAt = child.RekeyTime > TimeSpan.Zero ? now + child.RekeyTime - Jitter(child) : DateTimeOffset.MaxValue,
            ExpireAt = child.LifeTime > TimeSpan.Zero ? now + child.LifeTime : DateTimeOffset.MaxValue,
        };
        AdoptChild(childSa);
        var encr = selected.OfType(TransformType.Encryption).Single();
        _services.Emit(new ChildSaInstall(now, Id, Config.Name, child.Name, inboundSpi, outboundSpi, transport, UdpEncapsulation,
            (EncrId)encr.Id, encr.KeyLengthBits, suite.Integrity?.Id ?? IntegId.None, suite.Esn,
            (byte[])inEnc.Clone(), (byte[])inInt.Clone(), (byte[])outEnc.Clone(), (byte[])outInt.Clone(),
            localTs, remoteTs, Local, Remote, child.RekeyTime, child.LifeTime, rekeys?.InboundSpi));
        return childSa;
    }

    /// <summary>
    /// swanctl rand_time: a random part of it is taken off rekey_time so that two peers with the same settings
    /// rarely rekey at once (default: life_time - rekey_time).
    /// </summary>
    private TimeSpan Jitter(ChildConfig child)
    {
        var range = child.RandTime ?? (child.LifeTime - child.RekeyTime);
        if (range <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var jitter = range * RandomFraction();
        return jitter < child.RekeyTime ? jitter : TimeSpan.Zero;
    }

    /// <summary>
    /// The data plane's counters of one CHILD SA (the larger of its two directions). Volume limits (rekey_bytes,
    /// rekey_packets) bring its rekey forward to now; life_bytes/life_packets its hard expiry. Without ESN the
    /// 32-bit sequence number must never wrap (RFC 4303 §3.3.3): 2^32 − 2^24 packets force a rekey whatever the
    /// configuration says.
    /// </summary>
    internal void NoteChildCounters(DateTimeOffset now, ChildSa child, ulong bytes, ulong packets)
    {
        // Only a limit crossed moves a deadline: the timer queue is touched then, not for every report.
        var c = child.Config;
        if ((c.LifeBytes > 0 && bytes >= c.LifeBytes) || (c.LifePackets > 0 && packets >= c.LifePackets))
        {
            if (now < child.ExpireAt)
            {
                child.ExpireAt = now;
                Touch();
            }
        }
        else if ((c.RekeyBytes > 0 && bytes >= c.RekeyBytes) || (c.RekeyPackets > 0 && packets >= c.RekeyPackets)
            || (!child.Suite.Esn && packets >= 0xFF00_0000UL))
        {
            if (now < child.RekeyAt)
            {
                child.RekeyAt = now;
                Touch();
            }
        }
    }
}
