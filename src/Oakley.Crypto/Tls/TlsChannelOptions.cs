using Oakley.Crypto.Signature;

namespace Oakley.Crypto.Tls;

/// <summary>The TLS versions EAP-TLS runs over (RFC 5216 for 1.2, RFC 9190 for 1.3); the value is the wire version.</summary>
public enum TlsVersion
{
    Tls12 = 0x0303,
    Tls13 = 0x0304,
}

/// <summary>What one side of a <see cref="TlsChannel"/> authenticates with and how it judges the other side.</summary>
public sealed class TlsChannelOptions
{
    /// <summary>Our certificate (DER) first, then the intermediates to send; never empty.</summary>
    public required IReadOnlyList<byte[]> CertificateChain { get; init; }

    /// <summary>The private key of the first certificate. The channel does not own it (the caller disposes it).</summary>
    public required SignaturePrivateKey PrivateKey { get; init; }

    /// <summary>
    /// Judges the peer's chain (DER, its end entity first, as received): null accepts it, anything else is the reason
    /// it is refused (the handshake then fails with that reason). A server requires the client to send one.
    /// </summary>
    public required Func<IReadOnlyList<byte[]>, string?> VerifyPeer { get; init; }

    public TlsVersion MinVersion { get; init; } = TlsVersion.Tls12;

    public TlsVersion MaxVersion { get; init; } = TlsVersion.Tls13;

    /// <summary>
    /// The EAP method type whose key material the channel derives at the end (RFC 9190 §2.3: the TLS 1.3 exporter's
    /// context is this one octet).
    /// </summary>
    public byte EapType { get; init; } = 13;

    /// <summary>The TLS 1.2 PRF label of that key material (RFC 5216 §2.3: "client EAP encryption" for EAP-TLS).</summary>
    public string Tls12KeyLabel { get; init; } = "client EAP encryption";
}
