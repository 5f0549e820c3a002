using Oakley.Engine.Authentication;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Crypto.Signature;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// IKE_SA_INIT (RFC 7296 §1.2): proposals, the key exchange and nonces, the SKEYSEED derivation, COOKIE (§2.6) and
/// INVALID_KE_PAYLOAD retries on the initiator, and the IKE_SA_INIT notifies (fragmentation, RFC 7383 §2.3; signature
/// hash algorithms, RFC 7427). NAT detection joins the same exchange as its own task. The responder's stateless checks
/// (cookies, limits, proposal and group choice) are the endpoint's, before this task exists.
/// </summary>
internal sealed class IkeInitTask : IInitiatorTask, IResponderTask, IDisposable
{
    private static readonly byte[] SignatureHashes = [0, 2, 0, 3, 0, 4, 0, 5]; // SHA2-256/384/512 and Identity for EdDSA (RFC 7427 §4, RFC 8420)

    private readonly IkeSa _sa;
    private KeyExchange? _ke;
    private KeId _group;
    private byte[] _cookie = [];
    private int _invalidKeRetries;

    // Responder: what the endpoint selected, and whether the initiator announced the notifies we echo.
    private readonly AlgorithmProposal? _selected;
    private readonly byte _proposalNumber;
    private bool _peerSignatureHashes;

    /// <summary>The initiator's task: the first KE group of the configured proposals.</summary>
    public IkeInitTask(IkeSa sa)
    {
        _sa = sa;
        _group = sa.Config.Proposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Select(t => (KeId)t.Id).First();
    }

    /// <summary>The responder's task, with the proposal the endpoint chose.</summary>
    public IkeInitTask(IkeSa sa, AlgorithmProposal selected, byte proposalNumber)
    {
        _sa = sa;
        _selected = selected;
        _proposalNumber = proposalNumber;
    }

    public ExchangeType Exchange => ExchangeType.IkeSaInit;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        _ke?.Dispose();
        _ke = KeyExchangeMethods.Create(_group, _sa.Services.Entropy);
        if (_sa.NonceI.Length == 0)
        {
            _sa.NonceI = _sa.Services.NewNonce(); // a retry keeps SPI and nonce (§2.6)
        }

        if (_cookie.Length > 0)
        {
            // RFC 7296 §2.6: the COOKIE notify is the first payload of the repeated request.
            request.Add(new NotifyPayload(NotifyType.Cookie, _cookie));
        }

        request.Add(ProposalNegotiation.ToPayload(_sa.Config.Proposals, default, _group));
        request.Add(new KeyExchangePayload(_group, _ke.GetPublicKey()));
        request.Add(new NoncePayload(_sa.NonceI));
        if (_sa.Config.Fragmentation != Fragmentation.No)
        {
            request.Add(new NotifyPayload(NotifyType.Ikev2FragmentationSupported));
        }

