using Oakley.Crypto.KeyDerivation;
using Oakley.Engine.Authentication;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>RFC 7296 §2.15: what one side's AUTH covers, RealMessage | peer's nonce | prf(SK_p, ID body).</summary>
internal static class AuthOctets
{
    /// <summary>The initiator's (<paramref name="initiatorSide"/>) or the responder's signed octets.</summary>
    public static AuthInput Of(IkeSa sa, bool initiatorSide, IdentificationPayload id)
    {
        var keys = sa.Keys!;
        var prf = keys.Suite.Prf!;
        var (message, nonce, key) = initiatorSide ? (sa.InitRequest, sa.NonceR, keys.Keys.SK_pi) : (sa.InitResponse, sa.NonceI, keys.Keys.SK_pr);
        return new AuthInput(prf, Ikev2Auth.SignedOctets(prf, message, nonce, key, id.GetBodyBytes()));
    }
}
