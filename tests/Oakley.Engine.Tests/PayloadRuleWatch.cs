using Oakley.Crypto.KeyDerivation;
using Oakley.Engine.Rules;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tests;

/// <summary>
/// Checks every message two endpoints build against the payload rules (<see cref="PayloadRuleCheck"/>): protected
/// messages are decrypted with the sender's keys (copied when they are derived, through <see cref="Endpoint.Keylog"/>,
/// so that an SA deleted right after sending still counts), fragments are reassembled, and a violation fails the
/// test. <see cref="Scenario.Build"/> attaches one to every pair; <see cref="Wire"/> reads the plaintext through one.
/// </summary>
internal sealed class PayloadRuleWatch
{
    private readonly Dictionary<(ulong, ulong), IkeSaKeys> _keys = [];
    private readonly Dictionary<(ulong, ulong, uint, bool), byte[]?[]> _fragments = [];

    public PayloadRuleWatch(Endpoint a, Endpoint b)
    {
        foreach (var endpoint in new[] { a, b })
        {
            foreach (var sa in endpoint.IkeSas)
            {
                if (sa.Keys is { } k)
                {
                    Keep(sa, k.Keys);
                }
            }

            endpoint.Keylog += Keep;
        }
    }

    /// <summary>Messages checked so far (tests of the watch itself make sure it saw something).</summary>
    public int Checked { get; private set; }

    /// <summary>The keys of the IKE SA with these SPIs, as they were when derived.</summary>
    public IkeSaKeys KeysOf(ulong spiI, ulong spiR) => _keys[(spiI, spiR)];

    /// <summary>For <see cref="Oakley.Testing.EnginePair.Inspect"/>: checks one datagram (NAT keepalives are not IKE messages).</summary>
    public void Inspect(bool fromA, byte[] datagram)
    {
        if (datagram is not [0xFF])
        {
            Check(datagram, out _);
        }
    }

    /// <summary>
    /// Checks one datagram and returns the payloads it checked: the outer ones (IKE_SA_INIT and unprotected
    /// answers), the decrypted ones, or for the last fragment of a message the reassembled ones (null for the others).
    /// </summary>
    public IReadOnlyList<IkePayload>? Check(byte[] datagram, out IkeMessage header)
    {
        header = IkeMessage.Decode(datagram);
        var payloads = Open(datagram, header);
        if (payloads is not null)
        {
            Checked++;
            var verdict = PayloadRuleCheck.Check(header.ExchangeType, header.IsResponse, payloads);
            Assert.True(verdict.IsOk, $"an endpoint built a message that breaks the payload rules: {verdict} (message ID {header.MessageId})");
        }

        return payloads;
    }

    private IReadOnlyList<IkePayload>? Open(byte[] datagram, IkeMessage header)
    {
        var keys = (header.InitiatorSpi, header.ResponderSpi);
        switch (header.Payloads.Count > 0 ? header.Payloads[^1] : null)
        {
            case EncryptedPayload:
                return KeysOf(keys.InitiatorSpi, keys.ResponderSpi).Unprotect(datagram, header, header.IsInitiator);
            case EncryptedFragmentPayload skf:
                var key = (header.InitiatorSpi, header.ResponderSpi, header.MessageId, header.IsResponse);
                if (!_fragments.TryGetValue(key, out var pieces) || pieces.Length != skf.TotalFragments + 1)
                {
                    _fragments[key] = pieces = new byte[]?[skf.TotalFragments + 1];
                }

                pieces[skf.FragmentNumber] = KeysOf(keys.InitiatorSpi, keys.ResponderSpi).UnprotectFragment(datagram, skf, header.IsInitiator);
                if (skf.FragmentNumber == 1)
                {
                    pieces[0] = [(byte)skf.FirstInnerPayload];
                }

                if (pieces.Any(p => p is null))
                {
                    return null;
                }

                _fragments.Remove(key);
                return IkeMessage.DecodePayloads((PayloadType)pieces[0]![0], pieces.Skip(1).SelectMany(p => p!).ToArray());
            default:
                return header.Payloads;
        }
    }

    private void Keep(IkeSa sa, Ikev2KeyMaterial m) =>
        _keys[(sa.SpiI, sa.SpiR)] = new IkeSaKeys(sa.Keys!.Suite, new Ikev2KeyMaterial([.. m.SK_d], [.. m.SK_ai], [.. m.SK_ar], [.. m.SK_ei], [.. m.SK_er], [.. m.SK_pi], [.. m.SK_pr]));
}
