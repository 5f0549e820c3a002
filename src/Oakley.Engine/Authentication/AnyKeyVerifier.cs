using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Authentication;

/// <summary>Verifies the peer's AUTH with any of several trusted raw public keys (swanctl <c>remote.pubkeys</c> lists more than one).</summary>
internal sealed class AnyKeyVerifier(IReadOnlyList<SignatureAuthenticator> keys, string what = "remote.pubkeys") : IIkeAuthenticator
{
    public AuthMethod Method => AuthMethod.DigitalSignature;

    public AuthenticationPayload Build(AuthInput input) => throw new InvalidOperationException("a verifier of the peer's keys does not sign");

    public string? Check(AuthInput input, AuthenticationPayload received)
    {
        string? first = null;
        foreach (var key in keys)
        {
            var why = key.Check(input, received);
            if (why is null)
            {
                return null;
            }

            first ??= why;
        }

        return keys.Count == 1 ? first : $"no key of {what} verifies the AUTH (first: {first})";
    }
}
