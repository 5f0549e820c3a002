using Oakley.Crypto.Signature;
using Oakley.Engine.Certificates;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Authentication;

/// <summary>Our signing credential for one IKE_AUTH: the authenticator and the CERT payloads that go with it.</summary>
internal readonly record struct LocalCredential(AuthenticatorResult Result, IReadOnlyList<IkePayload> Certificates);

/// <summary>
/// The public-key side of IKE_AUTH (swanctl <c>auth = pubkey</c>). For us: which certificate (the first of
/// <c>local.certs</c> that chains to a CA the peer's CERTREQ named, else the first), its private key, and which
/// certificates to send (the end entity and the intermediates of its chain, per <c>send_cert</c>). For the peer: its
/// public key, from its CERT payloads (RFC 7296 §3.6: the first certificate holds the key that verifies AUTH), from
/// <c>remote.certs</c> or x509/, or a raw key of <c>remote.pubkeys</c>; a certificate must confirm the peer's ID, be
/// usable for IKE, and chain to a trusted CA (through <c>remote.cacerts</c> if set). Every refusal names the
/// certificate and what failed.
/// </summary>
internal static class PublicKeyCredentials
{
    /// <param name="round">A later round's configuration (RFC 4739); null: the connection's <c>local</c> round.</param>
    public static LocalCredential Local(IkeSa sa, DateTimeOffset now, IReadOnlyList<byte[]>? requested, AuthConfig? round = null)
    {
        var config = sa.Config;
        var auth = round ?? config.LocalAuth;
        var secrets = sa.Services.Secrets;
        if (auth.Certificates.Count == 0)
        {
            if (auth.PublicKeys.Count == 0)
            {
                return Missing($"connection '{config.Name}' authenticates with pubkey but has no certificate (local.certs) or public key (local.pubkeys)");
            }

            var raw = auth.PublicKeys[0];
            var rawKey = secrets.FindPrivateKey(raw.SubjectPublicKeyInfo.Span);
            return rawKey is null
                ? Missing($"no private key found for the {raw.KeyType} public key of local.pubkeys (looked in private/, rsa/, ecdsa/, pkcs8/, pkcs12/)")
                : new LocalCredential(SignatureAuthenticator.Create(rawKey, null, auth.Schemes, sa.PeerSignatureHashes), []);
        }

        var store = secrets.Certificates;
        var (cert, chain) = Choose(auth.Certificates, store, now, requested);
        var key = secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span);
        if (key is null)
        {
            return Missing($"no private key found for certificate '{cert.SubjectText}' (looked in private/, rsa/, ecdsa/, pkcs8/, pkcs12/)");
        }

        var send = config.SendCert switch
        {
            SendCertPolicy.Always => true,
            SendCertPolicy.Never => false,
            _ => requested is not null,
        };
        var payloads = new List<IkePayload>();
        if (send)
        {
            payloads.Add(new CertificatePayload(CertificateEncoding.X509Signature, cert.Der));
            // The intermediates of our chain, never the root: the peer must hold its trust anchor itself.
            foreach (var ca in chain.Skip(1).Where(c => !c.IsSelfIssued))
            {
                payloads.Add(new CertificatePayload(CertificateEncoding.X509Signature, ca.Der));
            }
        }

