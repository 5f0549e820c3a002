using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>
/// SKF protection (RFC 7383 §2.5) with real ciphers: a message cut into fragments that each fit the limit, decode
/// as IKE messages with the same header, authenticate one by one and join to the original payload chain; the
/// Fragment Number and Total Fragments fields are covered by the ICV (AEAD associated data or the MAC).
/// </summary>
public class FragmentProtectionTests
{
    private static (IkeSaKeys Sender, IkeSaKeys Receiver) Keys(string proposal)
    {
        var suite = ProposalNegotiation.Resolve(ProposalString.Parse(proposal, ProtocolId.Ike));
        var entropy = new SeededEntropy(42);
        byte[] Bytes(int n)
        {
            var b = new byte[n];
            entropy.Fill(b);
            return b;
        }

        var material = new[] { Bytes(32), Bytes(suite.Integrity?.KeySize ?? 0), Bytes(suite.Integrity?.KeySize ?? 0), Bytes(suite.Encryption.KeyMaterialSize), Bytes(suite.Encryption.KeyMaterialSize), Bytes(32), Bytes(32) };
        Ikev2KeyMaterial Copy() => new(material[0].ToArray(), material[1].ToArray(), material[2].ToArray(), material[3].ToArray(), material[4].ToArray(), material[5].ToArray(), material[6].ToArray());
        return (new IkeSaKeys(suite, Copy()), new IkeSaKeys(suite, Copy()));
    }

    private static List<IkePayload> Payloads() =>
    [
        new NotifyPayload(NotifyType.InitialContact),
        new NotifyPayload((NotifyType)40001, Enumerable.Range(0, 700).Select(i => (byte)i).ToArray()),
        DeletePayload.ForChildSas(ProtocolId.Esp, [0x11111111u, 0x22222222u]),
        new NotifyPayload((NotifyType)40002, new byte[333]),
    ];

    private static byte[] Inner(List<IkePayload> payloads)
    {
        var buffer = new byte[4096];
        var n = IkeMessage.EncodePayloads(payloads, buffer, out _);
        return buffer[..n];
    }

    [Theory]
    [InlineData("aes256gcm16-prfsha256-x25519", 300)]
    [InlineData("aes128gcm8-prfsha256-x25519", 120)]
    [InlineData("chacha20poly1305-prfsha256-x25519", 500)]
    [InlineData("aes128-sha256-modp2048", 300)]
    [InlineData("aes256-sha512-ecp384", 1000)]
    [InlineData("3des-sha1-modp1024", 200)]
    public void Fragments_FitAuthenticateAndJoinToTheOriginal(string proposal, int maxDatagram)
    {
        var (sender, receiver) = Keys(proposal);
        using var s = sender;
        using var r = receiver;
        var header = new IkeMessage { InitiatorSpi = 0x0102030405060708, ResponderSpi = 0x1112131415161718, ExchangeType = ExchangeType.Informational, Flags = IkeHeaderFlags.Initiator, MessageId = 5 };
        var payloads = Payloads();
        var fragments = s.ProtectMessage(header, payloads, true, new SeededEntropy(7), maxDatagram);

        Assert.True(fragments.Count > 1);
        var joined = new List<byte>();
        var first = PayloadType.None;
        for (var i = 0; i < fragments.Count; i++)
        {
            Assert.True(fragments[i].Length <= maxDatagram, $"fragment {i + 1}: {fragments[i].Length} bytes");
            var m = IkeMessage.Decode(fragments[i]);
            Assert.Equal((header.InitiatorSpi, header.ResponderSpi, header.ExchangeType, header.Flags, header.MessageId), (m.InitiatorSpi, m.ResponderSpi, m.ExchangeType, m.Flags, m.MessageId));
            var skf = Assert.IsType<EncryptedFragmentPayload>(Assert.Single(m.Payloads));
            Assert.Equal((i + 1, fragments.Count), (skf.FragmentNumber, (int)skf.TotalFragments));
            joined.AddRange(r.UnprotectFragment(fragments[i], skf, true));
            if (i == 0)
            {
                first = skf.FirstInnerPayload;
            }
        }

        Assert.Equal(PayloadType.Notify, first);
        Assert.Equal(Inner(payloads), joined.ToArray());
        Assert.Equal(Inner(payloads), Inner(IkeMessage.DecodePayloads(first, joined.ToArray())));
        // The other direction's keys do not open it.
        Assert.Throws<IkeProtocolException>(() => r.UnprotectFragment(fragments[0], (EncryptedFragmentPayload)IkeMessage.Decode(fragments[0]).Payloads[0], false));

        // Below the limit the same call makes one ordinary SK message.
        var whole = Assert.Single(s.ProtectMessage(header, payloads, true, new SeededEntropy(7), int.MaxValue));
        var wm = IkeMessage.Decode(whole);
        Assert.IsType<EncryptedPayload>(Assert.Single(wm.Payloads));
        Assert.Equal(Inner(payloads), Inner(r.Unprotect(whole, wm, true)));
    }

    [Theory]
    [InlineData("aes256gcm16-prfsha256-x25519", 5)] // Fragment Number (low byte)
    [InlineData("aes256gcm16-prfsha256-x25519", 7)] // Total Fragments (low byte)
    [InlineData("aes128-sha256-modp2048", 5)]
    [InlineData("aes128-sha256-modp2048", 7)]
    public void FragmentFields_AreCoveredByTheIcv(string proposal, int offsetInSkf)
    {
        var (sender, receiver) = Keys(proposal);
        using var s = sender;
        using var r = receiver;
        var header = new IkeMessage { InitiatorSpi = 1, ResponderSpi = 2, ExchangeType = ExchangeType.Informational, Flags = IkeHeaderFlags.Initiator, MessageId = 9 };
        var fragments = s.ProtectMessage(header, Payloads(), true, new SeededEntropy(3), 400);
        Assert.True(fragments.Count >= 3);
        var tampered = (byte[])fragments[1].Clone();
        tampered[IkeHeader.Size + offsetInSkf] ^= 0x01; // fragment 2 -> 3, or total n -> n±1: still well-formed
        var m = IkeMessage.Decode(tampered);
        var skf = Assert.IsType<EncryptedFragmentPayload>(Assert.Single(m.Payloads));
        var e = Assert.Throws<IkeProtocolException>(() => r.UnprotectFragment(tampered, skf, true));
        Assert.True(e.IsDrop);
        Assert.NotEmpty(r.UnprotectFragment(fragments[1], (EncryptedFragmentPayload)IkeMessage.Decode(fragments[1]).Payloads[0], true));
    }
}
