using System.Security.Cryptography;
using System.Text;
using Oakley.Crypto;
using Oakley.Crypto.Eap;

namespace Oakley.Engine.Eap;

/// <summary>
/// The authenticator side of EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2-02 over RFC 2759), as strongSwan's
/// eap-mschapv2 plugin and Windows speak it: Challenge, the peer's Response, then either a Success request carrying
/// the authenticator response (the peer's Success-Response ends the method with <see cref="EapStep.Done"/>) or a
/// Failure request "E=691 R=0" (the peer's Failure-Response ends it with failure). No retries are offered.
/// </summary>
public sealed class EapMsChapV2Server : IEapServerMethod
{
    private const string SuccessMessage = "Authentication succeeded";
    private const string FailureMessage = "Authentication failed";

    private readonly byte[] _userName;
    private readonly byte[] _passwordHash = new byte[MsChapV2.PasswordHashLength];
    private readonly IEntropySource _entropy;
    private readonly byte[] _serverName;
    private readonly byte[] _challenge = new byte[MsChapV2.ChallengeLength];
    private State _state;
    private byte _identifier;
    private byte _msChapV2Id;
    private string? _refusal;
    private byte[]? _msk;

    /// <param name="eapIdentity">The EAP identity the peer was authenticated under; the Response's Name must match it.</param>
    /// <param name="password">The EAP secret (UTF-8, as swanctl's secrets hold it); only its NT hash is kept.</param>
    /// <param name="entropy">The source of the challenges.</param>
    /// <param name="serverName">The Name of the Challenge (strongSwan sends "strongSwan").</param>
    public EapMsChapV2Server(string eapIdentity, byte[] password, IEntropySource entropy, string serverName = "Oakley")
    {
        _userName = Encoding.UTF8.GetBytes(eapIdentity);
        MsChapV2.NtPasswordHash(password, _passwordHash);
        _entropy = entropy;
        _serverName = Encoding.UTF8.GetBytes(serverName);
    }

    private enum State
    {
        Initial,
        ExpectResponse,
        ExpectSuccessResponse,
        ExpectFailureResponse,
        Finished,
    }

    public EapType Type => EapType.MsChapV2;

    /// <summary>
    /// Not mutual in RFC 5998's sense, as strongSwan counts it: the Success request does prove the server's knowledge
    /// of the password (RFC 2759 §5, the peer checks S=), but a gateway authenticated only by a password hash is not
    /// what EAP-only allows; a strongSwan client would refuse it, and so do we.
    /// </summary>
    public bool Mutual => false;

    /// <summary>A copy of the MSK once the peer acknowledged the Success request (the caller zeroes its copy).</summary>
    public byte[]? Msk => _state == State.Finished ? _msk?.ToArray() : null;

    public EapStep Start(byte identifier)
    {
        if (_state != State.Initial)
        {
            return Finish("EAP-MSCHAPv2: the method was started twice");
        }

        _entropy.Fill(_challenge);

        // The MS-CHAPv2-ID is the EAP identifier of the Challenge, as strongSwan sets it.
        _identifier = identifier;
        _msChapV2Id = identifier;
        _state = State.ExpectResponse;
        return EapStep.Send(MsChapV2Message.Challenge(_msChapV2Id, _challenge, _serverName));
    }

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        if (_state == State.Finished)
        {
            return EapStep.Fail("EAP-MSCHAPv2: a response arrived after the method finished");
        }

        if (_state == State.Initial)
        {
            return Finish("EAP-MSCHAPv2: a response arrived before the Challenge was sent");
        }

        if (identifier != _identifier)
        {
            return Finish("EAP-MSCHAPv2: the response answers another request's identifier");
        }

        if (typeData.IsEmpty)
        {
            return Finish("EAP-MSCHAPv2: the response has no OpCode");
        }

