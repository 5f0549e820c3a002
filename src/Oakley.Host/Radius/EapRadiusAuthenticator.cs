using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Engine.Eap;
using Oakley.Protocol.Ikev2;

namespace Oakley.Host.Radius;

/// <summary>
/// The EAP server of one IKE SA for <c>remote.auth = eap-radius</c>: a relay of the peer's EAP responses to the
/// RADIUS servers and of their EAP requests back (RFC 3579 §2). An Access-Challenge is the next EAP request, an
/// Access-Accept success with the MSK from its MPPE keys, an Access-Reject failure. The engine thread is never
/// blocked: <see cref="Process"/> starts the Access-Request and returns Pending; when the answer is in, the resume
/// callback asks the engine to resume the SA, and the next <see cref="Process"/> with the same response returns it.
/// A retransmitted IKE request that hands in the same response meanwhile gets Pending again, without a second
/// Access-Request.
/// </summary>
public sealed class EapRadiusAuthenticator : IEapAuthenticator
{
    private const byte EapRequest = 1;
    private const byte EapResponse = 2;
    private const byte TypeIdentity = 1;

    private readonly EapContext _context;
    private readonly EapRadiusAaa _aaa;
    private readonly CancellationTokenSource _cancel = new();
    private readonly object _lock = new();
    private byte[]? _identity;
    private byte[]? _state;
    private RadiusServerSettings? _server;
    private int _challenges;
    private string _method = "eap-radius";

    // The response whose Access-Request is out (or answered), and the answer until it is consumed. A null key is the
    // first request of Start() (no EAP response from the peer behind it).
    private bool _inFlight;
    private byte[]? _key;
    private Answer? _answer;
    private bool _disposed;

    private sealed record Answer(RadiusExchange? Exchange);

    internal EapRadiusAuthenticator(EapContext context, EapRadiusAaa aaa)
    {
        _context = context;
        _aaa = aaa;
        _identity = context.EapIdentity?.Value;
    }

    public EapOutcome? Outcome { get; private set; }

    /// <summary>
    /// Without an EAP identity (eap_id %any), our own EAP-Request/Identity. With one, the first Access-Request
    /// (an EAP-Identity response on the peer's behalf, or EAP-Start with eap_start = yes) and Pending: after the
    /// resume, <see cref="Start"/> (or <see cref="Process"/>) returns the server's first request.
    /// </summary>
    public EapStep Start()
    {
        if (_identity is null)
        {
            return EapStep.Send([EapRequest, 0, 0, 5, TypeIdentity]); // RFC 3748 §5.1
        }

        return Relay(null, FirstMessage(_identity, 0));
    }

    public EapStep Process(ReadOnlyMemory<byte> response)
    {
        var eap = response.Span;
        if (_identity is null)
        {
            // RFC 3748 §5.1: the answer to our EAP-Request/Identity names who authenticates.
            if (eap.Length < 5 || eap[0] != EapResponse || eap[4] != TypeIdentity)
            {
                return EapStep.Fail("expected an EAP-Identity response");
            }

            _identity = eap[5..].ToArray();
            return Relay(eap.ToArray(), _aaa.Settings.EapStart ? [] : eap.ToArray());
        }

        return Relay(eap.ToArray(), eap.ToArray());
    }

    /// <summary>An EAP-Response/Identity on the peer's behalf (strongSwan's eap_start = no), or EAP-Start.</summary>
    private byte[] FirstMessage(byte[] identity, byte identifier)
    {
        if (_aaa.Settings.EapStart)
        {
            return [];
        }

        var message = new byte[5 + identity.Length];
        message[0] = EapResponse;
        message[1] = identifier;
        message[2] = (byte)(message.Length >> 8);
        message[3] = (byte)message.Length;
        message[4] = TypeIdentity;
        identity.CopyTo(message, 5);
        return message;
    }

    /// <summary>
    /// The step for the EAP response <paramref name="key"/>: its answer if in, Pending while its Access-Request is
    /// out, otherwise a new Access-Request carrying <paramref name="eap"/>.
    /// </summary>
    private EapStep Relay(byte[]? key, byte[] eap)
    {
        lock (_lock)
        {
            if (_answer is { } answer && Same(_key, key))
            {
                _answer = null;
                _key = null;
                return Map(answer.Exchange);
            }

            if (_inFlight)
            {
                return EapStep.Wait; // a retransmitted IKE request, or an answer not yet in: one Access-Request only
            }

            if (_answer is not null)
            {
                _answer = null; // an answer to a response the peer has since replaced: stale
            }

            _inFlight = true;
            _key = key;
        }

        var request = BuildRequest(eap);
        var server = _server;
        _ = Task.Run(() => AskAsync(request, server, key));
        return EapStep.Wait;
    }

    /// <summary>Whether an answer to <paramref name="held"/> answers <paramref name="asked"/>: Start()'s answer (null) goes to whichever call comes first.</summary>
    private static bool Same(byte[]? held, byte[]? asked) => held is null || asked is not null && held.AsSpan().SequenceEqual(asked);

