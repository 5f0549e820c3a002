using Oakley.Crypto.Signature;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Authentication;

/// <summary>
/// Public-key authentication (RFC 7296 §2.15 methods 1 and 9–11, RFC 7427 method 14): our AUTH is a signature over
/// the signed octets with our private key, the peer's is checked with the public key its certificate (or the
/// configured raw key) gives. Which scheme we sign with: method 14 when the peer sent SIGNATURE_HASH_ALGORITHMS,
/// with the first acceptable scheme for our key whose hash the peer listed; otherwise the key's classic method
/// (ECDSA 9–11 by curve, RSA method 1 only when rsa-pkcs1-sha1 is acceptable). What the peer sends must be one of
/// the acceptable schemes; anything else fails with a reason naming the scheme and what is allowed.
/// </summary>
public sealed class SignatureAuthenticator : IIkeAuthenticator
{
    private readonly SignaturePrivateKey? _key;
    private readonly SignaturePublicKey? _peer;
    private readonly IReadOnlyList<SignatureScheme> _acceptable;
    private readonly SignatureScheme? _scheme;

    private SignatureAuthenticator(SignaturePrivateKey? key, SignaturePublicKey? peer, IReadOnlyList<SignatureScheme> acceptable, SignatureScheme? scheme, AuthMethod method)
    {
        _key = key;
        _peer = peer;
        _acceptable = acceptable;
        _scheme = scheme;
        Method = method;
    }

    /// <summary>The method we sign with (method 14 for verification-only instances).</summary>
    public AuthMethod Method { get; }

    /// <summary>The scheme our AUTH uses, null for a verification-only instance.</summary>
    public SignatureScheme? Scheme => _scheme;

    /// <summary>
    /// An authenticator that signs with <paramref name="key"/> (null: verification only) and checks the peer with
    /// <paramref name="peer"/> (null: signing only). <paramref name="peerHashes"/> is what the peer's
    /// SIGNATURE_HASH_ALGORITHMS listed (null: it sent none).
    /// </summary>
    public static AuthenticatorResult Create(SignaturePrivateKey? key, SignaturePublicKey? peer, IReadOnlyList<SignatureScheme> acceptable, IReadOnlyCollection<SignatureHash>? peerHashes)
    {
        ArgumentNullException.ThrowIfNull(acceptable);
        if (key is null && peer is null)
        {
            return AuthenticatorResult.Missing("no private key and no peer public key to authenticate with");
        }

        if (key is null)
        {
            return AuthenticatorResult.Of(new SignatureAuthenticator(null, peer, acceptable, null, AuthMethod.DigitalSignature));
        }

        var (scheme, method, error) = Choose(key, acceptable, peerHashes);
        return scheme is null
            ? AuthenticatorResult.Missing(error!)
            : AuthenticatorResult.Of(new SignatureAuthenticator(key, peer, acceptable, scheme, method));
    }

    public AuthenticationPayload Build(AuthInput input)
    {
        if (_key is null || _scheme is null)
        {
            throw new InvalidOperationException("this authenticator has no private key");
        }

        var signature = _key.Sign(_scheme, input.SignedOctets, derEcdsa: Method == AuthMethod.DigitalSignature);
        if (Method != AuthMethod.DigitalSignature)
        {
            return new AuthenticationPayload(Method, signature);
        }

        // RFC 7427 §3: a one-octet length, the AlgorithmIdentifier, then the signature.
        var id = _scheme.AlgorithmIdentifier.Span;
        var data = new byte[1 + id.Length + signature.Length];
        data[0] = (byte)id.Length;
        id.CopyTo(data.AsSpan(1));
        signature.CopyTo(data.AsSpan(1 + id.Length));
        return new AuthenticationPayload(Method, data);
    }

