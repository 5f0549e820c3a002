using System.Security.Cryptography;

namespace Oakley.Engine.Eap;

/// <summary>
/// The peer side of EAP-GTC (RFC 3748 §5.6): answers the prompt with the EAP secret, as strongSwan's eap-gtc client
/// does. The prompt is not shown to anyone (there is no user to show it to). No MSK, and the server is not
/// authenticated by the method.
/// </summary>
public sealed class EapGtcPeer : IEapPeerMethod
{
    private readonly byte[] _secret;
    private bool _answered;

    /// <param name="secret">The EAP secret; a copy is kept and zeroed by <see cref="Dispose"/>.</param>
    public EapGtcPeer(byte[] secret)
    {
        _secret = secret.ToArray();
    }

    public EapType Type => EapType.Gtc;

    public bool ServerAuthenticated => false;

    public byte[]? Msk => null;

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        // RFC 3748 §5.6 allows more rounds, but the secret is the only answer there is: it is sent once.
        if (_answered)
        {
            return EapStep.Fail("EAP-GTC: a second prompt arrived");
        }

        _answered = true;
        var response = _secret.ToArray();
        CryptographicOperations.ZeroMemory(_secret);
        return EapStep.Send(response);
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_secret);
}
