using System.Buffers.Binary;
using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.Cipher;
using Oakley.Crypto.Integrity;
using Oakley.Iana;

namespace Oakley.Esp;

/// <summary>Why an inbound ESP packet was not delivered (each is a drop counter).</summary>
public enum EspOpenResult
{
    Ok,
    ShortPacket,
    Replay,
    BadIcv,
    BadPadding,

    /// <summary>A dummy packet (next header 59, RFC 4303 §2.6): authenticated, then silently dropped.</summary>
    Dummy,
}

/// <summary>Why an outbound packet could not be sealed.</summary>
public enum EspSealResult
{
    Ok,

    /// <summary>The sequence number would wrap: the SA must be rekeyed (RFC 4303 §3.3.3), it never wraps.</summary>
    SequenceExhausted,

    /// <summary>The output buffer is too small (caller bug, but reported rather than thrown on the fast path).</summary>
    BufferTooSmall,
}

/// <summary>
/// One direction of an ESP SA (RFC 4303): seal or open packets. AEAD transforms (GCM, CCM, ChaCha20-Poly1305,
/// RFC 4106/4309/7634) authenticate SPI ‖ [SeqHigh ‖] SeqLow as AAD and use the 64-bit sequence number as the
/// 8-byte IV (unique per key, as RFC 4106 §3.1 requires); CBC and CTR with HMAC/XCBC/CMAC are
/// encrypt-then-MAC with the high sequence half appended to the MAC input under ESN (§3.3.2.1), CBC with a
/// random IV. Sealing is safe from several workers at once (the sequence number and counters are interlocked);
/// opening is too (the replay window accepts each number once), though one receive thread per SA is the norm.
/// </summary>
public sealed class EspSa : IDisposable
{
    public const int HeaderSize = 8; // SPI + sequence number
    // Cipher and MAC contexts keep state (OpenSSL contexts) and are not thread-safe: each thread that seals or
    // opens with this SA gets its own pair, made from the key copies below. They hang in a lock-free list (one
    // node for the SA's one hot thread, the norm, a node more for each further thread) instead of a ThreadLocal,
    // whose slots, closure and delegate cost about 250 bytes per SA and direction.
    private readonly IntegrityAlgorithm? _integrity;
    private ThreadContexts? _contexts;
    private bool _disposed;
    private readonly byte[] _encryptionKey;
    private readonly byte[] _integrityKey;
    private readonly IEntropySource _entropy;

    /// <summary>
    /// CBC IVs come from the entropy source in 4 KiB draws, handed out 16 bytes at a time: one system RNG call
    /// per packet cost more than the AES and HMAC of a full-size packet. Per thread, so sealing threads never
    /// share (or reuse) IV bytes; used bytes are zeroed.
    /// </summary>
    private sealed class IvPool
    {
        private readonly byte[] _bytes = new byte[4096];
        private int _next = 4096;

        public void Take(IEntropySource entropy, Span<byte> iv)
        {
            if (_next + iv.Length > _bytes.Length)
            {
                entropy.Fill(_bytes);
                _next = 0;
            }

            var slice = _bytes.AsSpan(_next, iv.Length);
            slice.CopyTo(iv);
            slice.Clear();
            _next += iv.Length;
        }
    }

    [ThreadStatic]
    private static IvPool? _ivPool;
    private readonly EncryptionAlgorithm _encryption;
    private readonly int _icvSize;
    private readonly int _align;