        return new LocalCredential(SignatureAuthenticator.Create(key, null, auth.Schemes, sa.PeerSignatureHashes), payloads);
    }

    /// <summary>The verifier of the peer's AUTH, or why the peer's key cannot be trusted.</summary>
    public static AuthenticatorResult Remote(IkeSa sa, DateTimeOffset now, Identity peer, IReadOnlyList<IkePayload> payloads, AuthConfig? round = null)
    {
        var auth = round ?? sa.Config.RemoteAuth;
        var sent = payloads.OfType<CertificatePayload>().ToList();
        if (auth.PublicKeys.Count > 0)
        {
            return RawKeys(auth, sent);
        }

        var received = new List<Certificate>();
        foreach (var (payload, i) in sent.Select((p, i) => (p, i + 1)))
        {
            if (payload.Encoding != CertificateEncoding.X509Signature)
            {
                continue;
            }

            var parsed = sa.Services.Secrets.Certificates.Parse(payload.Data.Span, out var error);
            if (parsed is null)
            {
                return AuthenticatorResult.Missing($"CERT payload {i} of '{peer}' is not a usable X.509 certificate: {error}");
            }

            received.Add(parsed);
        }

        var store = sa.Services.Secrets.Certificates;
        if (received.Count == 0 && auth.Certificates.Count == 0 && store.KeyDirectory is { } dns && peer.Type == IdentificationType.Fqdn)
        {
            return FromDns(dns, peer, auth);
        }

        var endEntity = received.FirstOrDefault()
            ?? auth.Certificates.FirstOrDefault(c => CertificateIdentity.Confirms(c, peer))
            ?? store.EndEntities.FirstOrDefault(c => CertificateIdentity.Confirms(c, peer));
        if (endEntity is null)
        {
            return AuthenticatorResult.Missing($"'{peer}' sent no certificate, and no certificate in x509/ or remote.certs confirms its ID");
        }

        var (why, chain) = CheckPeerCertificate(auth, store, now, peer, endEntity, received);
        if (why is not null)
        {
            return AuthenticatorResult.Missing(why);
        }

        var revocation = Revocation(auth.Revocation, store.Revocation, chain, now);
        return revocation.Error is not null ? revocation : SignatureAuthenticator.Create(null, endEntity.PublicKey, auth.Schemes, null);
    }

    /// <summary>
    /// Each certificate of the chain below its trust anchor, checked with its issuer (swanctl <c>revocation</c>):
    /// revoked always fails; unknown fails with <c>strict</c>, and with <c>ifuri</c> when a URI was named; an
    /// answer still being fetched defers the decision under every policy (the message is dropped, the peer's or our
    /// retransmission brings it back).
    /// </summary>
    internal static AuthenticatorResult Revocation(RevocationPolicy policy, RevocationChecker checker, IReadOnlyList<Certificate>? chain, DateTimeOffset now)
    {
        for (var i = 0; chain is not null && i + 1 < chain.Count; i++)
        {
            var status = checker.Check(chain[i], chain[i + 1], now);
            switch (status.State)
            {
                case RevocationState.Revoked:
                    return AuthenticatorResult.Missing(status.Detail);
                case RevocationState.Pending:
                    // Even relaxed waits (as strongSwan fetches before deciding): relaxed fails a certificate known to be
                    // revoked, so the answer is needed; an unreachable server ends the wait as unknown (5 s timeout).
                    return AuthenticatorResult.Later($"awaiting revocation status of '{chain[i].SubjectText}': {status.Detail}");
                case RevocationState.Unknown when policy == RevocationPolicy.Strict
                    || (policy == RevocationPolicy.IfUri && checker.HasUri(chain[i], chain[i + 1])):
                    return AuthenticatorResult.Missing($"revocation status of certificate '{chain[i].SubjectText}' unknown ({status.Detail}; revocation = {policy.ToString().ToLowerInvariant()})");
            }
        }

        return default;
    }

    /// <summary>Null and the trusted chain (null for a pinned certificate), or why the certificate is refused.</summary>
    private static (string? Error, IReadOnlyList<Certificate>? Chain) CheckPeerCertificate(AuthConfig auth, CertificateStore store, DateTimeOffset now, Identity peer, Certificate endEntity, List<Certificate> received)
    {
        if (!CertificateIdentity.Confirms(endEntity, peer))
        {
            return (CertificateIdentity.NotConfirmed(endEntity, peer), null);
        }

        if (CertificateUsage.Check(endEntity) is { } unusable)
        {
            return (unusable, null);
        }

        var pinned = auth.Certificates.Any(c => c.Fingerprint == endEntity.Fingerprint);
        if (auth.Certificates.Count > 0 && !pinned)
        {
            return ($"certificate '{endEntity.SubjectText}' is not one of remote.certs ({string.Join("; ", auth.Certificates.Select(c => c.SubjectText))})", null);
        }

        if (pinned)
        {
            // remote.certs names the peer's certificate itself: it is trusted as configured, while it is valid.
            return (endEntity.CheckValidity(now), null);
        }

        var path = PathValidator.Validate(endEntity, received.Skip(1).ToList(), store, now);
        if (path.Chain is not { } chain)
        {
            return (path.Error, null);
        }

        if (auth.CaCertificates.Count > 0 && !chain.Any(c => auth.CaCertificates.Any(ca => ca.Fingerprint == c.Fingerprint)))
        {
            return ($"the trust chain of '{endEntity.SubjectText}' ({string.Join(" <- ", chain.Select(c => $"'{c.SubjectText}'"))}) " +
                $"does not contain a CA of remote.cacerts ({string.Join("; ", auth.CaCertificates.Select(c => c.SubjectText))})", null);
        }

        return (null, chain);
    }

    /// <summary>The peer's keys from its DNSSEC-validated IPSECKEY records (strongSwan's ipseckey plugin).</summary>
    private static AuthenticatorResult FromDns(IPublicKeyDirectory dns, Identity peer, AuthConfig auth)
    {
        var name = System.Text.Encoding.ASCII.GetString(peer.Value);
        var found = dns.Lookup(name);
        if (found.InFlight)
        {
            return AuthenticatorResult.Later($"awaiting the IPSECKEY records of '{name}' from DNS");
        }

        return found.Keys.Count == 0
            ? AuthenticatorResult.Missing($"no public key for '{name}': {found.Error ?? "no IPSECKEY record"}")
            : AuthenticatorResult.Of(new AnyKeyVerifier([.. found.Keys.Select(k => (SignatureAuthenticator)SignatureAuthenticator.Create(null, k, auth.Schemes, null).Authenticator!)], $"the IPSECKEY records of {name}"));
    }

    /// <summary>swanctl <c>remote.pubkeys</c> (and RFC 7670 raw keys): the peer signs with one of the configured keys.</summary>
    private static AuthenticatorResult RawKeys(AuthConfig auth, List<CertificatePayload> sent)
    {
        var offered = sent.FirstOrDefault(p => p.Encoding == CertificateEncoding.RawPublicKey);
        var keys = offered is null ? auth.PublicKeys
            : auth.PublicKeys.Where(k => k.SubjectPublicKeyInfo.Span.SequenceEqual(offered.Data.Span)).ToList();
        return keys.Count == 0
            ? AuthenticatorResult.Missing("the raw public key the peer sent is not one of remote.pubkeys")
            : AuthenticatorResult.Of(new AnyKeyVerifier([.. keys.Select(k => (SignatureAuthenticator)SignatureAuthenticator.Create(null, k, auth.Schemes, null).Authenticator!)]));
    }

    /// <summary>Our certificate: the first that chains to a CA the peer asked for, else the first; with its chain (just itself if we cannot build one).</summary>
    private static (Certificate Cert, IReadOnlyList<Certificate> Chain) Choose(IReadOnlyList<Certificate> certs, CertificateStore store, DateTimeOffset now, IReadOnlyList<byte[]>? requested)
    {
        (Certificate, IReadOnlyList<Certificate>)? first = null;
        foreach (var cert in certs)
        {
            var chain = OwnChain(cert, store, now);
            first ??= (cert, chain);
            if (requested is { Count: > 0 } && chain.Any(c => requested.Any(r => r.AsSpan().SequenceEqual(c.SpkiSha1))))
            {
                return (cert, chain);
            }
        }

        return first!.Value;
    }

    /// <summary>Our certificate's chain up to its root, built once and kept while its certificates are valid.</summary>
    private static IReadOnlyList<Certificate> OwnChain(Certificate cert, CertificateStore store, DateTimeOffset now)
    {
        var key = "own|" + cert.Fingerprint;
        if (store.TryGetCached(key, now, out var cached) && cached.Chain is { } known)
        {
            return known;
        }

        var chain = PathValidator.Validate(cert, [], store, now, toRoot: true).Chain ?? [cert];
        store.Cache(key, new PathResult(chain, null), chain.Max(c => c.NotBefore), chain.Min(c => c.NotAfter));
        return chain;
    }

    /// <summary>Our CERTREQ: the trusted CAs' key hashes, when we expect a certificate from the peer (send_certreq) and trust any CA.</summary>
    public static CertificateRequestPayload? CertificateRequest(IkeSa sa)
    {
        var data = sa.Services.Secrets.Certificates.CertificateRequestData;
        return sa.Config.SendCertReq && sa.Config.RemoteAuth.Class == AuthClass.PublicKey && data.Length > 0
            ? new CertificateRequestPayload(CertificateEncoding.X509Signature, data)
            : null;
    }

    /// <summary>The CA key hashes of the peer's X.509 CERTREQs (20 octets each; a trailing partial hash is ignored), null without any.</summary>
    public static IReadOnlyList<byte[]>? Requested(IEnumerable<IkePayload> payloads)
    {
        List<byte[]>? hashes = null;
        foreach (var certreq in payloads.OfType<CertificateRequestPayload>().Where(c => c.Encoding == CertificateEncoding.X509Signature))
        {
            hashes ??= [];
            var data = certreq.CertificationAuthority.Span;
            for (var i = 0; i + 20 <= data.Length && hashes.Count < 64; i += 20)
            {
                hashes.Add(data.Slice(i, 20).ToArray());
            }
        }

        return hashes;
    }

    private static LocalCredential Missing(string error) => new(AuthenticatorResult.Missing(error), []);
}
