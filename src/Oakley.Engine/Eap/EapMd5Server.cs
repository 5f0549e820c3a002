using System.Security.Cryptography;
using Oakley.Crypto;

namespace Oakley.Engine.Eap;

/// <summary>
/// The authenticator side of EAP-MD5 (RFC 3748 §5.4): one 16-octet random challenge, one response checked against
/// MD5(Identifier | secret | challenge). It authenticates the peer only and yields no MSK (RFC 3748 §7.2 lists
/// what it lacks), so it suits EAP rounds that another round or a certificate already protects.
/// </summary>
public sealed class EapMd5Server : IEapServerMethod
{
    private const int ChallengeLength = 16;

    private readonly byte[] _secret;
    private readonly IEntropySource _entropy;
    private readonly byte[] _challenge = new byte[ChallengeLength];
    private bool _started;
    private bool _finished;
    private byte _identifier;

    /// <param name="secret">The EAP secret; a copy is kept and zeroed by <see cref="Dispose"/>.</param>
    /// <param name="entropy">The source of the challenge.</param>
    public EapMd5Server(byte[] secret, IEntropySource entropy)
    {
        _secret = secret.ToArray();
        _entropy = entropy;
    }

    public EapType Type => EapType.Md5;

    public bool Mutual => false;

    public byte[]? Msk => null;

    public EapStep Start(byte identifier)
    {
        if (_started)
        {
            return Finish("EAP-MD5: the method was started twice");
        }

        _started = true;
        _identifier = identifier;
        _entropy.Fill(_challenge);
        return EapStep.Send(ChapMd5.Build(_challenge, []));
    }

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        if (!_started || _finished)
        {
            return Finish("EAP-MD5: a response arrived when none was expected");
        }

        if (identifier != _identifier)
        {
            return Finish("EAP-MD5: the response answers another request's identifier");
        }

        if (!ChapMd5.TryReadValue(typeData, out var value))
        {
            return Finish("EAP-MD5: the response's Value-Size does not fit its data");
        }

        if (value.Length != ChapMd5.ResponseLength)
        {
            return Finish($"EAP-MD5: the response's Value-Size is {value.Length}, not 16");
        }

        Span<byte> expected = stackalloc byte[ChapMd5.ResponseLength];
        ChapMd5.Response(_identifier, _secret, _challenge, expected);
        var matches = CryptographicOperations.FixedTimeEquals(expected, value);
        CryptographicOperations.ZeroMemory(expected);
        if (!matches)
        {
            return Finish("EAP-MD5: the response is wrong (wrong secret)");
        }

        _finished = true;
        CryptographicOperations.ZeroMemory(_secret);
        return EapStep.Done;
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_secret);

    private EapStep Finish(string error)
    {
        _finished = true;
        CryptographicOperations.ZeroMemory(_secret);
        return EapStep.Fail(error);
    }
}
