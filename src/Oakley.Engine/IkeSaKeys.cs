using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.Cipher;
using Oakley.Crypto.Integrity;
using Oakley.Crypto.KeyDerivation;
using Oakley.Iana;
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
    public byte[] Protect(IkeMessage header, IReadOnlyList<IkePayload> payloads, bool senderIsOriginalInitiator, IEntropySource entropy) =>
        ProtectMessage(header, payloads, senderIsOriginalInitiator, entropy, int.MaxValue)[0];

    /// <summary>
    /// Builds a protected message as one datagram, or, if that would exceed <paramref name="maxDatagram"/> bytes,
    /// as Encrypted Fragment payloads (RFC 7383 §2.5): the inner payload chain is cut into pieces that are padded,
    /// encrypted and integrity-protected one by one, each in a datagram of at most <paramref name="maxDatagram"/>.
    /// </summary>
    public List<byte[]> ProtectMessage(IkeMessage header, IReadOnlyList<IkePayload> payloads, bool senderIsOriginalInitiator, IEntropySource entropy, int maxDatagram)
    {
        var plain = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var innerLength = IkeMessage.EncodePayloads(payloads, plain, out var first);
            if (SealedLength(IkeHeader.Size + 4, innerLength) <= maxDatagram)
            {
                return [Seal(header, plain.AsSpan(0, innerLength), first, 0, 0, senderIsOriginalInitiator, entropy)];
            }

            // RFC 7383 §2.5.1: what fits in one fragment after the IKE header, the SKF header, IV, ICV and at
            // least one pad length octet, rounded down to the cipher's block size (as strongSwan computes it).
            var block = Math.Max(Suite.Encryption.BlockSize, 1);
            var room = maxDatagram - IkeHeader.Size - 8 - Suite.Encryption.IvSize - IcvSize;
            var chunk = Math.Max(1, (room / block * block) - 1);
            var count = (innerLength + chunk - 1) / chunk;
            if (count > ushort.MaxValue)
            {
                throw new InvalidOperationException($"a message of {innerLength} bytes needs {count} fragments");
            }

            var fragments = new List<byte[]>(count);
            for (var i = 0; i < count; i++)
            {
                var offset = i * chunk;
                var piece = plain.AsSpan(offset, Math.Min(chunk, innerLength - offset));
                fragments.Add(Seal(header, piece, i == 0 ? first : PayloadType.None, (ushort)(i + 1), (ushort)count, senderIsOriginalInitiator, entropy));
            }

            return fragments;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
            System.Buffers.ArrayPool<byte>.Shared.Return(plain);
        }
    }

    private int SealedLength(int headersLength, int innerLength)
    {
        var block = Math.Max(Suite.Encryption.BlockSize, 1);
        var padLength = (block - ((innerLength + 1) % block)) % block;
        return headersLength + Suite.Encryption.IvSize + innerLength + padLength + 1 + IcvSize;
    }

    /// <summary>
    /// Writes one SK payload (<paramref name="total"/> 0) or one SKF fragment around <paramref name="inner"/>. The
    /// associated data (AEAD) or MAC input covers the IKE header and the payload header; for SKF that includes
    /// the Fragment Number and Total Fragments fields.
    /// </summary>
    private byte[] Seal(IkeMessage header, ReadOnlySpan<byte> inner, PayloadType first, ushort number, ushort total, bool senderIsOriginalInitiator, IEntropySource entropy)
    {
        var encryption = Suite.Encryption;
        var fragment = total > 0;
        var payloadHeader = fragment ? 8 : 4;
        // RFC 7296 §3.14: pad so that plaintext + pad length octet fills whole blocks; pad bytes are zero here.
        var block = Math.Max(encryption.BlockSize, 1);
        var padLength = (block - ((inner.Length + 1) % block)) % block;
        var plainLength = inner.Length + padLength + 1;
        var plain = new byte[plainLength];
        inner.CopyTo(plain);
        plain[plainLength - 1] = (byte)padLength;

        var ivSize = encryption.IvSize;
        var bodyLength = ivSize + plainLength + IcvSize;
        var total32 = IkeHeader.Size + payloadHeader + bodyLength;
        var message = new byte[total32];
        var outer = fragment ? PayloadType.EncryptedAndAuthenticatedFragment : PayloadType.EncryptedAndAuthenticated;
        new IkeHeader(header.InitiatorSpi, header.ResponderSpi, outer, 2, 0, header.ExchangeType, header.Flags, header.MessageId, (uint)total32)
            .Write(message);
        message[IkeHeader.Size] = (byte)first;
        message[IkeHeader.Size + 1] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(IkeHeader.Size + 2), (ushort)(payloadHeader + bodyLength));
        if (fragment)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(IkeHeader.Size + 4), number);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(IkeHeader.Size + 6), total);
        }

        var headersEnd = IkeHeader.Size + payloadHeader;
        var iv = message.AsSpan(headersEnd, ivSize);
        entropy.Fill(iv);
        var ciphertext = message.AsSpan(headersEnd + ivSize, plainLength);
        var icv = message.AsSpan(total32 - IcvSize, IcvSize);
        var encr = senderIsOriginalInitiator ? _encrI : _encrR;
        if (encryption.IsAead)
        {
            encr.Encrypt(iv, message.AsSpan(0, headersEnd), plain, ciphertext, icv);
        }
        else
        {
            encr.Encrypt(iv, default, plain, ciphertext, default);
            (senderIsOriginalInitiator ? _integI : _integR)!.Compute(message.AsSpan(0, total32 - IcvSize), icv);
        }

        CryptographicOperations.ZeroMemory(plain);
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

        var plain = Open(datagram.Span, sk.Body.Span, senderIsOriginalInitiator, "SK payload");
        return IkeMessage.DecodePayloads(sk.FirstInnerPayload, plain);
    }

    /// <summary>
    /// Verifies and decrypts one Encrypted Fragment payload (RFC 7383 §2.6: each fragment is authenticated before
    /// it is kept) and returns its piece of the inner payload chain, padding removed.
    /// </summary>
    public byte[] UnprotectFragment(ReadOnlyMemory<byte> datagram, EncryptedFragmentPayload skf, bool senderIsOriginalInitiator) =>
        Open(datagram.Span, skf.Body.Span, senderIsOriginalInitiator, "SKF payload").ToArray();

    /// <summary>Authenticates and decrypts an SK/SKF body that ends <paramref name="bytes"/>; returns the plaintext without padding.</summary>
    private ReadOnlyMemory<byte> Open(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> body, bool senderIsOriginalInitiator, string what)
    {
        var encryption = Suite.Encryption;
        var ivSize = encryption.IvSize;
        var icvSize = IcvSize;
        var cipherLength = body.Length - ivSize - icvSize;
        if (cipherLength <= 0 || cipherLength % Math.Max(encryption.BlockSize, 1) != 0)
        {
            throw IkeProtocolException.Drop($"{what} of {body.Length} bytes does not fit the negotiated cipher");
        }

        var headersEnd = bytes.Length - body.Length;
        var iv = body[..ivSize];
        var ciphertext = body.Slice(ivSize, cipherLength);
        var icv = body[^icvSize..];
        var plain = new byte[cipherLength];
        var encr = senderIsOriginalInitiator ? _encrI : _encrR;
        if (encryption.IsAead)
        {
            if (!encr.Decrypt(iv, bytes[..headersEnd], ciphertext, icv, plain))
            {
                throw IkeProtocolException.Drop($"{what} failed its integrity check");
            }
        }
        else
        {
            if (!(senderIsOriginalInitiator ? _integI : _integR)!.Verify(bytes[..^icvSize], icv))
            {
                throw IkeProtocolException.Drop($"{what} failed its integrity check");
            }

            encr.Decrypt(iv, default, ciphertext, default, plain);
        }

        var padLength = plain[^1];
        if (padLength + 1 > plain.Length)
        {
            throw IkeProtocolException.InvalidSyntax($"pad length {padLength} exceeds the plaintext");
        }

        return plain.AsMemory(0, plain.Length - 1 - padLength);
    }

    /// <summary>
    /// IKE_AUTH is done: SK_pi and SK_pr go, and the ciphers' native state goes until the next message needs it.
    /// </summary>
    public void Trim()
    {
        Keys.ForgetAuthenticationKeys();
        _encrI.Trim();
        _encrR.Trim();
    }

    /// <summary>The native cipher contexts the SK_e ciphers hold now (tests check that an idle SA holds none).</summary>
    internal int NativeContexts => _encrI.NativeContexts + _encrR.NativeContexts;

    public void Dispose()
    {
        _encrI.Dispose();
        _encrR.Dispose();
        _integI?.Dispose();
        _integR?.Dispose();
        Keys.Dispose();
    }
}
