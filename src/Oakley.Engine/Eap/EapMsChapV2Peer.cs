using System.Security.Cryptography;
using System.Text;
using Oakley.Crypto;
using Oakley.Crypto.Eap;

namespace Oakley.Engine.Eap;

/// <summary>
/// The peer side of EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2-02 over RFC 2759): answers the Challenge with
/// a Response, then checks the authenticator response of the Success request (RFC 2759 §5: the peer MUST verify it and
/// end the session if it is missing or wrong) before acknowledging it with a Success-Response. A Failure request is
/// answered with a Failure-Response; the method has failed then (<see cref="FailureReason"/>), and the EAP-Failure
/// that follows is the framework's.
/// </summary>
public sealed class EapMsChapV2Peer : IEapPeerMethod
{
    private readonly byte[] _userName;
    private readonly byte[] _passwordHash = new byte[MsChapV2.PasswordHashLength];
    private readonly IEntropySource _entropy;
    private readonly byte[] _expectedAuthenticatorResponse = new byte[MsChapV2.AuthenticatorResponseLength];
    private State _state;
    private byte[]? _msk;

    /// <param name="userName">The user name sent in the Response (a <c>DOMAIN\</c> prefix is sent but not hashed).</param>
    /// <param name="password">The EAP secret (UTF-8); only its NT hash is kept.</param>
    /// <param name="entropy">The source of the Peer-Challenge.</param>
    public EapMsChapV2Peer(string userName, byte[] password, IEntropySource entropy)
    {
        _userName = Encoding.UTF8.GetBytes(userName);
        MsChapV2.NtPasswordHash(password, _passwordHash);
        _entropy = entropy;
    }

    private enum State
    {
        ExpectChallenge,
        ExpectSuccess,
        Succeeded,
        Failed,
    }

    public EapType Type => EapType.MsChapV2;

    /// <summary>True once the Success request's authenticator response proved the server knows the password.</summary>
    public bool ServerAuthenticated => _state == State.Succeeded;

    /// <summary>A copy of the MSK once the server was authenticated (the caller zeroes its copy).</summary>
    public byte[]? Msk => _state == State.Succeeded ? _msk?.ToArray() : null;

    /// <summary>Why the method failed, once it has (never a secret).</summary>
    public string? FailureReason { get; private set; }

    public EapStep Process(byte identifier, ReadOnlySpan<byte> typeData)
    {
        if (_state is State.Succeeded or State.Failed)
        {
            return EapStep.Fail(FailureReason ?? "EAP-MSCHAPv2: a request arrived after the method finished");
        }

        if (typeData.IsEmpty)
        {
            return Fail("EAP-MSCHAPv2: the request has no OpCode");
        }

        var opCode = (MsChapV2OpCode)typeData[0];
        return (_state, opCode) switch
        {
            (State.ExpectChallenge, MsChapV2OpCode.Challenge) => ProcessChallenge(typeData),
            (State.ExpectSuccess, MsChapV2OpCode.Success) => ProcessSuccess(typeData),
            (State.ExpectSuccess, MsChapV2OpCode.Failure) => ProcessFailure(typeData),
            _ => Fail($"EAP-MSCHAPv2: unexpected OpCode {(byte)opCode} in state {_state}"),
        };
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_passwordHash);
        if (_msk is not null)
        {
            CryptographicOperations.ZeroMemory(_msk);
        }
    }

    /// <summary>RFC 2759 §3/§4: read the Challenge, answer with Peer-Challenge, NT-Response and the full user name.</summary>
    private EapStep ProcessChallenge(ReadOnlySpan<byte> typeData)
    {
        if (typeData.Length < MsChapV2Message.MinChallengeLength)
        {
            return Fail($"EAP-MSCHAPv2: the Challenge has {typeData.Length} octets, fewer than {MsChapV2Message.MinChallengeLength}");
        }

        var valueSize = typeData[MsChapV2Message.HeaderLength];
        if (valueSize != MsChapV2.ChallengeLength)
        {
            return Fail($"EAP-MSCHAPv2: the Challenge's Value-Size is {valueSize}, not 16");
        }

        var msChapV2Id = typeData[1];
        var challenge = typeData.Slice(MsChapV2Message.HeaderLength + 1, MsChapV2.ChallengeLength);
        Span<byte> peerChallenge = stackalloc byte[MsChapV2.ChallengeLength];
        _entropy.Fill(peerChallenge);

        // RFC 2759 §4: the whole name is sent, only the user part enters the hashes.
        var hashedName = MsChapV2.WithoutDomain(_userName);
        Span<byte> ntResponse = stackalloc byte[MsChapV2.NtResponseLength];
        MsChapV2.GenerateNtResponse(challenge, peerChallenge, hashedName, _passwordHash, ntResponse);
        MsChapV2.GenerateAuthenticatorResponse(_passwordHash, ntResponse, peerChallenge, challenge, hashedName, _expectedAuthenticatorResponse);
        _msk = MsChapV2.DeriveMsk(_passwordHash, ntResponse, isServer: false);
        CryptographicOperations.ZeroMemory(_passwordHash);

        _state = State.ExpectSuccess;
        return EapStep.Send(MsChapV2Message.Response(msChapV2Id, peerChallenge, ntResponse, _userName));
    }

    /// <summary>RFC 2759 §5, §8.8: the S= value must be the authenticator response computed here.</summary>
    private EapStep ProcessSuccess(ReadOnlySpan<byte> typeData)
    {
        if (typeData.Length < MsChapV2Message.HeaderLength)
        {
            return Fail("EAP-MSCHAPv2: the Success request is shorter than its header");
        }

        Span<byte> received = stackalloc byte[MsChapV2.AuthenticatorResponseLength];
        if (!MsChapV2Message.TryReadAuthenticatorResponse(typeData[MsChapV2Message.HeaderLength..], received))
        {
            return Fail("EAP-MSCHAPv2: the Success request has no valid authenticator response (S=)");
        }

        if (!CryptographicOperations.FixedTimeEquals(received, _expectedAuthenticatorResponse))
        {
            return Fail("EAP-MSCHAPv2: the server's authenticator response is wrong; it does not know the password");
        }

        _state = State.Succeeded;
        return EapStep.Send(MsChapV2Message.OpCodeOnly(MsChapV2OpCode.Success));
    }

    /// <summary>RFC 2759 §6: the server refused; no retry or password change is attempted, a Failure-Response ends it.</summary>
    private EapStep ProcessFailure(ReadOnlySpan<byte> typeData)
    {
        var error = typeData.Length >= MsChapV2Message.HeaderLength
            ? MsChapV2Message.ReadErrorCode(typeData[MsChapV2Message.HeaderLength..])
            : null;
        var reason = error switch
        {
            MsChapV2Message.AuthenticationFailure => "EAP-MSCHAPv2: the server refused the authentication (E=691, wrong user name or password)",
            { } code => $"EAP-MSCHAPv2: the server refused the authentication (E={code})",
            null => "EAP-MSCHAPv2: the server refused the authentication",
        };
        Fail(reason);
        return EapStep.Send(MsChapV2Message.OpCodeOnly(MsChapV2OpCode.Failure));
    }

    private EapStep Fail(string reason)
    {
        _state = State.Failed;
        FailureReason = reason;
        CryptographicOperations.ZeroMemory(_passwordHash);
        CryptographicOperations.ZeroMemory(_expectedAuthenticatorResponse);
        if (_msk is not null)
        {
            CryptographicOperations.ZeroMemory(_msk);
            _msk = null;
        }

        return EapStep.Fail(reason);
    }
}