    public EspSa(uint spi, EncryptionAlgorithm encryption, ReadOnlySpan<byte> encryptionKey, IntegrityAlgorithm? integrity, ReadOnlySpan<byte> integrityKey,
        bool esn, int replayWindow, IEntropySource entropy)
    {
        ArgumentNullException.ThrowIfNull(encryption);
        if (!encryption.IsAead && integrity is null)
        {
            // RFC 4303 §3.2 allows confidentiality-only ESP; Oakley does not offer it (nor does strongSwan by default).
            throw new ArgumentException("a non-AEAD cipher needs an integrity algorithm", nameof(integrity));
        }

        Spi = spi;
        _encryption = encryption;
        _encryptionKey = encryptionKey.ToArray();
        _integrityKey = integrityKey.ToArray();
        _integrity = integrity;
        // Made here to fail here, not on the packet path, if the keys are unusable; unowned, so the first thread
        // that carries packets takes it over instead of the installing thread keeping a pair it never uses.
        _contexts = new ThreadContexts(0, encryption.CreateContext(_encryptionKey), integrity?.CreateContext(_integrityKey), null);
        _icvSize = encryption.IsAead ? encryption.IcvSize : integrity?.IcvSize ?? 0;
        // RFC 4303 §2.4: the ciphertext, with trailer, ends on a 4-byte boundary and on the cipher's block size.
        _align = Math.Max(4, encryption.BlockSize);
        Esn = esn;
        Replay = new ReplayWindow(replayWindow, esn);
        _entropy = entropy;
    }

    public uint Spi { get; }

    public bool Esn { get; }

    public ReplayWindow Replay { get; }

    private ulong _sequence;
    private long _packets;
    private long _bytes;

    /// <summary>The last sequence number sent (0 before the first packet).</summary>
    public ulong Sequence => Volatile.Read(ref _sequence);

    /// <summary>Continues from a known last sequence number (tests of the counter's limit).</summary>
    internal void ResumeSequence(ulong last) => Volatile.Write(ref _sequence, last);

    public long Packets => Volatile.Read(ref _packets);

    private int _active;

    /// <summary>
    /// Called on a packet thread when the SA carries its first packet since <see cref="ResetActivity"/> (or ever):
    /// the host's once-a-second traffic report learns which SAs moved without walking every installed SA.
    /// </summary>
    public Action<EspSa>? Activity { get; init; }

    /// <summary>The CHILD SA this SA belongs to, for <see cref="Activity"/>'s listener: its inbound SPI and this SA's direction.</summary>
    public (uint ChildSpi, bool Inbound) Owner { get; init; }

    /// <summary>The listener has read this SA's counters: the next packet reports it again.</summary>
    public void ResetActivity() => Volatile.Write(ref _active, 0);

    private void NoteActivity()
    {
        if (Activity is { } report && Volatile.Read(ref _active) == 0 && Interlocked.Exchange(ref _active, 1) == 0)
        {
            report(this);
        }
    }

    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>The largest ESP packet <see cref="Seal"/> can produce for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public int MaxSealedLength(int payloadLength) => HeaderSize + _encryption.IvSize + payloadLength + 2 + _align + _icvSize;

    /// <summary>Encapsulates one payload (an IP packet in tunnel mode, the transport payload otherwise).</summary>
    public EspSealResult Seal(ReadOnlySpan<byte> payload, byte nextHeader, Span<byte> output, out int written) =>
        Seal(payload, nextHeader, output, out written, default);

