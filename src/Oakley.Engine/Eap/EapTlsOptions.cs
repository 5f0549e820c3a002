using Oakley.Crypto.Tls;
using Oakley.Engine.Certificates;

namespace Oakley.Engine.Eap;

/// <summary>
/// What EAP-TLS needs beyond what <see cref="EapServer"/> and <see cref="EapPeer"/> already hold (identities, the
/// <see cref="ISecretStore"/> with its keys and <see cref="CertificateStore"/>, entropy): the time for validity checks,
/// the certificates the round names, and the framing and version settings (strongSwan's
/// <c>charon.plugins.eap-tls.fragment_size</c> and <c>max_version</c>).
/// </summary>
public sealed record EapTlsOptions
{
    /// <summary>The time certificates are checked at: when the EAP conversation starts (it lasts seconds).</summary>
    public required DateTimeOffset Now { get; init; }

    /// <summary>
    /// Our candidate certificates (the round's <c>certs</c>): the first is used. Empty: the first end-entity certificate
    /// of the store that confirms our identity (the gateway's IKE identity, the client's EAP identity).
    /// </summary>
    public IReadOnlyList<Certificate> Certificates { get; init; } = [];

    /// <summary>The largest EAP message we send, header included (strongSwan's default 1024).</summary>
    public int FragmentSize { get; init; } = EapTlsFraming.DefaultFragmentSize;

    public TlsVersion MinVersion { get; init; } = TlsVersion.Tls12;

    /// <summary>The highest version we offer or accept; the highest both sides support is negotiated.</summary>
    public TlsVersion MaxVersion { get; init; } = TlsVersion.Tls13;

    /// <summary>swanctl <c>revocation</c> of the round that checks the other side's certificate (default relaxed).</summary>
    public RevocationPolicy Revocation { get; init; } = RevocationPolicy.Relaxed;

    /// <summary>The TLS channel's options for one side: our chain and key, the check of the other side, the versions.</summary>
    internal TlsChannelOptions Channel(EapTlsCredential credential, EapTlsPeerCheck check) => new()
    {
        CertificateChain = [.. credential.Chain.Select(c => c.Der)],
        PrivateKey = credential.Key,
        VerifyPeer = check.Check,
        MinVersion = MinVersion,
        MaxVersion = MaxVersion,
    };
}
