using System.Security.Cryptography;
using Oakley.Crypto.KeyDerivation;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Authentication;

/// <summary>
/// The AUTH payloads after EAP (RFC 7296 §2.16): the shared-key MIC formula keyed with the MSK of the EAP method, or,
/// for a method that establishes none (EAP-MD5, EAP-GTC), with SK_pi for the initiator's AUTH and SK_pr for the
/// responder's (as strongSwan computes them). Both sides send one, the client first.
/// </summary>
internal sealed class MskAuthenticator(byte[] key) : IIkeAuthenticator
{
    public AuthMethod Method => AuthMethod.SharedKeyMessageIntegrityCode;

    /// <summary>The key of one side's AUTH: the MSK, else that side's SK_p.</summary>
    public static MskAuthenticator For(byte[]? msk, IkeSaKeys keys, bool initiatorSide) =>
        new(msk is { Length: > 0 } ? msk : initiatorSide ? keys.Keys.SK_pi : keys.Keys.SK_pr);

    public AuthenticationPayload Build(AuthInput input) => new(Method, Ikev2Auth.SharedKeyAuth(input.Prf, key, input.SignedOctets));

    public string? Check(AuthInput input, AuthenticationPayload received)
    {
        if (received.Method != Method)
        {
            return $"the AUTH after EAP uses method {received.Method}, not the shared-key MIC (RFC 7296 §2.16)";
        }

        var expected = Ikev2Auth.SharedKeyAuth(input.Prf, key, input.SignedOctets);
        try
        {
            return Ikev2Auth.Verify(expected, received.Data.Span) ? null : "the AUTH payload keyed with the EAP MSK did not verify";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(expected);
        }
    }
}
