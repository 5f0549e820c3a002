using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.Cipher;
using Oakley.Crypto.Integrity;
using Oakley.Crypto.KeyDerivation;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// The keyed state of an established IKE SA and the protection of its messages (the SK payload,
/// RFC 7296 §3.14; AEAD per RFC 5282): encrypt-then-MAC for classic ciphers, one AEAD pass otherwise.
/// </summary>
internal sealed class IkeSaKeys : IDisposable
{
    private readonly CipherContext _encrI;
    private readonly CipherContext _encrR;
    private readonly IntegrityContext? _integI;
    private readonly IntegrityContext? _integR;

    public IkeSaKeys(NegotiatedSuite suite, Ikev2KeyMaterial keys)
    {
        Suite = suite;
        Keys = keys;
        _encrI = suite.Encryption.CreateContext(keys.SK_ei);
        _encrR = suite.Encryption.CreateContext(keys.SK_er);
        if (suite.Integrity is { } integ)
        {
            _integI = integ.CreateContext(keys.SK_ai);
            _integR = integ.CreateContext(keys.SK_ar);
        }
    }

    public NegotiatedSuite Suite { get; }

    public Ikev2KeyMaterial Keys { get; }

    private int IcvSize => Suite.Encryption.IsAead ? Suite.Encryption.IcvSize : Suite.Integrity!.IcvSize;

    /// <summary>Builds a protected message: header fields from <paramref name="header"/>, payloads inside SK.</summary>
    public byte[] Protect(IkeMessage header, IReadOnlyList<IkePayload> payloads, bool senderIsOriginalInitiator, IEntropySource entropy)
    {
        var encryption = Suite.Encryption;
        var plain = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            return Protect(header, payloads, senderIsOriginalInitiator, entropy, encryption, plain);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(plain);
        }
    }

    private byte[] Protect(IkeMessage header, IReadOnlyList<IkePayload> payloads, bool senderIsOriginalInitiator, IEntropySource entropy, EncryptionAlgorithm encryption, byte[] plain)
    {
        var innerLength = IkeMessage.EncodePayloads(payloads, plain, out var first);
        // RFC 7296 §3.14: pad so that plaintext + pad length octet fills whole blocks; pad bytes are zero here.
        var block = Math.Max(encryption.BlockSize, 1);
        var padLength = (block - ((innerLength + 1) % block)) % block;
        var plainLength = innerLength + padLength + 1;
        plain.AsSpan(innerLength, padLength).Clear();
        plain[plainLength - 1] = (byte)padLength;

        var ivSize = encryption.IvSize;
        var skBodyLength = ivSize + plainLength + IcvSize;
        var total = IkeHeader.Size + 4 + skBodyLength;
        var message = new byte[total];
        new IkeHeader(header.InitiatorSpi, header.ResponderSpi, PayloadType.EncryptedAndAuthenticated, 2, 0, header.ExchangeType, header.Flags, header.MessageId, (uint)total)
            .Write(message);
        message[IkeHeader.Size] = (byte)first;
        message[IkeHeader.Size + 1] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(IkeHeader.Size + 2), (ushort)(4 + skBodyLength));
        var iv = message.AsSpan(IkeHeader.Size + 4, ivSize);
        entropy.Fill(iv);
        var ciphertext = message.AsSpan(IkeHeader.Size + 4 + ivSize, plainLength);
        var icv = message.AsSpan(total - IcvSize, IcvSize);
        var encr = senderIsOriginalInitiator ? _encrI : _encrR;
        if (encryption.IsAead)
        {
            encr.Encrypt(iv, message.AsSpan(0, IkeHeader.Size + 4), plain.AsSpan(0, plainLength), ciphertext, icv);
        }
        else
        {
            encr.Encrypt(iv, default, plain.AsSpan(0, plainLength), ciphertext, default);
            (senderIsOriginalInitiator ? _integI : _integR)!.Compute(message.AsSpan(0, total - IcvSize), icv);
        }

        CryptographicOperations.ZeroMemory(plain.AsSpan(0, plainLength));
        return message;
    }

    /// <summary>
    /// Verifies and decrypts the SK payload of a received message and returns the inner payloads. An integrity
    /// failure is a silent drop (RFC 7296 §2.21.1: "MUST discard"); malformed plaintext is INVALID_SYNTAX.
    /// </summary>
    public List<IkePayload> Unprotect(ReadOnlyMemory<byte> datagram, IkeMessage message, bool senderIsOriginalInitiator)
    {
        if (message.Payloads.Count == 0 || message.Payloads[^1] is not EncryptedPayload sk)
        {
            throw IkeProtocolException.InvalidSyntax("message is not protected by an SK payload");
        }

        var encryption = Suite.Encryption;
        var body = sk.Body;
        var ivSize = encryption.IvSize;
        var icvSize = IcvSize;
        var cipherLength = body.Length - ivSize - icvSize;
        if (cipherLength <= 0 || cipherLength % Math.Max(encryption.BlockSize, 1) != 0)
        {
            throw IkeProtocolException.Drop($"SK payload of {body.Length} bytes does not fit the negotiated cipher");
        }

        var bytes = datagram.Span;
        var skHeaderEnd = bytes.Length - body.Length;
        var iv = body.Span[..ivSize];
        var ciphertext = body.Span.Slice(ivSize, cipherLength);
        var icv = body.Span[^icvSize..];
        var plain = new byte[cipherLength];
        var encr = senderIsOriginalInitiator ? _encrI : _encrR;
        if (encryption.IsAead)
        {
            if (!encr.Decrypt(iv, bytes[..skHeaderEnd], ciphertext, icv, plain))
            {
                throw IkeProtocolException.Drop("SK payload failed its integrity check");
            }
        }
        else
        {
            if (!(senderIsOriginalInitiator ? _integI : _integR)!.Verify(bytes[..^icvSize], icv))
            {
                throw IkeProtocolException.Drop("SK payload failed its integrity check");
            }

            encr.Decrypt(iv, default, ciphertext, default, plain);
        }

        var padLength = plain[^1];
        if (padLength + 1 > plain.Length)
        {
            throw IkeProtocolException.InvalidSyntax($"pad length {padLength} exceeds the plaintext");
        }

        return IkeMessage.DecodePayloads(sk.FirstInnerPayload, plain.AsMemory(0, plain.Length - 1 - padLength));
    }

    public void Dispose()
    {
        _encrI.Dispose();
        _encrR.Dispose();
        _integI?.Dispose();
        _integR?.Dispose();
        Keys.Dispose();
    }
}
