using System.Net;

namespace Oakley.Engine.Eap;

/// <summary>EAP method types (IANA "Method Types", RFC 3748 §5 and the method RFCs) that Oakley knows by name.</summary>
public enum EapType : byte
{
    Identity = 1,
    Notification = 2,
    Nak = 3,
    Md5 = 4,
    Gtc = 6,
    Tls = 13,
    Ttls = 21,
    Peap = 25,
    MsChapV2 = 26,
}

/// <summary>What one step of an EAP method or server produced.</summary>
public enum EapStepKind
{
    /// <summary><see cref="EapStep.Data"/> is to be sent (a method's type data, or a whole EAP message for a server).</summary>
    Send,

    /// <summary>The authentication succeeded (the server's side: send EAP-Success; the peer's: its part is done).</summary>
    Success,

    /// <summary>The authentication failed; <see cref="EapStep.Error"/> says why (never a secret).</summary>
    Failure,

    /// <summary>
    /// The answer is not known yet (a RADIUS server or a TLS engine is working on it). The IKE message is held, and
    /// the host calls <c>Endpoint.Resume</c> for the SA when the answer is in.
    /// </summary>
    Pending,
}

/// <summary>One step's result. <see cref="Data"/> is the bytes to send for <see cref="EapStepKind.Send"/>.</summary>
public readonly record struct EapStep(EapStepKind Kind, byte[]? Data = null, string? Error = null)
{
    public static EapStep Send(byte[] data) => new(EapStepKind.Send, data);

    public static EapStep Fail(string error) => new(EapStepKind.Failure, null, error);

    public static EapStep Done => new(EapStepKind.Success);

    public static EapStep Wait => new(EapStepKind.Pending);
}

/// <summary>
/// The server (authenticator) side of one EAP method, in type data: the EAP header (code, identifier, length,
/// type) is the framework's (<c>EapServer</c>). A method holds its credential from construction on.
/// </summary>
public interface IEapServerMethod : IDisposable
{
    EapType Type { get; }

    /// <summary>Whether the method authenticates the server too (RFC 5998 EAP-only needs that).</summary>
    bool Mutual { get; }

    /// <summary>The type data of the first request, to be sent with EAP identifier <paramref name="identifier"/>.</summary>
    EapStep Start(byte identifier);

    /// <summary>
    /// The type data of a response of this method's type (<paramref name="identifier"/>: the identifier it answered):
    /// the type data of the next request (sent with <paramref name="identifier"/> + 1), success or failure.
    /// </summary>
    EapStep Process(byte identifier, ReadOnlySpan<byte> typeData);

    /// <summary>The Master Session Key (RFC 3748 §7.10) once the method succeeded, or null for methods without one.</summary>
    byte[]? Msk { get; }
}

/// <summary>The peer (client) side of one EAP method, in type data (see <see cref="IEapServerMethod"/>).</summary>
public interface IEapPeerMethod : IDisposable
{
    EapType Type { get; }

    /// <summary>The type data of a request of this method's type, with its EAP identifier: the response's type data, or failure.</summary>
    EapStep Process(byte identifier, ReadOnlySpan<byte> typeData);

    /// <summary>Whether the method's exchange has proven the server's knowledge of the credential too (for EAP-only).</summary>
    bool ServerAuthenticated { get; }

    /// <summary>The MSK once the method finished, or null for methods without one.</summary>
    byte[]? Msk { get; }
}

/// <summary>What an EAP server learned from the authentication that matters after it: the MSK and AAA attributes.</summary>
public sealed record EapOutcome(byte[]? Msk, Identity? EapIdentity, IReadOnlyList<IPAddress> FramedAddresses, string Method);

/// <summary>
/// A whole EAP server, in EAP messages: the local one (<c>EapServer</c>, the methods built into Oakley) or a
/// relay to AAA (EAP-RADIUS, built in the host). The IKE_AUTH task hands it each EAP response and sends back what it
/// says; <see cref="EapStepKind.Pending"/> holds the IKE message until the host resumes the SA.
/// </summary>
public interface IEapAuthenticator : IDisposable
{
    /// <summary>The first EAP request (a whole message), or failure.</summary>
    EapStep Start();

    /// <summary>
    /// A whole EAP response from the peer: the next request (a whole message), <see cref="EapStepKind.Success"/> (the
    /// framework sends EAP-Success and reads <see cref="Outcome"/>), failure or pending.
    /// </summary>
    EapStep Process(ReadOnlyMemory<byte> response);

    /// <summary>After <see cref="EapStepKind.Success"/>: the MSK and what the server assigned.</summary>
    EapOutcome? Outcome { get; }
}

/// <summary>What an EAP server for one IKE SA is built from.</summary>
/// <param name="IkeSaId">The SA, for <c>Endpoint.Resume</c> when an answer comes in later.</param>
/// <param name="Connection">The connection's name.</param>
/// <param name="PeerIkeIdentity">The peer's IKE identity (IDi).</param>
/// <param name="EapIdentity">The EAP identity to authenticate (remote <c>eap_id</c>; null: ask with EAP-Identity).</param>
/// <param name="Local">Our IKE address.</param>
/// <param name="Remote">The peer's IKE address.</param>
public sealed record EapContext(long IkeSaId, string Connection, Identity PeerIkeIdentity, Identity? EapIdentity, IPEndPoint Local, IPEndPoint Remote);

/// <summary>
/// Builds the AAA relay for <c>remote.auth = eap-radius</c> (the host's RADIUS client); injected into the
/// <see cref="Endpoint"/>. Null from <see cref="Create"/>: no RADIUS server is configured (the reason is in <paramref name="error"/>).
/// </summary>
public interface IEapAaa
{
    IEapAuthenticator? Create(EapContext context, out string? error);
}
