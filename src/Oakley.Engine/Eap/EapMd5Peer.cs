using System.Security.Cryptography;

namespace Oakley.Engine.Eap;

/// <summary>
/// The peer side of EAP-MD5 (RFC 3748 §5.4): answers the challenge with MD5(Identifier | secret | challenge) and no
/// Name, as strongSwan's eap-md5 does. The server is not authenticated and there is no MSK.
/// </summary>
public sealed class EapMd5Peer : IEapPeerMethod
{
    private readonly byte[] _secret;
    private bool _answered;

    /// <param name="secret">The EAP secret; a copy is kept and zeroed by <see cref="Dispose"/>.</param>
    public EapMd5Peer(byte[] secret)
    {
        _secret = secret.ToArray();
    }

    public EapType Type => EapType.Md5;

    public bool ServerAuthenticated => false;

    public byte[]? Msk => null;

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        // One challenge per method run: a second one would only let the server collect more responses.
        if (_answered)
        {
            return EapStep.Fail("EAP-MD5: a second challenge arrived");
        }

        _answered = true;
        if (!ChapMd5.TryReadValue(typeData, out var challenge))
        {
            CryptographicOperations.ZeroMemory(_secret);
            return EapStep.Fail("EAP-MD5: the challenge's Value-Size does not fit its data");
        }

        Span<byte> response = stackalloc byte[ChapMd5.ResponseLength];
        ChapMd5.Response(identifier, _secret, challenge, response);
        CryptographicOperations.ZeroMemory(_secret);
        return EapStep.Send(ChapMd5.Build(response, []));
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_secret);
}
