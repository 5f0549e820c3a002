using Oakley.Engine;

namespace Oakley.Testing;

/// <summary>A PSK table: a secret applies when both identities are listed for it (or it lists one and the other is unknown), as swanctl's secrets do.</summary>
public sealed class InMemorySecrets : ISecretStore
{
    private readonly List<(Identity[] Ids, byte[] Secret)> _entries = [];

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