    internal EspSealResult Seal(ReadOnlySpan<byte> payload, byte nextHeader, Span<byte> output, out int written, ReadOnlySpan<byte> fixedIv)
    {
        written = 0;
        var ivSize = _encryption.IvSize;
        var padLength = (_align - ((payload.Length + 2) % _align)) % _align;
        var plainLength = payload.Length + padLength + 2;
        var total = HeaderSize + ivSize + plainLength + _icvSize;
        if (output.Length < total)
        {
            return EspSealResult.BufferTooSmall;
        }

        // RFC 4303 §3.3.3: the counter never wraps; at the limit every further packet is refused until a rekey.
        var limit = Esn ? ulong.MaxValue : uint.MaxValue;
        ulong seq;
        do
        {
            var last = Volatile.Read(ref _sequence);
            if (last == limit)
            {
                return EspSealResult.SequenceExhausted;
            }

            seq = last + 1;
            if (Interlocked.CompareExchange(ref _sequence, seq, last) == last)
            {
                break;
            }
        }
        while (true);

        BinaryPrimitives.WriteUInt32BigEndian(output, Spi);
        BinaryPrimitives.WriteUInt32BigEndian(output[4..], (uint)seq);
        var iv = output.Slice(HeaderSize, ivSize);
        if (!fixedIv.IsEmpty)
        {
            fixedIv.CopyTo(iv);
        }
        else if (ivSize == 8 && _encryption.Id != EncrId.AesCbc)
        {
            BinaryPrimitives.WriteUInt64BigEndian(iv, seq); // counter-mode IVs only need uniqueness
        }
        else if (ivSize > 0)
        {
            (_ivPool ??= new IvPool()).Take(_entropy, iv); // CBC IVs must be unpredictable
        }

        // The plaintext is assembled in place: payload | 1, 2, 3, ... | pad length | next header.
        var body = output.Slice(HeaderSize + ivSize, plainLength);
        payload.CopyTo(body);
        for (var i = 0; i < padLength; i++)
        {
            body[payload.Length + i] = (byte)(i + 1);
        }

        body[^2] = (byte)padLength;
        body[^1] = nextHeader;
        var icv = output.Slice(total - _icvSize, _icvSize);
        if (_encryption.IsAead)
        {
            Span<byte> aad = stackalloc byte[12];
            var aadLength = Aad(seq, aad);
            Contexts().Cipher.Encrypt(iv, aad[..aadLength], body, body, icv);
        }
        else
        {
            var (cipher, integrity) = Contexts();
            cipher.Encrypt(iv, default, body, body, default);
            if (integrity is not null)
            {
                ComputeIcv(integrity, output[..(total - _icvSize)], seq, icv);
            }
        }

        Interlocked.Increment(ref _packets);
        Interlocked.Add(ref _bytes, payload.Length);
        NoteActivity();
        written = total;
        return EspSealResult.Ok;
    }

    /// <summary>
    /// Verifies and decrypts one ESP packet (starting at the SPI) into <paramref name="payload"/>, which must hold
    /// the ciphertext length. On success <paramref name="payloadLength"/> excludes padding and trailer.
    /// </summary>
    public EspOpenResult Open(ReadOnlySpan<byte> packet, Span<byte> payload, out int payloadLength, out byte nextHeader)
    {
        payloadLength = 0;
        nextHeader = 0;
        var ivSize = _encryption.IvSize;
        var cipherLength = packet.Length - HeaderSize - ivSize - _icvSize;
        if (cipherLength < 2 || cipherLength % _align != 0 && _encryption.BlockSize > 1 || payload.Length < cipherLength)
        {
            return EspOpenResult.ShortPacket;
        }

        var low = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        if (!Replay.Check(low, out var seq))
        {
            return EspOpenResult.Replay;
        }

        var iv = packet.Slice(HeaderSize, ivSize);
        var ciphertext = packet.Slice(HeaderSize + ivSize, cipherLength);
        var icv = packet[^_icvSize..];
        var plain = payload[..cipherLength];
        if (_encryption.IsAead)
        {
            Span<byte> aad = stackalloc byte[12];
            var aadLength = Aad(seq, aad);
            if (!Contexts().Cipher.Decrypt(iv, aad[..aadLength], ciphertext, icv, plain))
            {
                return EspOpenResult.BadIcv;
            }
        }
        else
        {
            var (cipher, integrity) = Contexts();
            if (integrity is not null)
            {
                Span<byte> expected = stackalloc byte[64];
                ComputeIcv(integrity, packet[..^_icvSize], seq, expected[.._icvSize]);
                if (!CryptographicOperations.FixedTimeEquals(expected[.._icvSize], icv))
                {
                    return EspOpenResult.BadIcv;
                }
            }

            cipher.Decrypt(iv, default, ciphertext, default, plain);
        }

        // Authenticated: now the sequence number counts (RFC 4303 §3.4.3).
        if (!Replay.TryAccept(seq))
        {
            return EspOpenResult.Replay;
        }

        var padLength = plain[^2];
        if (padLength + 2 > plain.Length)
        {
            return EspOpenResult.BadPadding;
        }

        // RFC 4303 §2.4: the default padding is 1, 2, 3, ...; anything else is an error.
        var pad = plain.Slice(plain.Length - 2 - padLength, padLength);
        for (var i = 0; i < pad.Length; i++)
        {
            if (pad[i] != (byte)(i + 1))
            {
                return EspOpenResult.BadPadding;
            }
        }

        nextHeader = plain[^1];
        payloadLength = plain.Length - 2 - padLength;
        Interlocked.Increment(ref _packets);
        Interlocked.Add(ref _bytes, payloadLength);
        NoteActivity();
        return nextHeader == 59 ? EspOpenResult.Dummy : EspOpenResult.Ok;
    }

