using Oakley.Iana;

namespace Oakley.Crypto.KeyExchange;

/// <summary>
/// One side of one key exchange (a Diffie-Hellman group or a KEM), in the shape of RFC 7296/RFC 9370:
/// <list type="bullet">
/// <item>Initiator: <see cref="GetPublicKey"/> (sent in KEi), then <see cref="SetPeerPublicKey"/> with KEr.</item>
/// <item>Responder: <see cref="SetPeerPublicKey"/> with KEi (a KEM encapsulates here), then <see cref="GetPublicKey"/>
/// (for a KEM, the ciphertext) for KEr.</item>
/// </list>
/// Then <see cref="GetSharedSecret"/>. Private material is zeroed on <see cref="Dispose"/>.
/// </summary>
public abstract class KeyExchange : IDisposable
{
    public abstract KeId Method { get; }

    /// <summary>The value to put in our KE payload's Key Exchange Data.</summary>
    public abstract byte[] GetPublicKey();

    /// <summary>
    /// Takes the peer's Key Exchange Data. A wrong length or an invalid value (a point not on the curve,
    /// a MODP value outside 1 &lt; y &lt; p-1, RFC 6989) throws <see cref="IkeProtocolException"/>
    /// carrying INVALID_SYNTAX.
    /// </summary>
    public abstract void SetPeerPublicKey(ReadOnlySpan<byte> peerPublicKey);

    /// <summary>The shared secret g^ir (or the KEM shared secret), in the wire format RFC 7296 §2.14 specifies.</summary>
    public abstract byte[] GetSharedSecret();

    protected virtual void Dispose(bool disposing)
    {
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
