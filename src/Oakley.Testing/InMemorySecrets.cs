using Oakley.Crypto.Signature;
using Oakley.Engine;
using Oakley.Engine.Certificates;

namespace Oakley.Testing;

/// <summary>A PSK table: a secret applies when both identities are listed for it (or it lists one and the other is unknown), as swanctl's secrets do.</summary>
public sealed class InMemorySecrets : ISecretStore
{
    private readonly List<(Identity[] Ids, byte[] Secret)> _entries = [];

    private readonly List<SignaturePrivateKey> _keys = [];

    public CertificateStore Certificates { get; set; } = CertificateStore.Empty;

    /// <summary>Adds a private key (found by its public key).</summary>
    public InMemorySecrets AddKey(SignaturePrivateKey key)
    {
        _keys.Add(key);
        return this;
    }

    public SignaturePrivateKey? FindPrivateKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        foreach (var key in _keys)
        {
            if (key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(subjectPublicKeyInfo))
            {
                return key;
            }
        }

        return null;
    }

    private readonly List<(Identity Id, byte[] Secret)> _eap = [];

    /// <summary>Adds the EAP secret of <paramref name="eapId"/>.</summary>
    public InMemorySecrets AddEap(Identity eapId, byte[] secret)
    {
        _eap.Add((eapId, secret));
        return this;
    }

    public byte[]? FindEapSecret(Identity eapId, Identity? other) => _eap.FirstOrDefault(e => e.Id.Matches(eapId)).Secret;

    public InMemorySecrets Add(byte[] secret, params Identity[] ids)
    {
        _entries.Add((ids, secret));
        return this;
    }

    public byte[]? FindSharedKey(Identity local, Identity? remote)
    {
        // Best match first: both identities, then the local one only.
        var both = _entries.FirstOrDefault(e => e.Ids.Any(i => i.Matches(local)) && remote is not null && e.Ids.Any(i => i.Matches(remote)));
        if (both.Secret is not null)
        {
            return both.Secret;
        }

        return _entries.FirstOrDefault(e => e.Ids.Any(i => i.Matches(local)) && e.Ids.Length == 1).Secret;
    }
}