    /// <summary>One thread's cipher and MAC contexts; <see cref="Owner"/> is its managed thread id, 0 while unowned.</summary>
    private sealed class ThreadContexts(int owner, CipherContext cipher, IntegrityContext? integrity, ThreadContexts? next)
    {
        public int Owner = owner;
        public readonly CipherContext Cipher = cipher;
        public readonly IntegrityContext? Integrity = integrity;
        public readonly ThreadContexts? Next = next;

        public void Deconstruct(out CipherContext c, out IntegrityContext? i)
        {
            c = Cipher;
            i = Integrity;
        }
    }

    /// <summary>
    /// The calling thread's contexts: its node, else the unowned one (claimed with a CAS), else a new node pushed
    /// with a CAS. Managed thread ids are unique among live threads, so no two threads ever share a node; a thread
    /// that reuses a dead thread's id takes over that thread's node, which keeps the list as short as the number of
    /// threads that use the SA at once.
    /// </summary>
    private ThreadContexts Contexts()
    {
        var id = Environment.CurrentManagedThreadId;
        var head = Volatile.Read(ref _contexts);
        for (var node = head; node is not null; node = node.Next)
        {
            if (node.Owner == id)
            {
                return node;
            }
        }

        return ClaimOrAdd(id, head);
    }

    private ThreadContexts ClaimOrAdd(int id, ThreadContexts? head)
    {
        for (var node = head; node is not null; node = node.Next)
        {
            if (Volatile.Read(ref node.Owner) == 0 && Interlocked.CompareExchange(ref node.Owner, id, 0) == 0)
            {
                return node;
            }
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        var added = new ThreadContexts(id, _encryption.CreateContext(_encryptionKey), _integrity?.CreateContext(_integrityKey), head);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _contexts, added, head);
            if (seen == head)
            {
                return added;
            }

            // Another thread pushed first (never this thread's id, only this thread adds nodes for it): retry on top.
            head = seen;
            if (head is null)
            {
                added.Cipher.Dispose();
                added.Integrity?.Dispose();
                ObjectDisposedException.ThrowIf(true, this);
            }

            added = new ThreadContexts(id, added.Cipher, added.Integrity, head);
        }
    }

    /// <summary>AAD of RFC 4106 §5 / RFC 7634 §3: SPI ‖ SeqLow, or SPI ‖ SeqHigh ‖ SeqLow with ESN.</summary>
    private int Aad(ulong seq, Span<byte> aad)
    {
        BinaryPrimitives.WriteUInt32BigEndian(aad, Spi);
        if (Esn)
        {
            BinaryPrimitives.WriteUInt64BigEndian(aad[4..], seq);
            return 12;
        }

        BinaryPrimitives.WriteUInt32BigEndian(aad[4..], (uint)seq);
        return 8;
    }

    /// <summary>ICV over SPI ‖ Seq ‖ IV ‖ ciphertext, with the high sequence half appended under ESN (RFC 4303 §3.3.2.1).</summary>
    private void ComputeIcv(IntegrityContext integrity, ReadOnlySpan<byte> authenticated, ulong seq, Span<byte> icv)
    {
        if (!Esn)
        {
            integrity.Compute(authenticated, icv);
            return;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(authenticated.Length + 4);
        try
        {
            authenticated.CopyTo(buffer);
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(authenticated.Length), (uint)(seq >> 32));
            integrity.Compute(buffer.AsSpan(0, authenticated.Length + 4), icv);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        for (var node = Interlocked.Exchange(ref _contexts, null); node is not null; node = node.Next)
        {
            node.Cipher.Dispose();
            node.Integrity?.Dispose();
        }

        CryptographicOperations.ZeroMemory(_encryptionKey);
        CryptographicOperations.ZeroMemory(_integrityKey);
    }
}
