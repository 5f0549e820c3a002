using Oakley.Protocol.Ikev2;

namespace Oakley.Engine;

/// <summary>What <see cref="FragmentReassembly.Add"/> did with an (already authenticated) fragment.</summary>
public enum FragmentOutcome
{
    /// <summary>Kept; fragments are still missing.</summary>
    Kept,

    /// <summary>It was the last missing one: the whole message is returned and the buffer is empty again.</summary>
    Complete,

    /// <summary>A fragment number already held: ignored.</summary>
    Duplicate,

    /// <summary>An older message ID than the one being reassembled, or a smaller Total Fragments (RFC 7383 §2.6): ignored.</summary>
    Stale,

    /// <summary>More fragments than allowed, or the message grew beyond the size limit: the partial message was freed.</summary>
    TooLarge,
}

/// <summary>
/// Reassembly of one direction's fragmented message of an IKE SA (RFC 7383 §2.6). It only ever sees fragments the
/// SA has authenticated and decrypted, so what it holds came from the peer. One message at a time: a fragment of a
/// newer message ID discards the older partial message; a larger Total Fragments (the sender re-fragmented for a
/// smaller path MTU, §2.5.2) starts over. Memory is bounded by the fragment count and total size limits, time by
/// <see cref="Deadline"/>, after which the SA calls <see cref="Expire"/>.
/// </summary>
public sealed class FragmentReassembly
{
    private readonly int _maxFragments;
    private readonly int _maxBytes;
    private readonly TimeSpan _timeout;
    private byte[]?[] _pieces = [];
    private int _received;
    private int _bytes;
    private PayloadType _firstInner;

    public FragmentReassembly(int maxFragments, int maxBytes, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFragments, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _maxFragments = maxFragments;
        _maxBytes = maxBytes;
        _timeout = timeout;
    }

    /// <summary>True when no partial message is held.</summary>
    public bool IsEmpty => _received == 0;

    /// <summary>The message ID of the partial message (meaningful only when not <see cref="IsEmpty"/>).</summary>
    public uint MessageId { get; private set; }

    /// <summary>Bytes of plaintext held.</summary>
    public int BufferedBytes => _bytes;

    /// <summary>When the partial message is freed if still incomplete; <see cref="DateTimeOffset.MaxValue"/> when empty.</summary>
    public DateTimeOffset Deadline { get; private set; } = DateTimeOffset.MaxValue;

    /// <summary>
    /// Adds the decrypted content of fragment <paramref name="number"/> of <paramref name="total"/>. On
    /// <see cref="FragmentOutcome.Complete"/>, <paramref name="message"/> is the inner payload chain and
    /// <paramref name="firstInner"/> its first payload type (named by fragment 1).
    /// </summary>
    public FragmentOutcome Add(DateTimeOffset now, uint messageId, ushort number, ushort total, PayloadType firstPayload, byte[] piece,
        out byte[]? message, out PayloadType firstInner)
    {
        ArgumentNullException.ThrowIfNull(piece);
        message = null;
        firstInner = PayloadType.None;
        if (number == 0 || number > total)
        {
            throw new ArgumentException($"fragment {number} of {total}", nameof(number));
        }

        if (!IsEmpty && messageId < MessageId)
        {
            return FragmentOutcome.Stale;
        }

        if (total > _maxFragments)
        {
            Clear();
            return FragmentOutcome.TooLarge;
        }

        if (IsEmpty || messageId > MessageId || total > _pieces.Length)
        {
            Start(now, messageId, total);
        }
        else if (total < _pieces.Length)
        {
            return FragmentOutcome.Stale;
        }

        if (_pieces[number - 1] is not null)
        {
            return FragmentOutcome.Duplicate;
        }

        if (_bytes + piece.Length > _maxBytes)
        {
            Clear();
            return FragmentOutcome.TooLarge;
        }

        _pieces[number - 1] = piece;
        _received++;
        _bytes += piece.Length;
        if (number == 1)
        {
            _firstInner = firstPayload;
        }

        if (_received < _pieces.Length)
        {
            return FragmentOutcome.Kept;
        }

        message = new byte[_bytes];
        var offset = 0;
        foreach (var p in _pieces)
        {
            p!.CopyTo(message, offset);
            offset += p!.Length;
        }

        firstInner = _firstInner;
        Clear();
        return FragmentOutcome.Complete;
    }

    /// <summary>Frees a partial message whose deadline has passed; returns whether one was freed.</summary>
    public bool Expire(DateTimeOffset now)
    {
        if (IsEmpty || now < Deadline)
        {
            return false;
        }

        Clear();
        return true;
    }

    /// <summary>Frees the partial message if it is of <paramref name="messageId"/> or older (that message was handled some other way).</summary>
    public void DiscardUpTo(uint messageId)
    {
        if (!IsEmpty && MessageId <= messageId)
        {
            Clear();
        }
    }

    public void Clear()
    {
        _pieces = [];
        _received = 0;
        _bytes = 0;
        _firstInner = PayloadType.None;
        Deadline = DateTimeOffset.MaxValue;
    }

    private void Start(DateTimeOffset now, uint messageId, ushort total)
    {
        Clear();
        MessageId = messageId;
        _pieces = new byte[total][];
        Deadline = now + _timeout;
    }
}
