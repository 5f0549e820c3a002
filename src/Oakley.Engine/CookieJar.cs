using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Crypto;

namespace Oakley.Engine;

/// <summary>
/// The responder's stateless COOKIEs (RFC 7296 §2.6): when they are required, the rotating secret they are made
/// with, making one and checking one. It keeps no per-request state; the endpoint decides what to do with the answer.
/// </summary>
internal sealed class CookieJar
{
    private readonly EngineSettings _settings;
    private readonly IEntropySource _entropy;
    private readonly EndpointStats _stats;
    private byte[] _secret = new byte[32];
    private byte[]? _previous;
    private byte _version;
    private DateTimeOffset? _since;
    private int _uses;
    private DateTimeOffset? _lastRequired;

    public CookieJar(EngineSettings settings, IEntropySource entropy, EndpointStats stats)
    {
        _settings = settings;
        _entropy = entropy;
        _stats = stats;
        entropy.Fill(_secret);
    }

    /// <summary>
    /// Whether an IKE_SA_INIT must carry a COOKIE: the global half-open count reached cookie_threshold or the
    /// source's reached cookie_threshold_ip, or that happened less than cookie_calmdown ago.
    /// </summary>
    public bool Required(DateTimeOffset now, int halfOpen, int fromSource)
    {
        if ((_settings.CookieThreshold > 0 && halfOpen >= _settings.CookieThreshold)
            || (_settings.CookieThresholdIp > 0 && fromSource >= _settings.CookieThresholdIp))
        {
            _lastRequired = now;
            return true;
        }

        // Keep demanding cookies until requests have been calm for a while: an initiator whose retransmissions were
        // answered once with and once without a cookie could not tell which IKE_SA_INIT response its AUTH must sign.
        if (_lastRequired is { } last && now < last + _settings.CookieCalmdown)
        {
            _lastRequired = now;
            return true;
        }

        return false;
    }

    /// <summary>
    /// RFC 7296 §2.6: the responder should change its secret periodically and accept cookies of the previous one
    /// for a while; the cookie's first byte names the secret. Time is the engine's <c>now</c>. A secret older than
    /// two lifetimes is forgotten, so a cookie is never valid for more than two lifetimes.
    /// </summary>
    public void RotateIfDue(DateTimeOffset now)
    {
        _since ??= now;
        var age = now - _since.Value;
        if (age < _settings.CookieSecretLifetime && _uses < _settings.CookieReuse)
        {
            return;
        }

        if (_previous is not null)
        {
            CryptographicOperations.ZeroMemory(_previous);
        }

        _previous = age >= _settings.CookieSecretLifetime * 2 ? null : _secret;
        if (_previous is null)
        {
            CryptographicOperations.ZeroMemory(_secret);
        }

        _secret = new byte[32];
        _entropy.Fill(_secret);
        _version++;
        _since = now;
        _uses = 0;
        _stats.CookieSecretRotations++;
    }

    /// <summary>A cookie of the current secret for this request (counts towards the secret's reuse limit).</summary>
    public byte[] Issue(ReadOnlySpan<byte> nonce, IPAddress address, ulong spiI)
    {
        _uses++;
        return Make(_version, _secret, nonce, address, spiI);
    }

    public bool Valid(ReadOnlySpan<byte> offered, ReadOnlySpan<byte> nonce, IPAddress address, ulong spiI)
    {
        if (offered.Length != 1 + HMACSHA256.HashSizeInBytes)
        {
            return false;
        }

        var secret = offered[0] == _version ? _secret
            : offered[0] == (byte)(_version - 1) ? _previous
            : null;
        return secret is not null && CryptographicOperations.FixedTimeEquals(offered, Make(offered[0], secret, nonce, address, spiI));
    }

    /// <summary>RFC 7296 §2.6: Cookie = VersionIDofSecret | Hash(Ni | IPi | SPIi | secret), the hash keyed: HMAC-SHA-256.</summary>
    private static byte[] Make(byte version, byte[] secret, ReadOnlySpan<byte> nonce, IPAddress address, ulong spiI)
    {
        Span<byte> data = stackalloc byte[nonce.Length + 16 + 8];
        nonce.CopyTo(data);
        address.TryWriteBytes(data[nonce.Length..], out var written);
        BinaryPrimitives.WriteUInt64BigEndian(data[(nonce.Length + written)..], spiI);
        var cookie = new byte[1 + HMACSHA256.HashSizeInBytes];
        cookie[0] = version;
        HMACSHA256.HashData(secret, data[..(nonce.Length + written + 8)], cookie.AsSpan(1));
        return cookie;
    }
}
