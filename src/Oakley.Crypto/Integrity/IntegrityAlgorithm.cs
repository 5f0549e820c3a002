using Oakley.Iana;

namespace Oakley.Crypto.Integrity;

/// <summary>An INTEG transform (RFC 7296 §3.3.2): a MAC truncated to <see cref="IcvSize"/>.</summary>
public abstract class IntegrityAlgorithm
{
    public abstract IntegId Id { get; }

    /// <summary>Key length in bytes (RFC 4868 §2.1.1: the full hash length for HMAC-SHA2).</summary>
    public abstract int KeySize { get; }

    /// <summary>Truncated ICV length in bytes.</summary>
    public abstract int IcvSize { get; }

    public abstract IntegrityContext CreateContext(ReadOnlySpan<byte> key);
}

/// <summary>A keyed MAC for one SA direction. Not thread-safe: use one per worker.</summary>
public abstract class IntegrityContext : IDisposable
{
    /// <summary>Writes the truncated ICV of <paramref name="data"/>; <paramref name="icv"/> must hold IcvSize bytes.</summary>
    public abstract void Compute(ReadOnlySpan<byte> data, Span<byte> icv);

    /// <summary>Constant-time check of a received ICV.</summary>
    public abstract bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> icv);

    protected virtual void Dispose(bool disposing)
    {
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
