namespace Oakley.Esp;

/// <summary>
/// The ESP anti-replay window (RFC 4303 §3.4.3 and Appendix A): a bitmap of the last <see cref="Size"/>
/// sequence numbers below the highest one accepted. With extended sequence numbers only the low 32 bits
/// travel; the high half is inferred as Appendix A2.2 describes. <see cref="Check"/> runs before the ICV is
/// verified (cheap rejection of replays); <see cref="Update"/> only after it verified.
/// </summary>
public sealed class ReplayWindow
{
    private readonly ulong[] _bits;
    private ulong _top; // highest sequence number accepted (0: none yet)

    public ReplayWindow(int size, bool extendedSequenceNumbers)
    {
        if (size < 32 || size > 65536 || size % 64 != 0 && size != 32)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "window size must be 32 or a multiple of 64 up to 65536");
        }

        Size = size;
        Esn = extendedSequenceNumbers;
        _bits = new ulong[(size + 63) / 64];
    }

    public int Size { get; }

    public bool Esn { get; }

    /// <summary>The highest sequence number accepted so far.</summary>
    public ulong Highest => Volatile.Read(ref _top);

    /// <summary>
    /// Infers the full sequence number of a received low half and says whether it may be new: false for 0,
    /// for anything left of the window and for a number already seen.
    /// </summary>
    public bool Check(uint low, out ulong sequence)
    {
        sequence = Esn ? Infer(low) : low;
        if (sequence == 0)
        {
            return false;
        }

        if (sequence > Volatile.Read(ref _top))
        {
            return true; // new, or raced by another receive thread: TryAccept decides, after the ICV
        }

        // Behind the top: read the top and the bitmap together. Unlocked, another receive thread's shift between
        // the two reads could make a new number look seen, and a good packet was dropped (issue 14's
        // several-threads test); one receive thread per SA, the norm, never contends for this lock.
        lock (_bits)
        {
            return sequence > _top || (_top - sequence < (ulong)Size && !IsSet(_top - sequence));
        }
    }

    /// <summary>
    /// Records an authenticated sequence number unless another receive thread recorded it first (false: a
    /// replay that raced its original). The lock is per SA and uncontended when one thread receives the SA.
    /// </summary>
    public bool TryAccept(ulong sequence)
    {
        lock (_bits)
        {
            if (sequence <= _top && (_top - sequence >= (ulong)Size || IsSet(_top - sequence)))
            {
                return false;
            }

            Update(sequence);
            return true;
        }
    }

    /// <summary>Records an authenticated sequence number (call only after the ICV verified).</summary>
    public void Update(ulong sequence)
    {
        if (sequence > _top)
        {
            var shift = sequence - _top;
            Shift(shift);
            _top = sequence;
            Set(0);
        }
        else
        {
            Set(_top - sequence);
        }
    }

    /// <summary>RFC 4303 Appendix A2.2: choose the high half that puts the number nearest the window.</summary>
    private ulong Infer(uint low)
    {
        var th = (uint)(_top >> 32);
        var tl = (uint)_top;
        var w = (uint)Size;
        uint high;
        if (tl >= w - 1)
        {
            // The window lies within one 2^32 subspace.
            high = low >= tl - w + 1 ? th : th + 1;
        }
        else
        {
            // The window spans two subspaces.
            high = low >= unchecked(tl - w + 1) ? (th == 0 ? 0 : th - 1) : th;
        }

        return ((ulong)high << 32) | low;
    }

    // Bit i of the window is sequence _top - i.
    private bool IsSet(ulong i) => (_bits[i / 64] & (1UL << (int)(i % 64))) != 0;

    private void Set(ulong i) => _bits[i / 64] |= 1UL << (int)(i % 64);

    private void Shift(ulong by)
    {
        if (by >= (ulong)(_bits.Length * 64))
        {
            Array.Clear(_bits);
            return;
        }

        var words = (int)(by / 64);
        var bits = (int)(by % 64);
        for (var i = _bits.Length - 1; i >= 0; i--)
        {
            var src = i - words;
            var value = src >= 0 ? _bits[src] << bits : 0;
            if (bits != 0 && src - 1 >= 0)
            {
                value |= _bits[src - 1] >> (64 - bits);
            }

            _bits[i] = value;
        }
    }
}
