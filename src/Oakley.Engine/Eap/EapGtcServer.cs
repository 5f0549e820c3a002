using System.Security.Cryptography;
using System.Text;

namespace Oakley.Engine.Eap;

/// <summary>
/// The authenticator side of EAP-GTC (RFC 3748 §5.6): a prompt, then the peer's answer checked against the EAP
/// secret. strongSwan's eap-gtc server hands the answer to PAM; Oakley compares it with the secret from the
/// credential store. The password crosses in clear inside the IKE SA: the server is not authenticated by the method
/// and there is no MSK.
/// </summary>
public sealed class EapGtcServer : IEapServerMethod
{
    private readonly byte[] _secret;
    private readonly byte[] _prompt;
    private bool _started;
    private bool _finished;
    private byte _identifier;

    /// <param name="secret">The EAP secret; a copy is kept and zeroed by <see cref="Dispose"/>.</param>
    /// <param name="prompt">The displayable message of the request (RFC 3748 §5.6).</param>
    public EapGtcServer(byte[] secret, string prompt = "Password: ")
    {
        _secret = secret.ToArray();
        _prompt = Encoding.UTF8.GetBytes(prompt);
    }

    public EapType Type => EapType.Gtc;

    public bool Mutual => false;

    public byte[]? Msk => null;

    public EapStep Start(byte identifier)
    {
        if (_started)
        {
            return Finish("EAP-GTC: the method was started twice");
        }

        _started = true;
        _identifier = identifier;
        return EapStep.Send(_prompt.ToArray());
    }

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        if (!_started || _finished)
        {
            return Finish("EAP-GTC: a response arrived when none was expected");
        }

        if (identifier != _identifier)
        {
            return Finish("EAP-GTC: the response answers another request's identifier");
        }

        if (typeData.IsEmpty)
        {
            return Finish("EAP-GTC: the response is empty");
        }

        // Compare digests so that neither the content nor the length of the secret shows in the timing.
        Span<byte> expected = stackalloc byte[32];
        Span<byte> received = stackalloc byte[32];
        SHA256.HashData(_secret, expected);
        SHA256.HashData(typeData, received);
        var matches = CryptographicOperations.FixedTimeEquals(expected, received);
        CryptographicOperations.ZeroMemory(expected);
        CryptographicOperations.ZeroMemory(received);
        if (!matches)
        {
            return Finish("EAP-GTC: the response is not the secret (wrong password)");
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
