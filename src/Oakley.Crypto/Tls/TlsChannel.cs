using System.Security.Cryptography;
using Oakley.Crypto.Signature;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Utilities;
using BcCertificate = Org.BouncyCastle.Tls.Certificate;

namespace Oakley.Crypto.Tls;

/// <summary>
/// A sans-IO TLS 1.2/1.3 connection for EAP-TLS: TLS records in (<see cref="Receive"/>), TLS records out
/// (<see cref="TakeOutput"/>), no stream, socket, thread or clock. Certificates are judged by the caller
/// (<see cref="TlsChannelOptions.VerifyPeer"/>), every random byte comes from the <see cref="IEntropySource"/>, and when
/// the handshake completes the EAP key material is derived (<see cref="KeyMaterial"/>).
/// </summary>
/// <remarks>
/// Why BouncyCastle and not the BCL's <c>SslStream</c> (checked on .NET 10.0.12): <c>SslStream</c> has no keying
/// material exporter (RFC 5705 / RFC 8446 §7.5). Its public surface, listed by reflection, has
/// <c>TransportContext.GetChannelBinding</c> and nothing that exports keys or the master secret, and the API is still a
/// proposal (dotnet/runtime#112529, open). EAP-TLS cannot work without it: the MSK is that export (RFC 5216 §2.3,
/// RFC 9190 §2.3). <c>SslStream</c> would also need an async stream pair and tasks inside the engine. BouncyCastle's
/// <see cref="TlsProtocol"/> in its non-blocking mode (<c>OfferInput</c>/<c>ReadOutput</c>) is a state machine fed
/// with bytes, which is what the engine is.
/// </remarks>
public sealed class TlsChannel : IDisposable
{
    /// <summary>The key material of RFC 5216 §2.3 / RFC 9190 §2.3: MSK (64 octets) then EMSK (64 octets).</summary>
    public const int KeyMaterialLength = 128;

    private readonly TlsProtocol _protocol;
    private readonly TlsChannelOptions _options;
    private string? _refusal;
    private byte[]? _keyMaterial;

    private TlsChannel(TlsProtocol protocol, TlsChannelOptions options)
    {
        _protocol = protocol;
        _options = options;
    }

    /// <summary>Why the channel failed (never key material), once it did.</summary>
    public string? Error { get; private set; }

    /// <summary>The handshake completed (both Finished messages verified) and the key material is derived.</summary>
    public bool IsComplete => _keyMaterial is not null && Error is null;

    /// <summary>The negotiated version once the handshake completed.</summary>
    public TlsVersion? Version { get; private set; }

    /// <summary>The peer's chain as it was accepted (DER, end entity first).</summary>
    public IReadOnlyList<byte[]>? PeerChain { get; private set; }

    /// <summary>A copy of the 128 octets of EAP key material once complete (the caller zeroes it), else null.</summary>
    public byte[]? KeyMaterial => IsComplete ? _keyMaterial!.ToArray() : null;

    /// <summary>A server that requests and requires a client certificate; it waits for the ClientHello.</summary>
    public static TlsChannel Server(TlsChannelOptions options, IEntropySource entropy)
    {
        Validate(options, entropy);
        var protocol = new TlsServerProtocol();
        var channel = new TlsChannel(protocol, options);
        protocol.Accept(new OakleyTlsServer(new EntropyTlsCrypto(entropy), options, channel));
        return channel;
    }

    /// <summary>A client; its ClientHello is ready in <see cref="TakeOutput"/>.</summary>
    public static TlsChannel Client(TlsChannelOptions options, IEntropySource entropy)
    {
        Validate(options, entropy);
        var protocol = new TlsClientProtocol();
        var channel = new TlsChannel(protocol, options);
        protocol.Connect(new OakleyTlsClient(new EntropyTlsCrypto(entropy), channel));
        return channel;
    }