        var opCode = (MsChapV2OpCode)typeData[0];
        switch (_state)
        {
            case State.ExpectResponse when opCode == MsChapV2OpCode.Response:
                return ProcessResponse(typeData);
            case State.ExpectSuccessResponse when opCode == MsChapV2OpCode.Success:
                _state = State.Finished;
                return EapStep.Done;
            case State.ExpectFailureResponse when opCode == MsChapV2OpCode.Failure:
                return Finish(_refusal ?? "EAP-MSCHAPv2: authentication failed");
            case State.ExpectResponse or State.ExpectSuccessResponse when opCode == MsChapV2OpCode.Failure:
                // draft-kamath §2.6: the peer may give up with a Failure-Response at any point.
                return Finish("EAP-MSCHAPv2: the peer aborted the authentication");
            default:
                return Finish($"EAP-MSCHAPv2: unexpected OpCode {(byte)opCode} in state {_state}");
        }
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_passwordHash);
        if (_msk is not null)
        {
            CryptographicOperations.ZeroMemory(_msk);
        }
    }

    /// <summary>RFC 2759 §4: check the Name and the NT-Response; answer Success (§5) or Failure (§6).</summary>
    private EapStep ProcessResponse(ReadOnlySpan<byte> typeData)
    {
        if (typeData.Length < MsChapV2Message.MinResponseLength)
        {
            return Finish($"EAP-MSCHAPv2: the Response has {typeData.Length} octets, fewer than {MsChapV2Message.MinResponseLength}");
        }

        if (typeData[1] != _msChapV2Id)
        {
            return Finish("EAP-MSCHAPv2: the Response's MS-CHAPv2-ID is not the Challenge's");
        }

        if (typeData[MsChapV2Message.HeaderLength] != MsChapV2Message.ResponseValueSize)
        {
            return Finish($"EAP-MSCHAPv2: the Response's Value-Size is {typeData[MsChapV2Message.HeaderLength]}, not 49");
        }

        var peerChallenge = typeData.Slice(MsChapV2Message.PeerChallengeOffset, MsChapV2.ChallengeLength);
        var ntResponse = typeData.Slice(MsChapV2Message.NtResponseOffset, MsChapV2.NtResponseLength);

        // The name the NT-Response was computed over (RFC 2759 §4: without the domain). strongSwan looks the secret
        // up by it; here the secret belongs to the EAP identity, so a Response for another user is refused.
        var userName = MsChapV2.WithoutDomain(typeData[MsChapV2Message.NameOffset..]);
        if (!userName.SequenceEqual(MsChapV2.WithoutDomain(_userName)))
        {
            return Refuse("EAP-MSCHAPv2: the Response's user name is not the EAP identity");
        }

        Span<byte> expected = stackalloc byte[MsChapV2.NtResponseLength];
        MsChapV2.GenerateNtResponse(_challenge, peerChallenge, userName, _passwordHash, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, ntResponse))
        {
            return Refuse("EAP-MSCHAPv2: the NT-Response is wrong (E=691, wrong password)");
        }

        Span<byte> authenticatorResponse = stackalloc byte[MsChapV2.AuthenticatorResponseLength];
        MsChapV2.GenerateAuthenticatorResponse(_passwordHash, ntResponse, peerChallenge, _challenge, userName, authenticatorResponse);
        _msk = MsChapV2.DeriveMsk(_passwordHash, ntResponse, isServer: true);
        CryptographicOperations.ZeroMemory(_passwordHash);

        // draft-kamath §2.3: the Success request carries the Response's MS-CHAPv2-ID.
        _identifier++;
        _state = State.ExpectSuccessResponse;
        return EapStep.Send(MsChapV2Message.SuccessRequest(_msChapV2Id, authenticatorResponse, SuccessMessage));
    }

    /// <summary>Sends the Failure request (E=691, no retry) and remembers why, for when the Failure-Response comes.</summary>
    private EapStep Refuse(string reason)
    {
        CryptographicOperations.ZeroMemory(_passwordHash);
        _refusal = reason;
        Span<byte> challenge = stackalloc byte[MsChapV2.ChallengeLength];
        _entropy.Fill(challenge);
        _identifier++;
        _state = State.ExpectFailureResponse;
        return EapStep.Send(MsChapV2Message.FailureRequest(_msChapV2Id, MsChapV2Message.AuthenticationFailure, challenge, FailureMessage));
    }

    /// <summary>Fails the method; once finished (successfully or not) it stays as it is.</summary>
    private EapStep Finish(string error)
    {
        if (_state == State.Finished)
        {
            return EapStep.Fail(error);
        }

        _state = State.Finished;
        CryptographicOperations.ZeroMemory(_passwordHash);
        if (_msk is not null)
        {
            CryptographicOperations.ZeroMemory(_msk);
            _msk = null;
        }

        return EapStep.Fail(error);
    }
}