    /// <summary>Null when the peer's AUTH verifies; otherwise what did not (names schemes and keys, never key material).</summary>
    public string? Check(AuthInput input, AuthenticationPayload received)
    {
        ArgumentNullException.ThrowIfNull(received);
        if (_peer is null)
        {
            return "no public key of the peer to verify its AUTH with";
        }

        var data = received.Data.Span;
        SignatureScheme? scheme;
        ReadOnlySpan<byte> signature;
        switch (received.Method)
        {
            case AuthMethod.DigitalSignature:
                if (data.Length < 1 || data.Length < 1 + data[0])
                {
                    return "malformed RFC 7427 AUTH data (AlgorithmIdentifier longer than the payload)";
                }

                scheme = SignatureSchemes.FromAlgorithmIdentifier(data.Slice(1, data[0]), out var why);
                if (scheme is null)
                {
                    return why;
                }

                signature = data[(1 + data[0])..];
                break;
            case AuthMethod.RsaDigitalSignature:
                scheme = SignatureSchemes.RsaPkcs1Sha1;
                signature = data;
                break;
            case AuthMethod.EcdsaSha256P256 or AuthMethod.EcdsaSha384P384 or AuthMethod.EcdsaSha512P521:
                var (classic, bits) = Classic(received.Method);
                if (_peer.KeyType != SignatureKeyType.Ecdsa || _peer.KeySize != bits)
                {
                    return $"AUTH method {received.Method} needs an ECDSA P-{bits} key; the peer's key is {Describe(_peer.KeyType, _peer.KeySize)}";
                }

                scheme = classic;
                signature = data;
                break;
            default:
                return $"AUTH method {received.Method} is not a signature method";
        }

        if (!_acceptable.Contains(scheme))
        {
            return $"signature scheme {scheme.Name} not acceptable (allowed: {string.Join(", ", _acceptable.Select(s => s.Name))})";
        }

        if (scheme.KeyType != _peer.KeyType)
        {
            return $"signature scheme {scheme.Name} does not fit the peer's {Describe(_peer.KeyType, _peer.KeySize)} key";
        }

        return _peer.Verify(scheme, input.SignedOctets, signature, derEcdsa: received.Method == AuthMethod.DigitalSignature)
            ? null
            : $"{scheme.Name} signature does not verify with the peer's {Describe(_peer.KeyType, _peer.KeySize)} key";
    }

    private static (SignatureScheme? Scheme, AuthMethod Method, string? Error) Choose(SignaturePrivateKey key, IReadOnlyList<SignatureScheme> acceptable, IReadOnlyCollection<SignatureHash>? peerHashes)
    {
        // ECDSA signs with its curve's hash first (P-384 with SHA-384, as strongSwan does), then the others in order.
        var curveHash = key.KeySize switch { 384 => SignatureHash.Sha384, 521 => SignatureHash.Sha512, _ => SignatureHash.Sha256 };
        var mine = acceptable.Where(s => s.KeyType == key.KeyType).OrderBy(s => key.KeyType == SignatureKeyType.Ecdsa && s.HashId != curveHash ? 1 : 0).ToList();
        if (peerHashes is not null)
        {
            var scheme = mine.FirstOrDefault(s => peerHashes.Contains(s.HashId));
            return scheme is not null ? (scheme, AuthMethod.DigitalSignature, null)
                : (null, default, $"no acceptable signature scheme for our {Describe(key.KeyType, key.KeySize)} key uses a hash the peer accepts " +
                    $"(peer: {string.Join(", ", peerHashes)}; ours: {string.Join(", ", mine.Select(s => s.Name))})");
        }

        switch (key.KeyType)
        {
            case SignatureKeyType.Ecdsa:
                var method = key.KeySize switch { 256 => AuthMethod.EcdsaSha256P256, 384 => AuthMethod.EcdsaSha384P384, _ => AuthMethod.EcdsaSha512P521 };
                var classic = Classic(method).Scheme;
                return acceptable.Contains(classic) ? (classic, method, null)
                    : (null, default, $"the peer sent no SIGNATURE_HASH_ALGORITHMS and {classic.Name} (AUTH method {method}) is not acceptable");
            case SignatureKeyType.Rsa:
                return acceptable.Contains(SignatureSchemes.RsaPkcs1Sha1) ? (SignatureSchemes.RsaPkcs1Sha1, AuthMethod.RsaDigitalSignature, null)
                    : (null, default, "the peer sent no SIGNATURE_HASH_ALGORITHMS, so an RSA key could only sign with rsa-pkcs1-sha1 (AUTH method 1), which is not acceptable");
            default:
                return (null, default, $"the peer sent no SIGNATURE_HASH_ALGORITHMS, and an {key.KeyType} key signs only with RFC 7427 (AUTH method 14)");
        }
    }

    private static (SignatureScheme Scheme, int Bits) Classic(AuthMethod method) => method switch
    {
        AuthMethod.EcdsaSha256P256 => (SignatureSchemes.EcdsaSha256, 256),
        AuthMethod.EcdsaSha384P384 => (SignatureSchemes.EcdsaSha384, 384),
        _ => (SignatureSchemes.EcdsaSha512, 521),
    };

    private static string Describe(SignatureKeyType type, int bits) => type switch
    {
        SignatureKeyType.Rsa => $"RSA-{bits}",
        SignatureKeyType.Ecdsa => $"ECDSA P-{bits}",
        _ => type.ToString(),
    };
}
