using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// Builds IKE_SA_INIT requests as a real initiator sends them (SA, KE, Nonce, NAT-D notifies) without keeping any
/// state: what a flood of spoofed requests looks like to a responder. Used by the DoS tests and `oakley flood` (it lives
/// in the engine, not in Oakley.Testing, so that the shipped CLI does not reference the test assembly).
/// </summary>
public sealed class ForgedIkeSaInit
{
    private readonly SecurityAssociationPayload _sa;
    private readonly KeId _group;

    public ForgedIkeSaInit(string proposal = "aes256gcm16-prfsha256-x25519")
    {
        var proposals = ProposalString.ParseList(proposal, ProtocolId.Ike);
        _group = proposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Select(t => (KeId)t.Id).First();
        _sa = ProposalNegotiation.ToPayload(proposals, default, _group);
    }

    /// <summary>The key exchange method of the KE payload (the first one the proposal names).</summary>
    public KeId Group => _group;

    /// <summary>
    /// One request from <paramref name="source"/> to <paramref name="destination"/>. <paramref name="keyExchange"/> is the
    /// KE payload's data (random bytes do for X25519), <paramref name="cookie"/> a COOKIE to return (RFC 7296 §2.6: first).
    /// </summary>
    public byte[] Build(ulong spiI, ReadOnlyMemory<byte> nonce, ReadOnlyMemory<byte> keyExchange, IPEndPoint source, IPEndPoint destination, ReadOnlyMemory<byte> cookie = default)
    {
        var m = new IkeMessage { InitiatorSpi = spiI, ResponderSpi = 0, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Initiator, MessageId = 0 };
        if (!cookie.IsEmpty)
        {
            m.Payloads.Add(new NotifyPayload(NotifyType.Cookie, cookie));
        }

        m.Payloads.Add(_sa);
        m.Payloads.Add(new KeyExchangePayload(_group, keyExchange));
        m.Payloads.Add(new NoncePayload(nonce));
        m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, Tasks.NatDetectionTask.Hash(spiI, 0, source)));
        m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, Tasks.NatDetectionTask.Hash(spiI, 0, destination)));
        return m.Encode();
    }
}