    /// <summary>
    /// TLS records from the peer (any split: a partial record waits for the rest). False when the connection failed,
    /// with <see cref="Error"/>; malformed input of any kind fails the channel, it never throws.
    /// </summary>
    public bool Receive(ReadOnlySpan<byte> records)
    {
        if (Error is not null)
        {
            return false;
        }

        try
        {
            _protocol.OfferInput(records.ToArray());
            return true;
        }
        catch (TlsFatalAlertReceived e)
        {
            return Fail($"the peer sent the TLS alert {AlertDescription.GetText(e.AlertDescription)}");
        }
        catch (TlsFatalAlert e)
        {
            return Fail(_refusal ?? $"TLS failed with {AlertDescription.GetText(e.AlertDescription)}{(string.IsNullOrEmpty(e.Message) ? "" : ": " + e.Message)}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // BouncyCastle reports most bad input as TlsFatalAlert; anything else it throws for a peer's bytes is still
            // the peer's fault, and the EAP layer must answer it with a failure, not an exception.
            return Fail(_refusal ?? $"malformed TLS data ({e.GetType().Name})");
        }
    }

    /// <summary>The TLS records to send to the peer now (empty when there are none).</summary>
    public byte[] TakeOutput()
    {
        var n = _protocol.GetAvailableOutputBytes();
        var output = new byte[n];
        if (n > 0)
        {
            _protocol.ReadOutput(output, 0, n);
        }

        return output;
    }

    /// <summary>Application data to protect and send (after the handshake; the records appear in <see cref="TakeOutput"/>).</summary>
    public void SendApplicationData(ReadOnlySpan<byte> data)
    {
        if (!IsComplete)
        {
            throw new InvalidOperationException("TLS application data before the handshake completed");
        }

        _protocol.WriteApplicationData(data);
    }

    /// <summary>The application data received so far (empty when none).</summary>
    public byte[] TakeApplicationData()
    {
        var n = _protocol.GetAvailableInputBytes();
        var data = new byte[n];
        if (n > 0)
        {
            _protocol.ReadInput(data, 0, n);
        }

        return data;
    }

    public void Dispose()
    {
        if (_keyMaterial is not null)
        {
            CryptographicOperations.ZeroMemory(_keyMaterial);
        }
    }

    /// <summary>The peer's Certificate message: judged by the caller; a refusal aborts the handshake with its reason.</summary>
    internal void CheckPeer(BcCertificate? certificate)
    {
        if (certificate is null || certificate.IsEmpty)
        {
            throw Refuse("the peer sent no certificate", AlertDescription.certificate_required);
        }

        var chain = new List<byte[]>(certificate.Length);
        for (var i = 0; i < certificate.Length; i++)
        {
            chain.Add(certificate.GetCertificateAt(i).GetEncoded());
        }

        if (_options.VerifyPeer(chain) is { } why)
        {
            throw Refuse(why, AlertDescription.bad_certificate);
        }

        PeerChain = chain;
    }

    /// <summary>Records why we abort (the text <see cref="Error"/> will carry) and returns the alert to throw.</summary>
    internal TlsFatalAlert Refuse(string why, short alert)
    {
        _refusal ??= why;
        return new TlsFatalAlert(alert, why);
    }

    /// <summary>Our credential for the negotiated version and the peer's signature algorithms.</summary>
    internal TlsSigner Signer(TlsContext context, IList<SignatureAndHashAlgorithm>? peerOffered, byte[]? requestContext)
    {
        var tls13 = TlsUtilities.IsTlsV13(context);
        var key = _options.PrivateKey;
        if (TlsSignatureSchemes.Choose(key, tls13, peerOffered) is not { } scheme)
        {
            throw Refuse($"the peer accepts no TLS signature scheme for our {key.KeyType} key", AlertDescription.handshake_failure);
        }

        var certificates = _options.CertificateChain.Select(der => context.Crypto.CreateCertificate(CertificateType.X509, der)).ToArray();
        var chain = tls13
            ? new BcCertificate(requestContext ?? TlsUtilities.EmptyBytes, [.. certificates.Select(c => new CertificateEntry(c, null))])
            : new BcCertificate(certificates);
        return new TlsSigner(chain, key, scheme.Tls, scheme.Oakley);
    }

    /// <summary>
    /// Both Finished messages are verified: derive the EAP key material while the secrets are still there. TLS 1.3: the
    /// exporter of RFC 8446 §7.5 with RFC 9190 §2.3's label and the method type as context. TLS 1.2: RFC 5216 §2.3's
    /// PRF(master_secret, label, client_random ‖ server_random), computed here rather than with
    /// <c>ExportKeyingMaterial</c>, which BouncyCastle refuses without the extended master secret (RFC 7627 §5.4) and
    /// strongSwan's TLS stack does not negotiate it. RFC 5216's formula is the same with or without it.
    /// </summary>
    internal void Completed(TlsContext context)
    {
        var sp = context.SecurityParameters;
        var tls13 = TlsUtilities.IsTlsV13(sp.NegotiatedVersion);
        _keyMaterial = tls13
            ? context.ExportKeyingMaterial("EXPORTER_EAP_TLS_Key_Material", [_options.EapType], KeyMaterialLength)
            : TlsUtilities.Prf(sp, sp.MasterSecret, _options.Tls12KeyLabel, Arrays.Concatenate(sp.ClientRandom, sp.ServerRandom), KeyMaterialLength).Extract();
        Version = tls13 ? TlsVersion.Tls13 : TlsVersion.Tls12;
    }

    internal ProtocolVersion[] Versions()
    {
        var max = _options.MaxVersion == TlsVersion.Tls13 ? ProtocolVersion.TLSv13 : ProtocolVersion.TLSv12;
        var min = _options.MinVersion == TlsVersion.Tls13 ? ProtocolVersion.TLSv13 : ProtocolVersion.TLSv12;
        return max.DownTo(min);
    }

    internal SignatureKeyType KeyType => _options.PrivateKey.KeyType;

    private bool Fail(string error)
    {
        Error = error;
        if (_keyMaterial is not null)
        {
            CryptographicOperations.ZeroMemory(_keyMaterial);
            _keyMaterial = null;
        }

        return false;
    }

    private static void Validate(TlsChannelOptions options, IEntropySource entropy)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(entropy);
        if (options.CertificateChain.Count == 0)
        {
            throw new ArgumentException("a TLS channel needs our certificate", nameof(options));
        }

        if (options.MinVersion > options.MaxVersion)
        {
            throw new ArgumentException("the minimum TLS version is above the maximum", nameof(options));
        }
    }
}
