using Oakley.Crypto.Prf;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Authentication;

/// <summary>
/// What an AUTH payload covers (RFC 7296 §2.15): the negotiated PRF and the signed octets of one side,
/// RealMessage | peer's nonce | prf(SK_p, ID body).
/// </summary>
public readonly record struct AuthInput(Prf Prf, byte[] SignedOctets);

/// <summary>
/// One way of authenticating in IKE_AUTH: builds our AUTH payload and verifies the peer's. An authenticator holds
/// its credential from construction on, so one that exists can always do both; a missing credential is reported
/// by the factory that would have built it (<see cref="AuthenticatorResult"/>), never papered over with a default.
/// PSK and public-key signatures are built; EAP's MSK joins later behind the same interface.
/// </summary>
public interface IIkeAuthenticator
{
    /// <summary>The AUTH method this authenticator sends and accepts.</summary>
    AuthMethod Method { get; }

    AuthenticationPayload Build(AuthInput input);

    /// <summary>Null when <paramref name="received"/> verifies; otherwise why not (names methods and schemes, never a secret).</summary>
    string? Check(AuthInput input, AuthenticationPayload received);
}

/// <summary>Either an authenticator or the reason none could be built (names what is missing, never a secret).</summary>
public readonly record struct AuthenticatorResult(IIkeAuthenticator? Authenticator, string? Error, bool Deferred = false)
{
    public static AuthenticatorResult Missing(string error) => new(null, error);

    /// <summary>Not decidable yet: revocation information is being fetched; the message is dropped and taken again when retransmitted.</summary>
    public static AuthenticatorResult Later(string why) => new(null, why, true);

    public static AuthenticatorResult Of(IIkeAuthenticator authenticator) => new(authenticator, null);
}

/// <summary>The yes/no form of <see cref="IIkeAuthenticator.Check"/>.</summary>
public static class AuthenticatorExtensions
{
    public static bool Verify(this IIkeAuthenticator authenticator, AuthInput input, AuthenticationPayload received)
    {
        ArgumentNullException.ThrowIfNull(authenticator);
        return authenticator.Check(input, received) is null;
    }
}
