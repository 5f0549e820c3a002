using System.Buffers.Binary;

namespace Oakley.Engine.Eap;

/// <summary>What one received EAP-TLS fragment amounted to.</summary>
internal enum EapTlsFragment
{
    /// <summary>More fragments follow: answer with an ACK.</summary>
    More,

    /// <summary>The TLS data is whole.</summary>
    Complete,

    /// <summary>The framing is wrong; the method fails.</summary>
    Failed,
}

/// <summary>
/// EAP-TLS framing (RFC 5216 §3.1/§3.2) in type data: the Flags octet (L: a four-octet TLS Message Length follows,
/// M: more fragments follow, S: start), our TLS data cut into fragments that fit the EAP message size, and the peer's
/// fragments put back together. Sizes as strongSwan counts them (<c>charon.plugins.eap-tls.fragment_size</c>, 1024): the
/// whole EAP message, header included, is at most the fragment size; and, like strongSwan with <c>include_length</c>,
/// the first fragment of every message with data carries L, also when it is not fragmented.
/// </summary>
internal sealed class EapTlsFraming
{
    public const byte LengthIncluded = 0x80;
    public const byte MoreFragments = 0x40;
    public const byte Start = 0x20;

    /// <summary>strongSwan's default EAP-TLS message size.</summary>
    public const int DefaultFragmentSize = 1024;

    /// <summary>
    /// The most TLS data one direction of a flight may carry: a certificate chain of a few certificates is under 10 KiB,
    /// and a peer announcing or sending more is refused before it costs memory.
    /// </summary>
    public const int MaxMessage = 64 * 1024;

    /// <summary>The smallest fragment size that still carries data after the EAP header, Flags and Length (5 + 1 + 4 octets).</summary>
    public const int MinFragmentSize = 64;

    private const int EapHeader = 5;

    private readonly int _fragmentSize;
    private byte[]? _out;
    private int _sent;
    private List<byte>? _in;
    private int? _announced;

    public EapTlsFraming(int fragmentSize)
    {
        if (fragmentSize < MinFragmentSize || fragmentSize > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(fragmentSize), fragmentSize, $"an EAP-TLS fragment size is {MinFragmentSize}..65535 octets");
        }

        _fragmentSize = fragmentSize;
    }

    /// <summary>Our fragments are not all sent: the peer's ACK asks for the next one.</summary>
    public bool Sending => _out is not null;

    /// <summary>The type data of an ACK (RFC 5216 §3.2: an EAP-TLS message with no data and no flags).</summary>
    public static byte[] Ack => [0];

    /// <summary>An ACK, or the peer's empty final response: Flags only, no L, M or S.</summary>
    public static bool IsAck(ReadOnlySpan<byte> typeData) => typeData.Length == 1 && (typeData[0] & (LengthIncluded | MoreFragments | Start)) == 0;

    /// <summary>Starts sending <paramref name="tls"/> and returns its first fragment (an empty response or ACK if there is no data).</summary>
    public byte[] Send(byte[] tls)
    {
        if (tls.Length == 0)
        {
            return Ack;
        }

        _out = tls;
        _sent = 0;
        return Next();
    }

    /// <summary>The next fragment of what is being sent.</summary>
    public byte[] Next()
    {
        var data = _out ?? throw new InvalidOperationException("no EAP-TLS fragments to send");
        var first = _sent == 0;
        var room = _fragmentSize - EapHeader - 1 - (first ? 4 : 0);
        var chunk = Math.Min(room, data.Length - _sent);
        var more = _sent + chunk < data.Length;
        var fragment = new byte[1 + (first ? 4 : 0) + chunk];
        fragment[0] = (byte)((first ? LengthIncluded : 0) | (more ? MoreFragments : 0));
        if (first)
        {
            BinaryPrimitives.WriteUInt32BigEndian(fragment.AsSpan(1), (uint)data.Length);
        }

        data.AsSpan(_sent, chunk).CopyTo(fragment.AsSpan(fragment.Length - chunk));
        _sent += chunk;
        if (!more)
        {
            _out = null;
        }

        return fragment;
    }

    /// <summary>
    /// A fragment from the peer (not an ACK). <paramref name="message"/>: the whole TLS data once complete;
    /// <paramref name="error"/>: why the framing is refused.
    /// </summary>
    public EapTlsFragment Receive(ReadOnlySpan<byte> typeData, out byte[]? message, out string? error)
    {
        message = null;
        error = null;
        if (typeData.IsEmpty)
        {
            return Refuse("the EAP-TLS message has no Flags octet", out error);
        }

        var flags = typeData[0];
        var data = typeData[1..];
        if ((flags & LengthIncluded) != 0)
        {
            if (data.Length < 4)
            {
                return Refuse("the EAP-TLS message sets L but is too short for the TLS Message Length", out error);
            }

            var announced = BinaryPrimitives.ReadUInt32BigEndian(data);
            data = data[4..];
            if (announced > MaxMessage)
            {
                return Refuse($"the EAP-TLS message announces {announced} octets of TLS data, more than {MaxMessage}", out error);
            }

            if (_announced is { } known && known != announced)
            {
                return Refuse($"an EAP-TLS fragment announces {announced} octets, the first announced {known}", out error);
            }

            _announced = (int)announced;
        }

        _in ??= [];
        var limit = _announced ?? MaxMessage;
        if (_in.Count + data.Length > limit)
        {
            return Refuse(_announced is null
                ? $"the EAP-TLS fragments exceed {MaxMessage} octets"
                : $"the EAP-TLS fragments carry more than the {limit} octets announced", out error);
        }

        foreach (var b in data)
        {
            _in.Add(b);
        }

        if ((flags & MoreFragments) != 0)
        {
            // An empty fragment with M would only ask for another round trip.
            return data.IsEmpty ? Refuse("an EAP-TLS fragment with M carries no data", out error) : EapTlsFragment.More;
        }

        var whole = _in.ToArray();
        var expected = _announced;
        _in = null;
        _announced = null;
        if (expected is { } n && n != whole.Length)
        {
            return Refuse($"the EAP-TLS fragments end after {whole.Length} of the {n} octets announced", out error);
        }

        message = whole;

        return EapTlsFragment.Complete;
    }

    private EapTlsFragment Refuse(string why, out string? error)
    {
        _in = null;
        _announced = null;
        error = why;
        return EapTlsFragment.Failed;
    }
}
