using System.Security.Cryptography;

namespace Oakley.Crypto.KeyDerivation;

/// <summary>
/// The AUTH payload computations of RFC 7296 §2.15 for shared keys (and EAP's MSK, §2.16).
/// <code>
/// InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
/// MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
/// AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), &lt;SignedOctets&gt;)
/// </code>
/// The responder's octets are RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload).
/// </summary>
public static class Ikev2Auth
{
    private static readonly byte[] KeyPad = "Key Pad for IKEv2"u8.ToArray();

    /// <summary>
    /// The signed octets: the first message the signer sent (IKE_SA_INIT, or IKE_INTERMEDIATE-adjusted per
    /// RFC 9242), the peer's nonce data, and prf(SK_p, ID body) where the ID body is the ID payload without
    /// its generic header.
    /// </summary>
    public static byte[] SignedOctets(Prf.Prf prf, ReadOnlySpan<byte> realMessage, ReadOnlySpan<byte> peerNonce, ReadOnlySpan<byte> skP, ReadOnlySpan<byte> idBody)
    {
        ArgumentNullException.ThrowIfNull(prf);
        var result = new byte[realMessage.Length + peerNonce.Length + prf.OutputSize];
        realMessage.CopyTo(result);
        peerNonce.CopyTo(result.AsSpan(realMessage.Length));
        prf.Compute(skP, idBody, result.AsSpan(realMessage.Length + peerNonce.Length));
        return result;
    }

    /// <summary>AUTH = prf(prf(secret, "Key Pad for IKEv2"), signedOctets), for PSK and for EAP with the MSK as the secret.</summary>
    public static byte[] SharedKeyAuth(Prf.Prf prf, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> signedOctets)
    {
        ArgumentNullException.ThrowIfNull(prf);
        var padded = prf.Compute(secret, KeyPad);
        try
        {
            return prf.Compute(padded, signedOctets);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(padded);
        }
    }

    /// <summary>Constant-time comparison of a received AUTH value with the expected one.</summary>
    public static bool Verify(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> received) =>
        expected.Length == received.Length && CryptographicOperations.FixedTimeEquals(expected, received);
}