        if (_sa.Services.Settings.SignatureAuthentication)
        {
            request.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, SignatureHashes));
        }
        return TaskOutcome.Done;
    }

    /// <summary>
    /// The response's payloads are checked against the rules (a violation is dropped and counted: the message is
    /// unauthenticated, and the request stays pending); it must name the responder's SPI.
    /// </summary>
    public void Accept(DateTimeOffset now, Received response)
    {
        var m = response.Message;
        Rules.PayloadRuleCheck.Enforce(_sa.Services, now, _sa.Id, m);
        if (m.ResponderSpi == 0 && m.Find<SecurityAssociationPayload>() is not null)
        {
            throw IkeProtocolException.InvalidSyntax("IKE_SA_INIT response without a responder SPI");
        }
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        var m = response.Message;
        if (m.Notifies(NotifyType.Cookie).FirstOrDefault() is { } cookie)
        {
            // RFC 7296 §2.6: retry with the cookie, same SPI and nonce.
            _cookie = cookie.Data.ToArray();
            return TaskOutcome.NeedMore;
        }

        if (m.Notifies(NotifyType.InvalidKePayload).FirstOrDefault() is { } invalidKe)
        {
            return RetryWithGroup(now, invalidKe);
        }

        if (m.Payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError()) is { } error)
        {
            _sa.Fail(now, $"IKE_SA_INIT failed: peer answered {error.NotifyType}");
            return TaskOutcome.Failed;
        }

        var sa = m.Find<SecurityAssociationPayload>()!;
        var ke = m.Find<KeyExchangePayload>()!;
        var selected = ProposalNegotiation.ValidateResponse(_sa.Config.Proposals, sa, ProtocolId.Ike);
        if (selected is null || ke.Group != _group || selected.OfType(TransformType.KeyExchange).Single().Id != (ushort)_group)
        {
            _sa.Fail(now, "responder chose a proposal we did not offer");
            return TaskOutcome.Failed;
        }

        _sa.SpiR = m.ResponderSpi;
        _sa.NonceR = m.Find<NoncePayload>()!.Nonce.ToArray();
        _sa.Path.Fragmentation = _sa.Config.Fragmentation != Fragmentation.No && m.Notifies(NotifyType.Ikev2FragmentationSupported).Any();
        _sa.PeerSignatureHashes = PeerHashes(m);
        _sa.PeerMultipleAuth = m.Notifies(NotifyType.MultipleAuthSupported).Any();
        _sa.PeerCertificateRequests = PublicKeyCredentials.Requested(m.Payloads);
        _sa.InitResponse = response.Datagram;
        _ke!.SetPeerPublicKey(ke.Data.Span);
        DeriveKeys(selected);
        return TaskOutcome.Done;
    }

    /// <summary>RFC 7296 §1.2: retry with the group the responder asked for, if we proposed it (at most twice).</summary>
    private TaskOutcome RetryWithGroup(DateTimeOffset now, NotifyPayload invalidKe)
    {
        var wanted = invalidKe.Data.Length == 2 ? (KeId)BinaryPrimitives.ReadUInt16BigEndian(invalidKe.Data.Span) : KeId.None;
        var proposed = _sa.Config.Proposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Any(t => t.Id == (ushort)wanted);
        if (!proposed || wanted == _group || ++_invalidKeRetries > 2)
        {
            _sa.Fail(now, $"peer requested unacceptable key exchange method {wanted}");
            return TaskOutcome.Failed;
        }

        _sa.Services.EmitAlert(now, _sa.Id, $"peer requested {wanted} instead of {_group}; retrying");
        _group = wanted;
        return TaskOutcome.NeedMore;
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        var m = request.Message;
        var ke = m.Find<KeyExchangePayload>()!;
        _sa.InitRequest = request.Datagram;
        _sa.NonceI = m.Find<NoncePayload>()!.Nonce.ToArray();
        _sa.NonceR = _sa.Services.NewNonce();
        _group = ke.Group;
        _ke = KeyExchangeMethods.Create(ke.Group, _sa.Services.Entropy);
        _ke.SetPeerPublicKey(ke.Data.Span); // validates the peer's value (RFC 6989)
        // RFC 7383 §2.3: announce support only in answer to the initiator's announcement.
        _sa.Path.Fragmentation = _sa.Config.Fragmentation != Fragmentation.No && m.Notifies(NotifyType.Ikev2FragmentationSupported).Any();
        _sa.PeerSignatureHashes = PeerHashes(m);
        _peerSignatureHashes = _sa.PeerSignatureHashes is not null;
        return TaskOutcome.Done;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response)
    {
        response.Add(ProposalNegotiation.Accepted(_selected!, _proposalNumber, default));
        response.Add(new KeyExchangePayload(_group, _ke!.GetPublicKey()));
        response.Add(new NoncePayload(_sa.NonceR));
        if (_sa.Path.Fragmentation)
        {
            response.Add(new NotifyPayload(NotifyType.Ikev2FragmentationSupported));
        }

        if (_peerSignatureHashes && _sa.Services.Settings.SignatureAuthentication)
        {
            response.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, SignatureHashes));
        }

        // RFC 7296 §1.2: the responder may ask for certificates here already (strongSwan does, for all its CAs).
        if (PublicKeyCredentials.CertificateRequest(_sa) is { } certreq)
        {
            response.Add(certreq);
        }

        if (_sa.Config.MoreRemoteAuth.Count > 0)
        {
            // RFC 4739 §3: the responder announces multiple authentication here (for the connections that use it).
            response.Add(new NotifyPayload(NotifyType.MultipleAuthSupported));
        }
    }

    /// <summary>
    /// The hashes of the peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4: a list of 2-octet numbers), null without one.
    /// Unknown numbers are skipped; an odd trailing octet is ignored, as an announcement only widens what we may use.
    /// </summary>
    internal static IReadOnlyCollection<SignatureHash>? PeerHashes(IkeMessage m)
    {
        List<SignatureHash>? hashes = null;
        foreach (var notify in m.Notifies(NotifyType.SignatureHashAlgorithms))
        {
            hashes ??= [];
            var data = notify.Data.Span;
            for (var i = 0; i + 1 < data.Length; i += 2)
            {
                var hash = (SignatureHash)BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
                if (Enum.IsDefined(hash) && !hashes.Contains(hash))
                {
                    hashes.Add(hash);
                }
            }
        }

        return hashes;
    }

    /// <summary>The responder's keys, once its response is encoded (SPIs and nonces are all known).</summary>
    public void Complete() => DeriveKeys(_selected!);

    /// <summary>SKEYSEED and the seven SK_* keys (§2.14); the key exchange is freed.</summary>
    private void DeriveKeys(AlgorithmProposal selected)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        var shared = _ke!.GetSharedSecret();
        var prf = suite.Prf!;
        var skeyseed = Ikev2KeySchedule.DeriveSkeyseed(prf, _sa.NonceI, _sa.NonceR, shared);
        var keys = Ikev2KeySchedule.DeriveKeys(prf, skeyseed, _sa.NonceI, _sa.NonceR, _sa.SpiI, _sa.SpiR,
            suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0);
        CryptographicOperations.ZeroMemory(skeyseed);
        _sa.SetKeys(suite.Proposal, new IkeSaKeys(suite, keys));
        _sa.Services.Keylog?.Invoke(_sa, keys);
        Dispose();
    }

    public void Dispose()
    {
        _ke?.Dispose();
        _ke = null;
    }
}