    private RadiusPacket BuildRequest(byte[] eap)
    {
        var request = new RadiusPacket(RadiusCode.AccessRequest);
        request.Add(RadiusAttributeType.UserName, _identity.AsSpan(0, Math.Min(_identity!.Length, RadiusPacket.MaxValueLength)));
        RadiusNasAttributes.Add(request, _context.IkeSaId, _context.Connection, _context.Local, _context.Remote);
        if (_aaa.Accounting?.SessionId(_context.IkeSaId) is { } session)
        {
            request.AddString(RadiusAttributeType.AcctSessionId, session);
        }

        request.AddEapMessage(eap);
        if (_state is { } state)
        {
            request.Add(RadiusAttributeType.State, state); // RFC 2865 §5.24: echoed unmodified
        }

        return request;
    }

    private async Task AskAsync(RadiusPacket request, RadiusServerSettings? server, byte[]? key)
    {
        RadiusExchange? exchange = null;
        try
        {
            exchange = await _aaa.Client.SendAsync(request, server, _cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // disposed: the SA is gone
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else (a name that does not resolve, a packet over 4096 bytes) ends this request as unanswered,
            // never as an SA left pending for good.
            _aaa.Log.LogWarning("RADIUS request for '{Identity}' failed: {Error}", Printable(_identity!), e.Message);
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _inFlight = false;
            _key = key;
            _answer = new Answer(exchange);
        }

        _aaa.Resume(_context.IkeSaId);
    }

    private EapStep Map(RadiusExchange? exchange)
    {
        var who = Printable(_identity!);
        if (exchange is null)
        {
            return EapStep.Fail("RADIUS server(s) did not answer");
        }

        var response = exchange.Response;
        switch (response.Code)
        {
            case RadiusCode.AccessChallenge:
                var eap = response.EapMessage();
                if (eap is not { Length: >= 4 } || eap[0] != EapRequest || (eap[2] << 8 | eap[3]) != eap.Length)
                {
                    return EapStep.Fail($"RADIUS Access-Challenge for '{who}' carries no EAP request");
                }

                _state = response.Find(RadiusAttributeType.State); // strongSwan forgets a State the server no longer sends
                _server = exchange.Server; // RFC 2865 §5.24: the State is that server's
                _challenges++;
                if (eap.Length > 4 && eap[4] != TypeIdentity)
                {
                    _method = "eap-radius (" + ((EapType)eap[4]).ToString().ToLowerInvariant() + ")";
                }

                return EapStep.Send(eap);
            case RadiusCode.AccessAccept when _challenges == 0:
                // strongSwan: a Microsoft server may accept the first request without authenticating anyone.
                return EapStep.Fail($"RADIUS server '{exchange.Server.Name}' accepted '{who}' without an EAP exchange: treated as a reject");
            case RadiusCode.AccessAccept:
                return Accept(exchange, who);
            default:
                var reply = response.FindString(RadiusAttributeType.ReplyMessage);
                return EapStep.Fail($"RADIUS authentication of '{who}' failed" + (reply is null ? string.Empty : $": {Sanitize(reply)}"));
        }
    }

    private EapStep Accept(RadiusExchange exchange, string who)
    {
        var response = exchange.Response;
        var msk = MppeKeys.Msk(response, exchange.Server.Secret, exchange.RequestAuthenticator);
        var framed = response.FramedAddresses();
        Outcome = new EapOutcome(msk, IdentityOf(_identity!), framed, _method);
        var interim = response.FindUInt32(RadiusAttributeType.AcctInterimInterval);
        _aaa.Accounting?.Authenticated(_context.IkeSaId, _identity!, framed, interim is { } s ? TimeSpan.FromSeconds(s) : null);
        _aaa.Log.LogInformation("RADIUS authentication of '{Identity}' successful (server '{Server}'{Framed})", who, exchange.Server.Name,
            framed.Count > 0 ? ", Framed-IP " + string.Join(", ", framed) : string.Empty);
        return EapStep.Done;
    }

    /// <summary>The EAP identity as an IKE identity, the way strongSwan makes one from data: parsed if it is text, else a KEY_ID.</summary>
    internal static Identity IdentityOf(byte[] identity)
    {
        if (identity.Length > 0 && identity.All(b => b is >= 0x20 and < 0x7F))
        {
            try
            {
                return Identity.Parse(Encoding.ASCII.GetString(identity));
            }
            catch (FormatException)
            {
                // "@#zz" and the like: not the syntax it looks like, keep the bytes
            }
        }

        return new Identity(IdentificationType.KeyId, identity);
    }

    private static string Printable(byte[] identity) => Sanitize(Encoding.UTF8.GetString(identity));

    /// <summary>Text from a peer or server for a log line or an error: control characters replaced, at most 128 characters.</summary>
    private static string Sanitize(string text)
    {
        var chars = text.Take(128).Select(c => char.IsControl(c) ? '?' : c).ToArray();
        return new string(chars);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _cancel.Cancel();
        _cancel.Dispose();
    }
}
