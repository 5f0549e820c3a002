using System.Text.Json;
using Oakley.Crypto.Registry;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Ikev2;

/// <summary>
/// The protected INFORMATIONAL message of RFC 7634 Appendix B: parse it, decrypt the SK payload with
/// ENCR_CHACHA20_POLY1305 from the crypto registry, decode the inner Notify, and re-encode byte for byte
/// (both the outer message and, by re-encrypting, the ciphertext).
/// </summary>
public class Rfc7634MessageTests
{
    private static readonly JsonElement Vector = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "rfc7634_appendix_b_message.json")))
        .RootElement.GetProperty("vectors")[0];

    private static string Input(string name) => Vector.GetProperty("inputs").GetProperty(name).GetString()!;

    [Fact]
    public void ParsesDecryptsAndReencodesByteForByte()
    {
        var wire = Parse(Vector.GetProperty("expected_message").GetString()!);
        var message = IkeMessage.Decode(wire);
        Assert.Equal(Convert.ToUInt64(Input("spi_i"), 16), message.InitiatorSpi);
        Assert.Equal(Convert.ToUInt64(Input("spi_r"), 16), message.ResponderSpi);
        Assert.Equal(ExchangeType.Informational, message.ExchangeType);
        Assert.Equal(9u, message.MessageId);
        Assert.Equal(IkeHeaderFlags.None, message.Flags);
        var sk = Assert.IsType<EncryptedPayload>(Assert.Single(message.Payloads));
        Assert.Equal(PayloadType.Notify, sk.FirstInnerPayload);

        var cipher = TransformRegistry.GetEncryption(EncrId.ChaCha20Poly1305, 0)!;
        Assert.Equal(36, cipher.KeyMaterialSize);
        using var context = cipher.CreateContext(Parse(Input("sk_e_key_plus_salt")));
        var body = sk.Body.Span;
        var iv = body[..cipher.IvSize];
        Assert.Equal(Input("iv"), Of(iv));
        var ciphertext = body[cipher.IvSize..^cipher.IcvSize];
        var icv = body[^cipher.IcvSize..];
        // RFC 7634 §3 / RFC 5282 §5.1: the AAD is the IKE header and the SK payload's generic header.
        var aad = wire.AsSpan(0, IkeHeader.Size + IkePayloadReader.GenericHeaderSize);
        var plaintext = new byte[ciphertext.Length];
        Assert.True(context.Decrypt(iv, aad, ciphertext, icv, plaintext));

        // RFC 7296 §3.14: the last octet is the pad length; padding precedes it.
        var padLength = plaintext[^1];
        var inner = IkeMessage.DecodePayloads(sk.FirstInnerPayload, plaintext.AsMemory(0, plaintext.Length - 1 - padLength));
        var notify = Assert.IsType<NotifyPayload>(Assert.Single(inner));
        Assert.Equal(NotifyType.SetWindowSize, notify.NotifyType);
        Assert.Equal(ProtocolId.None, notify.Protocol);
        Assert.Equal("0000000a", Of(notify.Data.Span));

        // Re-encode the outer message: identical bytes.
        Assert.Equal(Of(wire), Of(message.Encode()));

        // Re-encode the inner payloads and re-encrypt with the same IV: identical ciphertext and ICV.
        var innerPlain = new byte[64];
        var n = IkeMessage.EncodePayloads(inner, innerPlain, out var first);
        Assert.Equal(PayloadType.Notify, first);
        innerPlain[n] = 0; // pad length 0
        var reCipher = new byte[n + 1];
        var reIcv = new byte[16];
        context.Encrypt(iv, aad, innerPlain.AsSpan(0, n + 1), reCipher, reIcv);
        Assert.Equal(Of(ciphertext), Of(reCipher));
        Assert.Equal(Of(icv), Of(reIcv));
    }

    [Fact]
    public void TamperedIcv_FailsToDecrypt()
    {
        var wire = Parse(Vector.GetProperty("expected_message").GetString()!);
        wire[^1] ^= 1;
        var sk = (EncryptedPayload)IkeMessage.Decode(wire).Payloads[0];
        using var context = TransformRegistry.GetEncryption(EncrId.ChaCha20Poly1305, 0)!.CreateContext(Parse(Input("sk_e_key_plus_salt")));
        var body = sk.Body.Span;
        var plaintext = new byte[body.Length - 24];
        Assert.False(context.Decrypt(body[..8], wire.AsSpan(0, 32), body[8..^16], body[^16..], plaintext));
    }
}
