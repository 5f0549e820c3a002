using System.Security.Cryptography;
using Oakley.Crypto.KeyDerivation;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Authentication;

/// <summary>
/// Shared-key MIC authentication (RFC 7296 §2.15, AUTH method 2). It cannot exist without a non-empty key:
/// <see cref="Create"/> is the only way to get one, and it refuses a missing or empty key with strongSwan's
/// wording, <c>no shared key found for 'local' - 'remote'</c>. So no path in either role computes or verifies an
/// AUTH with an empty key, even if a secret store hands one out.
/// </summary>
public sealed class PskAuthenticator : IIkeAuthenticator
{
    private readonly byte[] _key;

    private PskAuthenticator(byte[] key) => _key = key;

    public AuthMethod Method => AuthMethod.SharedKeyMessageIntegrityCode;

    /// <summary>Looks up the key for (<paramref name="local"/>, <paramref name="remote"/>); null <paramref name="remote"/> is %any.</summary>
    public static AuthenticatorResult Create(ISecretStore secrets, Identity local, Identity? remote)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(local);
        var key = secrets.FindSharedKey(local, remote);
        return key is { Length: > 0 }
            ? AuthenticatorResult.Of(new PskAuthenticator(key))
            : AuthenticatorResult.Missing($"no shared key found for '{local}' - '{remote?.ToString() ?? "%any"}'");
    }

    public AuthenticationPayload Build(AuthInput input) => new(Method, Compute(input));

    public string? Check(AuthInput input, AuthenticationPayload received)
    {
        ArgumentNullException.ThrowIfNull(received);
        if (received.Method != Method)
        {
            return $"the peer authenticates with AUTH method {received.Method}; this connection expects {Method} (psk)";
        }

        var expected = Compute(input);
        try
        {
            return Ikev2Auth.Verify(expected, received.Data.Span) ? null : "AUTH did not verify (wrong pre-shared key?)";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(expected);
        }
    }

    private byte[] Compute(AuthInput input) => Ikev2Auth.SharedKeyAuth(input.Prf, _key, input.SignedOctets);
}
