using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// One IKEv2 SA: its message-ID windows (window size 1, RFC 7296 §2.3), retransmission state, cached last
/// response, keys and CHILD SAs. It runs IKE_SA_INIT, IKE_AUTH with PSK (the first CHILD SA inside it) and
/// INFORMATIONAL (delete and liveness). Not thread-safe: the endpoint that owns it serialises access.
/// </summary>
public sealed class IkeSa : IDisposable
{
    private readonly Endpoint _endpoint;
    private readonly List<ChildSa> _children = [];
    private Crypto.KeyExchange.KeyExchange? _ke;
    private IkeSaKeys? _keys;
    private byte[] _nonceI = [];
    private byte[] _nonceR = [];
    private byte[] _initRequest = [];  // RealMessage1 (RFC 7296 §2.15)
    private byte[] _initResponse = []; // RealMessage2
    private byte[] _cookie = [];
    private KeId _keGroup;
    private int _invalidKeRetries;
    private ChildConfig? _pendingChild;
    private uint _pendingChildSpi;
    private AlgorithmProposal? _ikeSelected;

    // Message IDs (RFC 7296 §2.3): each side numbers its own requests from 0. _nextRequestId is the ID our
    // next request will carry; _expectedPeerRequestId the ID of the next request we accept.
    private uint _nextRequestId;
    private uint _expectedPeerRequestId;
    private PendingRequest? _pending;
    private (uint MessageId, byte[] Datagram)? _lastResponse;
    private DateTimeOffset _halfOpenDeadline = DateTimeOffset.MaxValue;

    /// <summary>The last time something authentic came from the peer (an IKE message, or ESP the host reported).</summary>
    private DateTimeOffset _lastInbound;

    /// <summary>
    /// The data plane's counters of one CHILD SA (the larger of its two directions). Volume limits (rekey_bytes,
    /// rekey_packets) bring its rekey forward to now; life_bytes/life_packets its hard expiry. Without ESN the
    /// 32-bit sequence number must never wrap (RFC 4303 §3.3.3): 2^32 − 2^24 packets force a rekey whatever the
    /// configuration says.
    /// </summary>
    internal void NoteChildCounters(DateTimeOffset now, ChildSa child, ulong bytes, ulong packets)
    {
        var c = child.Config;
        if ((c.LifeBytes > 0 && bytes >= c.LifeBytes) || (c.LifePackets > 0 && packets >= c.LifePackets))
        {
            child.ExpireAt = now < child.ExpireAt ? now : child.ExpireAt;
        }
        else if ((c.RekeyBytes > 0 && bytes >= c.RekeyBytes) || (c.RekeyPackets > 0 && packets >= c.RekeyPackets)
            || (!child.Suite.Esn && packets >= 0xFF00_0000UL))
        {
            child.RekeyAt = now < child.RekeyAt ? now : child.RekeyAt;
        }
    }

    /// <summary>The host saw ESP from the peer on one of this SA's CHILD SAs: the peer is alive (no DPD needed).</summary>
    internal void NoteInboundTraffic(DateTimeOffset now)
    {
        if (now > _lastInbound)
        {
            _lastInbound = now;
        }
    }

    private DateTimeOffset DpdDue => Config.DpdDelay > TimeSpan.Zero && _rekeyedAway is null ? _lastInbound + Config.DpdDelay : DateTimeOffset.MaxValue;

    internal IkeSa(Endpoint endpoint, long id, IkeConfig config, bool initiator, ulong spiI, ulong spiR, IPEndPoint local, IPEndPoint remote, DateTimeOffset now)
    {
        _endpoint = endpoint;
        Id = id;
        Config = config;
        IsOriginalInitiator = initiator;
        SpiI = spiI;
        SpiR = spiR;
        Local = local;
        Remote = remote;
        Created = now;
    }

    public long Id { get; }

    public IkeConfig Config { get; private set; }

    public bool IsOriginalInitiator { get; }

    public ulong SpiI { get; private set; }

    public ulong SpiR { get; private set; }

    public IPEndPoint Local { get; private set; }

    /// <summary>True once NAT detection (RFC 7296 §2.23) found a NAT, or the peer floated to the NAT-T port.</summary>
    public bool NatDetected { get; private set; }

    public IPEndPoint Remote { get; private set; }

    public IkeSaState State { get; private set; } = IkeSaState.Created;

    public DateTimeOffset Created { get; }

    public DateTimeOffset? EstablishedAt { get; private set; }

    public Identity? RemoteIdentity { get; private set; }

    public NegotiatedSuite? Suite => _keys?.Suite;

    public IReadOnlyList<ChildSa> Children => _children;

    public ulong LocalSpi => IsOriginalInitiator ? SpiI : SpiR;

    /// <summary>The next time this SA needs <see cref="HandleTimeout"/>.</summary>
    public DateTimeOffset NextDeadline
    {
        get
        {
            var d = _pending?.Deadline ?? DateTimeOffset.MaxValue;
            d = d < _halfOpenDeadline ? d : _halfOpenDeadline;
            if (_rekeyedAway is { } since && _pending is null && since + TimeSpan.FromMinutes(1) < d)
            {
                d = since + TimeSpan.FromMinutes(1);
            }
            if (State == IkeSaState.Established)
            {
                if (_pending is null && DpdDue < d)
                {
                    d = DpdDue;
                }

                if (_pending is null && _deleteQueued && Created < d)
                {
                    d = Created; // due at once
                }

                if (_pending is null && _ikeRekey is null && IkeRekeyAt < d)
                {
                    d = IkeRekeyAt;
                }

                foreach (var c in _children)
                {
                    // A rekey waits for the window; it is due again when the pending exchange ends.
                    var next = c.Replaced || (_pending is not null && c.RekeyAt <= d) ? c.ExpireAt : (c.RekeyAt < c.ExpireAt ? c.RekeyAt : c.ExpireAt);
                    d = next < d ? next : d;
                }
            }

            return d;
        }
    }

    private sealed class PendingRequest
    {
        public required uint MessageId { get; init; }

        public required byte[] Datagram { get; set; }

        public required ExchangeType Exchange { get; init; }

        public int Retransmits { get; set; }

        public DateTimeOffset Deadline { get; set; }

        /// <summary>This request deletes the IKE SA: its response (or the peer's INVALID_IKE_SPI) ends the SA.</summary>
        public bool DeletesIkeSa { get; set; }
    }

    // ------------------------------------------------------------------------------------------------
    // Initiator: IKE_SA_INIT
    // ------------------------------------------------------------------------------------------------

    internal void StartInitiator(DateTimeOffset now, ChildConfig? child)
    {
        _pendingChild = child;
        _keGroup = Config.Proposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Select(t => (KeId)t.Id).First();
        State = IkeSaState.Connecting;
        SendInitRequest(now);
    }

    private void SendInitRequest(DateTimeOffset now)
    {
        _ke?.Dispose();
        _ke = KeyExchangeMethods.Create(_keGroup, _endpoint.Entropy);
        if (_nonceI.Length == 0)
        {
            _nonceI = _endpoint.NewNonce();
        }

        var m = new IkeMessage { InitiatorSpi = SpiI, ResponderSpi = 0, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Initiator, MessageId = 0 };
        if (_cookie.Length > 0)
        {
            // RFC 7296 §2.6: the COOKIE notify is the first payload of the repeated request.
            m.Payloads.Add(new NotifyPayload(NotifyType.Cookie, _cookie));
        }

        m.Payloads.Add(ProposalNegotiation.ToPayload(Config.Proposals, default, _keGroup));
        m.Payloads.Add(new KeyExchangePayload(_keGroup, _ke.GetPublicKey()));
        m.Payloads.Add(new NoncePayload(_nonceI));
        AddNatDetection(m, SpiI, 0);
        m.Payloads.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, new byte[] { 0, 2, 0, 3, 0, 4 })); // SHA2-256/384/512 (RFC 7427)
        _initRequest = m.Encode();
        _nextRequestId = 0;
        SendRequest(now, ExchangeType.IkeSaInit, _initRequest);
        _nextRequestId = 1;
    }

    private void AddNatDetection(IkeMessage m, ulong spiI, ulong spiR)
    {
        if (Config.ForceEncapsulation)
        {
            // encap = yes: a source hash that cannot match makes the peer see us behind a NAT (RFC 7296 §2.23).
            var fake = new byte[20];
            _endpoint.Entropy.Fill(fake);
            m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, fake));
            m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(spiI, spiR, Remote)));
            return;
        }

        m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, NatHash(spiI, spiR, Local)));
        m.Payloads.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, NatHash(spiI, spiR, Remote)));
    }

    /// <summary>RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port).</summary>
    internal static byte[] NatHash(ulong spiI, ulong spiR, IPEndPoint ep)
    {
        var addr = ep.Address.GetAddressBytes();
        var data = new byte[16 + addr.Length + 2];
        BinaryPrimitives.WriteUInt64BigEndian(data, spiI);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8), spiR);
        addr.CopyTo(data, 16);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(16 + addr.Length), (ushort)ep.Port);
        return SHA1.HashData(data);
    }

    private void ProcessInitResponse(DateTimeOffset now, IkeMessage m, byte[] datagram)
    {
        if (m.Notifies(NotifyType.Cookie).FirstOrDefault() is { } cookie)
        {
            // RFC 7296 §2.6: retry with the cookie, same SPI and nonce.
            _cookie = cookie.Data.ToArray();
            _pending = null;
            SendInitRequest(now);
            return;
        }

        if (m.Notifies(NotifyType.InvalidKePayload).FirstOrDefault() is { } invalidKe)
        {
            // RFC 7296 §1.2: retry with the group the responder asked for, if we proposed it.
            var wanted = invalidKe.Data.Length == 2 ? (KeId)BinaryPrimitives.ReadUInt16BigEndian(invalidKe.Data.Span) : KeId.None;
            var proposed = Config.Proposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Any(t => t.Id == (ushort)wanted);
            if (!proposed || wanted == _keGroup || ++_invalidKeRetries > 2)
            {
                Fail(now, $"peer requested unacceptable key exchange method {wanted}");
                return;
            }

            _endpoint.EmitAlert(now, Id, $"peer requested {wanted} instead of {_keGroup}; retrying");
            _keGroup = wanted;
            _pending = null;
            SendInitRequest(now);
            return;
        }

        if (m.Payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError()) is { } error)
        {
            Fail(now, $"IKE_SA_INIT failed: peer answered {error.NotifyType}");
            return;
        }

        var sa = m.Find<SecurityAssociationPayload>();
        var ke = m.Find<KeyExchangePayload>();
        var nonce = m.Find<NoncePayload>();
        if (sa is null || ke is null || nonce is null || m.ResponderSpi == 0)
        {
            throw IkeProtocolException.InvalidSyntax("IKE_SA_INIT response lacks SA, KE or Nonce");
        }

        var selected = ProposalNegotiation.ValidateResponse(Config.Proposals, sa, ProtocolId.Ike);
        if (selected is null || ke.Group != _keGroup || selected.OfType(TransformType.KeyExchange).Single().Id != (ushort)_keGroup)
        {
            Fail(now, "responder chose a proposal we did not offer");
            return;
        }

        _pending = null;
        SpiR = m.ResponderSpi;
        DetectNat(now, m, SpiI, SpiR);
        if (NatDetected && Remote.Port != _endpoint.Settings.NattPort)
        {
            // RFC 7296 §2.23: with a NAT in the path the initiator moves to port 4500 for IKE_AUTH onwards.
            Local = new IPEndPoint(Local.Address, _endpoint.Settings.NattPort);
            Remote = new IPEndPoint(Remote.Address, _endpoint.Settings.NattPort);
        }

        _nonceR = nonce.Nonce.ToArray();
        _initResponse = datagram;
        _ke!.SetPeerPublicKey(ke.Data.Span);
        DeriveKeys(selected);
        SendAuthRequest(now);
    }

    /// <summary>
    /// Compares the peer's NAT_DETECTION_* notifies with hashes of the addresses we see (RFC 7296 §2.23).
    /// A peer that fakes them (strongSwan's encap = yes, or kernel-libipsec) is treated as being behind a NAT.
    /// </summary>
    private void DetectNat(DateTimeOffset now, IkeMessage m, ulong spiI, ulong spiR)
    {
        // encap = yes: we told the peer we are behind a NAT, so both sides treat the path as NATed.
        NatDetected |= Config.ForceEncapsulation;
        var source = m.Notifies(NotifyType.NatDetectionSourceIp).ToList();
        var destination = m.Notifies(NotifyType.NatDetectionDestinationIp).FirstOrDefault();
        if (source.Count == 0 || destination is null)
        {
            return;
        }

        var peerSeen = NatHash(spiI, spiR, Remote);
        var usSeen = NatHash(spiI, spiR, Local);
        var peerBehindNat = !source.Any(n => n.Data.Span.SequenceEqual(peerSeen));
        var weBehindNat = !destination.Data.Span.SequenceEqual(usSeen) && !Local.Address.Equals(IPAddress.Any) && !Local.Address.Equals(IPAddress.IPv6Any);
        if (peerBehindNat || weBehindNat)
        {
            NatDetected = true;
            _endpoint.EmitAlert(now, Id, peerBehindNat ? "remote host is behind NAT" : "local host is behind NAT");
        }
    }

    /// <summary>RFC 7296 §2.23: once authenticated, the latest valid message's addresses are the ones to use.</summary>
    private void FollowPeer(IPEndPoint local, IPEndPoint remote)
    {
        if (!local.Equals(Local) || !remote.Equals(Remote))
        {
            if (local.Port == _endpoint.Settings.NattPort)
            {
                NatDetected = true;
            }

            Local = local;
            Remote = remote;
        }
    }

    private void DeriveKeys(AlgorithmProposal selected)
    {
        _ikeSelected = selected;
        var suite = ProposalNegotiation.Resolve(selected);
        var shared = _ke!.GetSharedSecret();
        var prf = suite.Prf!;
        var skeyseed = Ikev2KeySchedule.DeriveSkeyseed(prf, _nonceI, _nonceR, shared);
        var keys = Ikev2KeySchedule.DeriveKeys(prf, skeyseed, _nonceI, _nonceR, SpiI, SpiR,
            suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0);
        CryptographicOperations.ZeroMemory(skeyseed);
        _keys = new IkeSaKeys(suite, keys);
        _endpoint.Keylog?.Invoke(this, keys);
        _ke.Dispose();
        _ke = null;
    }

    // ------------------------------------------------------------------------------------------------
    // Initiator: IKE_AUTH
    // ------------------------------------------------------------------------------------------------

    private void SendAuthRequest(DateTimeOffset now)
    {
        var idi = new IdentificationPayload(true, Config.LocalId.Type, Config.LocalId.Value);
        var payloads = new List<IkePayload> { idi };
        if (Config.RemoteId is { } rid)
        {
            payloads.Add(new IdentificationPayload(false, rid.Type, rid.Value));
        }

        payloads.Add(new AuthenticationPayload(AuthMethod.SharedKeyMessageIntegrityCode, ComputeAuth(true, _initRequest, _nonceR, idi, out _)));
        if (Config.SendInitialContact)
        {
            payloads.Add(new NotifyPayload(NotifyType.InitialContact));
        }

        if (_pendingChild is { } child)
        {
            _pendingChildSpi = _endpoint.NewChildSpi();
            if (child.TransportMode)
            {
                payloads.Add(new NotifyPayload(NotifyType.UseTransportMode));
            }

            payloads.Add(ProposalNegotiation.ToPayload(child.EspProposals.Select(StripKe).ToList(), SpiBytes(_pendingChildSpi)));
            payloads.Add(new TrafficSelectorPayload(true, child.EffectiveLocalTs(Local.Address).Select(t => t.ToPayload()).ToList()));
            payloads.Add(new TrafficSelectorPayload(false, child.EffectiveRemoteTs(Remote.Address).Select(t => t.ToPayload()).ToList()));
        }

        var header = new IkeMessage { InitiatorSpi = SpiI, ResponderSpi = SpiR, ExchangeType = ExchangeType.IkeAuth, Flags = IkeHeaderFlags.Initiator, MessageId = 1 };
        SendRequest(now, ExchangeType.IkeAuth, _keys!.Protect(header, payloads, true, _endpoint.Entropy));
        _nextRequestId = 2;
    }

    /// <summary>In IKE_AUTH the first CHILD SA never carries a KE (RFC 7296 §1.2): drop PFS groups from ESP proposals.</summary>
    private static AlgorithmProposal StripKe(AlgorithmProposal p) =>
        new(p.Protocol, p.Transforms.Where(t => t.Type != TransformType.KeyExchange));

    private static byte[] SpiBytes(uint spi)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, spi);
        return b;
    }

    /// <summary>RFC 7296 §2.15 shared-key AUTH over RealMessage | peer's nonce | prf(SK_p, ID').</summary>
    private byte[] ComputeAuth(bool initiatorSide, byte[] realMessage, byte[] peerNonce, IdentificationPayload id, out bool haveSecret)
    {
        var keys = _keys!;
        var prf = keys.Suite.Prf!;
        var localSide = initiatorSide == IsOriginalInitiator;
        var secret = localSide
            ? _endpoint.Secrets.FindSharedKey(Config.LocalId, Config.RemoteId ?? RemoteIdentity)
            : _endpoint.Secrets.FindSharedKey(Config.LocalId, RemoteIdentity);
        haveSecret = secret is not null;
        var octets = Ikev2Auth.SignedOctets(prf, realMessage, peerNonce, initiatorSide ? keys.Keys.SK_pi : keys.Keys.SK_pr, id.GetBodyBytes());
        return Ikev2Auth.SharedKeyAuth(prf, secret ?? [], octets);
    }

    private void ProcessAuthResponse(DateTimeOffset now, List<IkePayload> payloads)
    {
        _pending = null;
        if (payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.AuthenticationFailed) is not null)
        {
            Fail(now, "peer reported AUTHENTICATION_FAILED");
            return;
        }

        var idr = payloads.OfType<IdentificationPayload>().FirstOrDefault(i => !i.IsInitiator);
        var auth = payloads.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idr is null || auth is null)
        {
            Fail(now, "IKE_AUTH response lacks IDr or AUTH");
            return;
        }

        RemoteIdentity = new Identity(idr.IdType, idr.Data.ToArray());
        if (Config.RemoteId is { } expected && !expected.Matches(RemoteIdentity))
        {
            Fail(now, $"peer identity '{RemoteIdentity}' does not match the configured '{expected}'");
            return;
        }

        var mine = ComputeAuth(false, _initResponse, _nonceI, idr, out _);
        if (auth.Method != AuthMethod.SharedKeyMessageIntegrityCode || !Ikev2Auth.Verify(mine, auth.Data.Span))
        {
            // RFC 7296 §2.21.2: the initiator deletes the IKE SA (an INFORMATIONAL with AUTHENTICATION_FAILED is optional).
            Fail(now, "AUTH payload of the responder did not verify");
            return;
        }

        Establish(now);
        if (_pendingChild is { } child)
        {
            var error = payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());
            var sa = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
            var tsi = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
            var tsr = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
            if (error is not null || sa is null || tsi is null || tsr is null)
            {
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Name}' was not created: {error?.NotifyType.ToString() ?? "incomplete response"}");
                return;
            }

            var selected = ProposalNegotiation.ValidateResponse(child.EspProposals.Select(StripKe).ToList(), sa, ProtocolId.Esp);
            if (selected is null || sa.Proposals[0].Spi.Length != 4)
            {
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Name}': responder chose a proposal we did not offer");
                return;
            }

            var transport = payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
            if (child.TransportMode != transport)
            {
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Name}': mode mismatch (we asked {(child.TransportMode ? "transport" : "tunnel")})");
                return;
            }

            var localTs = tsi.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
            var remoteTs = tsr.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
            InstallChild(now, child, _pendingChildSpi, BinaryPrimitives.ReadUInt32BigEndian(sa.Proposals[0].Spi.Span), selected, localTs, remoteTs, transport);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Responder: IKE_SA_INIT (called by the endpoint after its stateless checks) and IKE_AUTH
    // ------------------------------------------------------------------------------------------------

    internal byte[] RespondInit(DateTimeOffset now, byte[] request, IkeMessage m, AlgorithmProposal selected, byte proposalNumber, KeyExchangePayload ke, NoncePayload nonce)
    {
        State = IkeSaState.Connecting;
        _halfOpenDeadline = now + _endpoint.Settings.HalfOpenTimeout;
        _initRequest = request;
        _nonceI = nonce.Nonce.ToArray();
        _nonceR = _endpoint.NewNonce();
        _keGroup = ke.Group;
        _ke = KeyExchangeMethods.Create(ke.Group, _endpoint.Entropy);
        _ke.SetPeerPublicKey(ke.Data.Span); // validates the peer's value (RFC 6989)
        DetectNat(now, m, SpiI, 0);
        var response = new IkeMessage { InitiatorSpi = SpiI, ResponderSpi = SpiR, ExchangeType = ExchangeType.IkeSaInit, Flags = IkeHeaderFlags.Response, MessageId = 0 };
        response.Payloads.Add(ProposalNegotiation.Accepted(selected, proposalNumber, default));
        response.Payloads.Add(new KeyExchangePayload(ke.Group, _ke.GetPublicKey()));
        response.Payloads.Add(new NoncePayload(_nonceR));
        AddNatDetection(response, SpiI, SpiR);
        if (m.Notifies(NotifyType.SignatureHashAlgorithms).Any())
        {
            response.Payloads.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, new byte[] { 0, 2, 0, 3, 0, 4 }));
        }

        _initResponse = response.Encode();
        DeriveKeys(selected);
        _expectedPeerRequestId = 1;
        _lastResponse = (0, _initResponse);
        return _initResponse;
    }

    private List<IkePayload> RespondAuth(DateTimeOffset now, List<IkePayload> request, out bool destroy)
    {
        destroy = false;
        var idi = request.OfType<IdentificationPayload>().FirstOrDefault(i => i.IsInitiator);
        var auth = request.OfType<AuthenticationPayload>().FirstOrDefault();
        if (idi is null || auth is null)
        {
            // EAP (no AUTH from the initiator) is not implemented yet: answer as RFC 7296 §2.21.2 asks.
            destroy = true;
            _endpoint.EmitAlert(now, Id, "IKE_AUTH request without IDi/AUTH (EAP is not supported yet)");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        RemoteIdentity = new Identity(idi.IdType, idi.Data.ToArray());
        var config = _endpoint.FindConfigForIdentity(Config, RemoteIdentity, Remote);
        if (config is null)
        {
            destroy = true;
            _endpoint.EmitAlert(now, Id, $"no connection matches peer identity '{RemoteIdentity}'");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        Config = config;
        var expected = ComputeAuth(true, _initRequest, _nonceR, idi, out var haveSecret);
        if (!haveSecret || auth.Method != AuthMethod.SharedKeyMessageIntegrityCode || !Ikev2Auth.Verify(expected, auth.Data.Span))
        {
            destroy = true;
            _endpoint.EmitAlert(now, Id, haveSecret ? $"AUTH of '{RemoteIdentity}' did not verify (wrong pre-shared key?)" : $"no pre-shared key for '{RemoteIdentity}'");
            return [new NotifyPayload(NotifyType.AuthenticationFailed)];
        }

        var idr = new IdentificationPayload(false, Config.LocalId.Type, Config.LocalId.Value);
        var response = new List<IkePayload>
        {
            idr,
            new AuthenticationPayload(AuthMethod.SharedKeyMessageIntegrityCode, ComputeAuth(false, _initResponse, _nonceI, idr, out _)),
        };
        Establish(now);
        if (request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.InitialContact))
        {
            _endpoint.HandleInitialContact(now, this);
        }

        response.AddRange(RespondChild(now, request));
        return response;
    }

    /// <summary>Creates the CHILD SA of an IKE_AUTH request: proposal selection and TS narrowing (RFC 7296 §2.9).</summary>
    private List<IkePayload> RespondChild(DateTimeOffset now, List<IkePayload> request, byte[]? nonceI = null, byte[]? nonceR = null,
        KeyExchangePayload? ke = null, bool createChild = false)
    {
        var sa = request.OfType<SecurityAssociationPayload>().FirstOrDefault();
        var tsi = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
        var tsr = request.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
        if (sa is null || tsi is null || tsr is null)
        {
            return []; // childless IKE_AUTH (RFC 6023)
        }

        var theirTsi = tsi.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var theirTsr = tsr.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
        var transport = request.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
        // TSi is the initiator's side: narrow it with our remote_ts; TSr with our local_ts (§2.9).
        // strongSwan-like preference: a child whose own selectors are exactly the result is the most specific
        // match (a TCP-only child beats an any-protocol one for a TCP proposal); then one that needed no narrowing.
        var candidates = Config.Children
            .Select(c => (Child: c, Remote: Narrow(theirTsi, c.EffectiveRemoteTs(Remote.Address)), Local: Narrow(theirTsr, c.EffectiveLocalTs(Local.Address))))
            .Where(c => c.Remote.Count > 0 && c.Local.Count > 0)
            .OrderByDescending(c => c.Remote.SequenceEqual(c.Child.EffectiveRemoteTs(Remote.Address)) && c.Local.SequenceEqual(c.Child.EffectiveLocalTs(Local.Address)))
            .ThenByDescending(c => c.Remote.SequenceEqual(theirTsi) && c.Local.SequenceEqual(theirTsr))
            .ToList();
        foreach (var (child, remote, local) in candidates)
        {
            var ours = createChild ? child.EspProposals : child.EspProposals.Select(StripKe).ToList();
            var selection = ProposalNegotiation.Select(ours, sa.Proposals, ProtocolId.Esp);
            if (createChild && selection is null && ke is null)
            {
                // The peer offers no PFS: accept without it if our proposals allow that once the KE is removed.
                selection = ProposalNegotiation.Select(child.EspProposals.Select(StripKe).ToList(), sa.Proposals, ProtocolId.Esp);
            }

            if (selection is not { } s || s.PeerProposal.Spi.Length != 4)
            {
                continue;
            }

            byte[]? pfsSecret = null;
            KeyExchangePayload? keReply = null;
            if (s.Selected.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault() is { } group)
            {
                if (ke is null || ke.Group != group)
                {
                    return [InvalidKe(group)];
                }

                using var ourKe = KeyExchangeMethods.Create(group, _endpoint.Entropy);
                ourKe.SetPeerPublicKey(ke.Data.Span);
                keReply = new KeyExchangePayload(group, ourKe.GetPublicKey());
                pfsSecret = ourKe.GetSharedSecret().ToArray();
            }

            var useTransport = transport && child.TransportMode;
            var inbound = _endpoint.NewChildSpi();
            var outbound = BinaryPrimitives.ReadUInt32BigEndian(s.PeerProposal.Spi.Span);
            var installed = InstallChild(now, child, inbound, outbound, s.Selected, local, remote, useTransport, nonceI, nonceR, pfsSecret, weInitiatedExchange: createChild ? false : null);
            installed.UnconfirmedSinceRequest = createChild ? _expectedPeerRequestId : null;
            var reply = new List<IkePayload>();
            if (useTransport)
            {
                reply.Add(new NotifyPayload(NotifyType.UseTransportMode));
            }

            reply.Add(ProposalNegotiation.Accepted(s.Selected, s.PeerProposal.Number, SpiBytes(inbound)));
            if (createChild)
            {
                reply.Add(new NoncePayload(nonceR!));
                if (keReply is not null)
                {
                    reply.Add(keReply);
                }
            }

            reply.Add(new TrafficSelectorPayload(true, remote.Select(t => t.ToPayload()).ToList()));
            reply.Add(new TrafficSelectorPayload(false, local.Select(t => t.ToPayload()).ToList()));
            return reply;
        }

        if (candidates.Count > 0)
        {
            _endpoint.EmitAlert(now, Id, $"CHILD SA '{candidates[0].Child.Name}': no acceptable ESP proposal");
            return [new NotifyPayload(NotifyType.NoProposalChosen)];
        }

        _endpoint.EmitAlert(now, Id, "traffic selectors unacceptable: no CHILD SA configuration matches");
        return [new NotifyPayload(NotifyType.TsUnacceptable)];
    }

    private static List<TrafficSelectorRange> Narrow(List<TrafficSelectorRange> proposed, IReadOnlyList<TrafficSelectorRange> allowed)
    {
        var result = new List<TrafficSelectorRange>();
        foreach (var p in proposed)
        {
            foreach (var a in allowed)
            {
                if (p.Intersect(a) is { } i && !result.Contains(i))
                {
                    result.Add(i);
                }
            }
        }

        return result;
    }

    private ChildSa InstallChild(DateTimeOffset now, ChildConfig child, uint inboundSpi, uint outboundSpi, AlgorithmProposal selected,
        IReadOnlyList<TrafficSelectorRange> localTs, IReadOnlyList<TrafficSelectorRange> remoteTs, bool transport,
        byte[]? exchangeNonceI = null, byte[]? exchangeNonceR = null, byte[]? pfsSecret = null, bool? weInitiatedExchange = null)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        var keys = _keys!;
        // §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) with the nonces of the exchange that creates the SA.
        using var keymat = Ikev2KeySchedule.DeriveChildKeys(keys.Suite.Prf!, keys.Keys.SK_d, exchangeNonceI ?? _nonceI, exchangeNonceR ?? _nonceR,
            suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0, pfsSecret is null ? [] : [pfsSecret]);
        // KEYMAT is split initiator->responder first (§2.17); "initiator" is the initiator of this exchange.
        var iAmExchangeInitiator = weInitiatedExchange ?? IsOriginalInitiator;
        var outEnc = iAmExchangeInitiator ? keymat.EncryptionKeyInitiatorToResponder : keymat.EncryptionKeyResponderToInitiator;
        var outInt = iAmExchangeInitiator ? keymat.IntegrityKeyInitiatorToResponder : keymat.IntegrityKeyResponderToInitiator;
        var inEnc = iAmExchangeInitiator ? keymat.EncryptionKeyResponderToInitiator : keymat.EncryptionKeyInitiatorToResponder;
        var inInt = iAmExchangeInitiator ? keymat.IntegrityKeyResponderToInitiator : keymat.IntegrityKeyInitiatorToResponder;
        var childSa = new ChildSa
        {
            Config = child,
            InboundSpi = inboundSpi,
            OutboundSpi = outboundSpi,
            Suite = suite,
            LocalTs = localTs,
            RemoteTs = remoteTs,
            TransportMode = transport,
            Installed = now,
            RekeyAt = child.RekeyTime > TimeSpan.Zero ? now + child.RekeyTime - Jitter(child) : DateTimeOffset.MaxValue,
            ExpireAt = child.LifeTime > TimeSpan.Zero ? now + child.LifeTime : DateTimeOffset.MaxValue,
        };
        _children.Add(childSa);
        var encr = selected.OfType(TransformType.Encryption).Single();
        _endpoint.Emit(new ChildSaInstall(now, Id, Config.Name, child.Name, inboundSpi, outboundSpi, transport, NatDetected || Local.Port == _endpoint.Settings.NattPort,
            (EncrId)encr.Id, encr.KeyLengthBits, suite.Integrity?.Id ?? IntegId.None, suite.Esn,
            (byte[])inEnc.Clone(), (byte[])inInt.Clone(), (byte[])outEnc.Clone(), (byte[])outInt.Clone(),
            localTs, remoteTs, Local, Remote, child.RekeyTime, child.LifeTime));
        return childSa;
    }

    /// <summary>
    /// swanctl rand_time: a random part of it is taken off rekey_time so that two peers with the same settings
    /// rarely rekey at once (default: life_time - rekey_time).
    /// </summary>
    private TimeSpan Jitter(ChildConfig child)
    {
        var range = child.RandTime ?? (child.LifeTime - child.RekeyTime);
        if (range <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var jitter = range * RandomFraction();
        return jitter < child.RekeyTime ? jitter : TimeSpan.Zero;
    }

    private void Establish(DateTimeOffset now)
    {
        State = IkeSaState.Established;
        EstablishedAt = now;
        _lastInbound = now;
        _halfOpenDeadline = DateTimeOffset.MaxValue;
        ScheduleIkeRekey(now);
        _endpoint.Emit(new IkeSaUp(now, Id, Config.Name, SpiI, SpiR, IsOriginalInitiator, Local, Remote,
            ProposalString.Format(_ikeSelected!), Config.LocalId.ToString(), RemoteIdentity?.ToString() ?? string.Empty));
    }

    // ------------------------------------------------------------------------------------------------
    // Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18): a CREATE_CHILD_SA with an IKE proposal makes a successor
    // with new SPIs and keys from SK_d; the CHILD SAs move over; the rekey's initiator deletes the old SA.
    // ------------------------------------------------------------------------------------------------

    private sealed class IkeRekeyExchange : IDisposable
    {
        public required ulong Spi { get; init; }

        public required byte[] Nonce { get; init; }

        public required Crypto.KeyExchange.KeyExchange Ke { get; set; }

        public bool RetriedKe { get; set; }

        public void Dispose() => Ke.Dispose();
    }

    private IkeRekeyExchange? _ikeRekey;

    /// <summary>When this side rekeys the IKE SA (swanctl rekey_time minus up to 10% at random); MaxValue: never.</summary>
    public DateTimeOffset IkeRekeyAt { get; internal set; } = DateTimeOffset.MaxValue;

    /// <summary>This SA was replaced by a rekey: its CHILD SAs live in the successor; it only waits to be deleted.</summary>
    private DateTimeOffset? _rekeyedAway;

    private void ScheduleIkeRekey(DateTimeOffset now)
    {
        if (Config.RekeyTime <= TimeSpan.Zero)
        {
            IkeRekeyAt = DateTimeOffset.MaxValue;
            return;
        }

        // swanctl's rand_time for IKE defaults to over_time, 10% of rekey_time.
        var jitter = Config.RekeyTime * 0.1 * RandomFraction();
        IkeRekeyAt = now + Config.RekeyTime - jitter;
    }

    private bool IkeRekeyDue(DateTimeOffset now) => State == IkeSaState.Established && _rekeyedAway is null && _ikeRekey is null && now >= IkeRekeyAt;

    private void StartIkeRekey(DateTimeOffset now, KeId? forcedGroup = null, IkeRekeyExchange? retry = null)
    {
        var group = forcedGroup ?? _ikeSelected!.OfType(TransformType.KeyExchange).Select(t => (KeId)t.Id).First();
        var ke = KeyExchangeMethods.Create(group, _endpoint.Entropy);
        var exchange = retry ?? new IkeRekeyExchange { Spi = _endpoint.NewIkeSpi(), Nonce = _endpoint.NewNonce(), Ke = ke };
        if (retry is not null)
        {
            retry.Ke.Dispose(); // a retry after INVALID_KE_PAYLOAD keeps SPI and nonce, with a key of the wanted group
            retry.Ke = ke;
        }

        _ikeRekey = exchange;
        var spi = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(spi, exchange.Spi);
        SendProtectedRequest(now, ExchangeType.CreateChildSa,
        [
            ProposalNegotiation.ToPayload(Config.Proposals, spi, group),
            new NoncePayload(exchange.Nonce),
            new KeyExchangePayload(group, exchange.Ke.GetPublicKey()),
        ]);
    }

    private void ProcessIkeRekeyResponse(DateTimeOffset now, List<IkePayload> payloads)
    {
        _pending = null;
        var exchange = _ikeRekey!;
        _ikeRekey = null;
        var keep = false;
        try
        {
            if (!exchange.RetriedKe && RequestedGroup(payloads, Config.Proposals) is { } wanted)
            {
                exchange.RetriedKe = true;
                keep = true;
                StartIkeRekey(now, wanted, exchange);
                return;
            }

            var error = payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());
            var sa = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
            var nonce = payloads.OfType<NoncePayload>().FirstOrDefault();
            var ke = payloads.OfType<KeyExchangePayload>().FirstOrDefault();
            var selected = sa is null ? null : ProposalNegotiation.ValidateResponse(Config.Proposals, sa, ProtocolId.Ike);
            if (error is not null || selected is null || nonce is null || ke is null || sa!.Proposals[0].Spi.Length != 8
                || selected.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault() != ke.Group || ke.Group != exchange.Ke.Method)
            {
                // §2.25: TEMPORARY_FAILURE (e.g. a collision) means "retry shortly"; anything else, later.
                var retry = error?.NotifyType == NotifyType.TemporaryFailure ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(60);
                IkeRekeyAt = now + retry + TimeSpan.FromSeconds(5 * RandomFraction());
                if (error?.NotifyType != NotifyType.TemporaryFailure)
                {
                    _endpoint.EmitAlert(now, Id, $"rekeying the IKE SA failed ({error?.NotifyType.ToString() ?? "unacceptable response"}): retrying");
                }

                return;
            }

            exchange.Ke.SetPeerPublicKey(ke.Data.Span);
            var shared = exchange.Ke.GetSharedSecret();
            var peerSpi = BinaryPrimitives.ReadUInt64BigEndian(sa.Proposals[0].Spi.Span);
            CreateSuccessor(now, initiator: true, exchange.Spi, peerSpi, selected, exchange.Nonce, nonce.Nonce.ToArray(), shared);
            // The initiator of the rekey deletes the old IKE SA (§2.18), with the old keys.
            State = IkeSaState.Deleting;
            SendInformational(now, [DeletePayload.ForIke()]);
        }
        finally
        {
            if (!keep)
            {
                exchange.Dispose();
            }
        }
    }

    /// <summary>The peer rekeys the IKE SA: answer with our SPI, nonce and KE, and hand everything to the successor.</summary>
    private List<IkePayload> RespondIkeRekey(DateTimeOffset now, List<IkePayload> request, SecurityAssociationPayload sa)
    {
        if (_ikeRekey is not null || _rekeyedAway is not null)
        {
            return [new NotifyPayload(NotifyType.TemporaryFailure)]; // ours is in flight (or done): the peer retries
        }

        if (_childExchange is not null || _deletingChild is not null)
        {
            // Our CHILD rekey/create or CHILD delete is in flight on this SA: its response would land on an SA whose
            // CHILD SAs had moved to the successor, and the two sides would disagree about them (RFC 7296 §2.25;
            // strongSwan refuses an IKE rekey while a CHILD SA is half-open, too). The peer retries shortly.
            return [new NotifyPayload(NotifyType.TemporaryFailure)];
        }

        var nonce = request.OfType<NoncePayload>().FirstOrDefault();
        var ke = request.OfType<KeyExchangePayload>().FirstOrDefault();
        if (nonce is null || ke is null)
        {
            throw IkeProtocolException.InvalidSyntax("IKE SA rekey without nonce or KE");
        }

        if (ProposalNegotiation.Select(Config.Proposals, sa.Proposals, ProtocolId.Ike) is not { } selection || selection.PeerProposal.Spi.Length != 8)
        {
            _endpoint.EmitAlert(now, Id, "peer's IKE SA rekey proposals are not acceptable");
            return [new NotifyPayload(NotifyType.NoProposalChosen)];
        }

        var group = selection.Selected.OfType(TransformType.KeyExchange).Select(t => (KeId)t.Id).First();
        if (ke.Group != group)
        {
            return [InvalidKe(group)];
        }

        using var ours = KeyExchangeMethods.Create(group, _endpoint.Entropy);
        ours.SetPeerPublicKey(ke.Data.Span);
        var shared = ours.GetSharedSecret();
        var nonceR = _endpoint.NewNonce();
        var spiR = _endpoint.NewIkeSpi();
        var peerSpi = BinaryPrimitives.ReadUInt64BigEndian(selection.PeerProposal.Spi.Span);
        CreateSuccessor(now, initiator: false, peerSpi, spiR, selection.Selected, nonce.Nonce.ToArray(), nonceR, shared);
        State = IkeSaState.Deleting; // the peer deletes this one
        var spi = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(spi, spiR);
        return [ProposalNegotiation.Accepted(selection.Selected, selection.PeerProposal.Number, spi), new NoncePayload(nonceR), new KeyExchangePayload(group, ours.GetPublicKey())];
    }

    /// <summary>
    /// Builds the rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), SK_* = prf+(SKEYSEED, Ni | Nr |
    /// SPIi | SPIr) with the new SPIs (§2.18); message IDs restart at 0; the CHILD SAs and queued work move over.
    /// The successor keeps this SA's unique ID, so that the host sees one IKE SA whose SPIs changed.
    /// </summary>
    private void CreateSuccessor(DateTimeOffset now, bool initiator, ulong spiI, ulong spiR, AlgorithmProposal selected, byte[] nonceI, byte[] nonceR, byte[] shared)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        var skeyseed = Ikev2KeySchedule.DeriveRekeySkeyseed(_keys!.Suite.Prf!, _keys.Keys.SK_d, shared, nonceI, nonceR);
        var keys = Ikev2KeySchedule.DeriveKeys(suite.Prf!, skeyseed, nonceI, nonceR, spiI, spiR, suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0);
        CryptographicOperations.ZeroMemory(skeyseed);
        CryptographicOperations.ZeroMemory(shared);
        var next = new IkeSa(_endpoint, Id, Config, initiator, spiI, spiR, Local, Remote, now)
        {
            _keys = new IkeSaKeys(suite, keys),
            _ikeSelected = selected,
            State = IkeSaState.Established,
            EstablishedAt = now,
            RemoteIdentity = RemoteIdentity,
            NatDetected = NatDetected,
            _lastInbound = now,
            _nonceI = nonceI,
            _nonceR = nonceR,
        };
        next._children.AddRange(_children);
        foreach (var c in _children)
        {
            // Message IDs restart with the new SA. The rekey could only complete with no CHILD exchange of the peer's
            // pending (it would have answered TEMPORARY_FAILURE), so the peer has every answer we sent.
            c.UnconfirmedSinceRequest = null;
        }

        _children.Clear();
        while (_childQueue.TryDequeue(out var queued))
        {
            next._childQueue.Enqueue(queued);
        }

        while (_rekeyQueue.TryDequeue(out var rekey))
        {
            next._rekeyQueue.Enqueue(rekey);
        }

        while (_deleteQueue.TryDequeue(out var delete))
        {
            next._deleteQueue.Enqueue(delete);
        }

        next.ScheduleIkeRekey(now);
        _rekeyedAway = now;
        _endpoint.Register(next);
        _endpoint.Keylog?.Invoke(next, keys);
        _endpoint.Emit(new IkeSaRekeyed(now, Id, Config.Name, SpiI, SpiR, spiI, spiR));
        // A terminate that waited for the rekey applies to the SA that lives on. It goes out from the successor's
        // next timeout, after the rekey's response (a rekey responder's delete must not overtake it).
        next._deleteQueued = _deleteQueued;
        _deleteQueued = false;
        // The rekey's initiator has the peer's response: the peer holds the new SA. Its responder waits for proof.
        next._peerKnowsSa = initiator;
    }

    // ------------------------------------------------------------------------------------------------
    // CREATE_CHILD_SA: additional CHILD SAs (RFC 7296 §1.3.1), with optional PFS
    // ------------------------------------------------------------------------------------------------

    private readonly Queue<ChildConfig> _childQueue = new();
    private ChildExchange? _childExchange;

    private sealed class ChildExchange
    {
        public required ChildConfig Config { get; init; }

        public required uint Spi { get; init; }

        public required byte[] Nonce { get; init; }

        public Crypto.KeyExchange.KeyExchange? Ke { get; set; }

        public bool RetriedKe { get; set; }

        /// <summary>The CHILD SA this exchange rekeys (REKEY_SA, RFC 7296 §1.3.3); null for a new one.</summary>
        public ChildSa? Rekey { get; init; }

        /// <summary>When the rekey was sent, the peer had not yet shown it holds the SA (see <see cref="ChildSa.UnconfirmedSinceRequest"/>).</summary>
        public bool RekeyOfUnconfirmed { get; init; }
    }

    private readonly Queue<ChildSa> _rekeyQueue = new();
    private readonly Queue<ChildSa> _deleteQueue = new();

    /// <summary>Creates another CHILD SA on this established IKE SA (queued while another exchange is pending).</summary>
    public void CreateChild(DateTimeOffset now, ChildConfig child)
    {
        ArgumentNullException.ThrowIfNull(child);
        _childQueue.Enqueue(child);
        StartNextChild(now);
    }

    /// <summary>Starts the next queued CHILD SA if the window is free (RFC 7296 §2.3: one request at a time).</summary>
    private void StartNextChild(DateTimeOffset now)
    {
        if (State != IkeSaState.Established || _pending is not null)
        {
            return;
        }

        if (_deleteQueued)
        {
            _deleteQueued = false;
            Terminate(now);
            return;
        }

        if (IkeRekeyDue(now))
        {
            StartIkeRekey(now);
            return;
        }

        if (_deleteQueue.TryDequeue(out var gone))
        {
            // §1.4.1: we list our inbound SPI; the CHILD SA leaves when the peer answers with its half.
            _deletingChild = gone;
            SendInformational(now, [DeletePayload.ForChildSas(ProtocolId.Esp, [gone.InboundSpi])]);
            return;
        }

        while (_rekeyQueue.TryDequeue(out var old))
        {
            if (_children.Contains(old) && !old.Replaced)
            {
                old.Replaced = true;
                SendCreateChild(now, new ChildExchange { Config = old.Config, Spi = _endpoint.NewChildSpi(), Nonce = _endpoint.NewNonce(), Rekey = old, RekeyOfUnconfirmed = old.UnconfirmedSinceRequest is not null }, null);
                return;
            }
        }

        if (_childQueue.TryDequeue(out var child))
        {
            SendCreateChild(now, new ChildExchange { Config = child, Spi = _endpoint.NewChildSpi(), Nonce = _endpoint.NewNonce() }, null);
        }
    }

    private ChildSa? _deletingChild;

    /// <summary>Terminate was asked for while an exchange was pending: the delete follows when the window frees.</summary>
    private bool _deleteQueued;

    /// <summary>An authenticated message of the peer showed that it holds this SA (not yet true of a fresh rekey successor).</summary>
    private bool _peerKnowsSa;

    /// <summary>Sends (or, after INVALID_KE_PAYLOAD, resends with <paramref name="forcedGroup"/>) a CREATE_CHILD_SA request.</summary>
    private void SendCreateChild(DateTimeOffset now, ChildExchange exchange, KeId? forcedGroup)
    {
        var child = exchange.Config;
        var pfsGroup = forcedGroup ?? child.EspProposals.SelectMany(p => p.OfType(TransformType.KeyExchange)).Select(t => (KeId?)t.Id).FirstOrDefault();
        exchange.Ke?.Dispose();
        exchange.Ke = pfsGroup is { } g ? KeyExchangeMethods.Create(g, _endpoint.Entropy) : null;
        _childExchange = exchange;

        var payloads = new List<IkePayload>();
        if (exchange.Rekey is { } old)
        {
            // §1.3.3: the notify names the SA being rekeyed by the SPI the peer sends to us.
            payloads.Add(new NotifyPayload(ProtocolId.Esp, SpiBytes(old.InboundSpi), NotifyType.RekeySa, default));
        }

        if (child.TransportMode)
        {
            payloads.Add(new NotifyPayload(NotifyType.UseTransportMode));
        }

        payloads.Add(ProposalNegotiation.ToPayload(child.EspProposals, SpiBytes(exchange.Spi), pfsGroup));
        payloads.Add(new NoncePayload(exchange.Nonce));
        if (exchange.Ke is { } ke)
        {
            payloads.Add(new KeyExchangePayload(ke.Method, ke.GetPublicKey()));
        }

        // A rekey proposes the selectors the old SA ended up with (§2.8), a new SA those of its configuration.
        var tsi = exchange.Rekey?.LocalTs ?? child.EffectiveLocalTs(Local.Address);
        var tsr = exchange.Rekey?.RemoteTs ?? child.EffectiveRemoteTs(Remote.Address);
        payloads.Add(new TrafficSelectorPayload(true, tsi.Select(t => t.ToPayload()).ToList()));
        payloads.Add(new TrafficSelectorPayload(false, tsr.Select(t => t.ToPayload()).ToList()));
        SendProtectedRequest(now, ExchangeType.CreateChildSa, payloads);
    }

    private void ProcessCreateChildResponse(DateTimeOffset now, List<IkePayload> payloads)
    {
        _pending = null;
        var exchange = _childExchange!;
        _childExchange = null;
        var child = exchange.Config;
        try
        {
            if (!exchange.RetriedKe && RequestedGroup(payloads, child.EspProposals) is { } wanted)
            {
                exchange.RetriedKe = true;
                SendCreateChild(now, exchange, wanted);
                return;
            }

            var error = payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());
            var sa = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
            var nonce = payloads.OfType<NoncePayload>().FirstOrDefault();
            var tsi = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
            var tsr = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
            if (error is not null || sa is null || nonce is null || tsi is null || tsr is null)
            {
                if (exchange.Rekey is { } failed)
                {
                    RekeyFailed(now, failed, error?.NotifyType, exchange.RekeyOfUnconfirmed);
                    return;
                }

                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Name}' was not created: {error?.NotifyType.ToString() ?? "incomplete response"}");
                return;
            }

            var selected = ProposalNegotiation.ValidateResponse(child.EspProposals, sa, ProtocolId.Esp);
            var ke = payloads.OfType<KeyExchangePayload>().FirstOrDefault();
            var selectedGroup = selected?.OfType(TransformType.KeyExchange).Select(t => (KeId?)t.Id).FirstOrDefault();
            if (selected is null || sa.Proposals[0].Spi.Length != 4 || selectedGroup != exchange.Ke?.Method || (exchange.Ke is not null && ke?.Group != exchange.Ke.Method))
            {
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Name}': responder chose a proposal we did not offer");
                if (exchange.Rekey is { } failed)
                {
                    RekeyFailed(now, failed, NotifyType.NoProposalChosen, exchange.RekeyOfUnconfirmed);
                }

                return;
            }

            byte[]? shared = null;
            if (exchange.Ke is { } ourKe)
            {
                ourKe.SetPeerPublicKey(ke!.Data.Span);
                shared = ourKe.GetSharedSecret();
            }

            var transport = payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
            var nonceR = nonce.Nonce.ToArray();
            var installed = InstallChild(now, child, exchange.Spi, BinaryPrimitives.ReadUInt32BigEndian(sa.Proposals[0].Spi.Span), selected,
                tsi.Selectors.Where(t => t.IsIp).Select(TrafficSelectorRange.FromPayload).ToList(),
                tsr.Selectors.Where(t => t.IsIp).Select(TrafficSelectorRange.FromPayload).ToList(),
                transport, exchange.Nonce, nonceR, shared, weInitiatedExchange: true);
            if (exchange.Rekey is { } old)
            {
                FinishRekey(old, installed, exchange.Nonce, nonceR);
            }
        }
        finally
        {
            if (_childExchange is null)
            {
                exchange.Ke?.Dispose();
                StartNextChild(now);
            }
        }
    }

    /// <summary>
    /// Our rekey of <paramref name="old"/> produced <paramref name="successor"/>. Without a collision the old SA is
    /// deleted now (its inbound half stays installed until the peer confirms). If the peer rekeyed the same SA at the
    /// same time (§2.8.1), the new SA created with the lowest of the four nonces is redundant and its creator deletes
    /// it; the creator of the surviving one deletes the old SA.
    /// </summary>
    private void FinishRekey(ChildSa old, ChildSa successor, byte[] nonceI, byte[] nonceR)
    {
        // The collision is resolved even if the old SA is already gone: when our response was delayed, the peer
        // may have finished its rekey and deleted the old SA before we learn our new SA is the redundant one. The
        // nonces alone decide (both sides compute the same answer), also when the peer's new SA has since been
        // rekeyed or deleted in turn.
        if (old.PeerRekey is { } theirs)
        {
            var oursLowest = Lowest(nonceI, nonceR);
            var theirsLowest = Lowest(theirs.NonceI, theirs.NonceR);
            if (oursLowest.AsSpan().SequenceCompareTo(theirsLowest) < 0)
            {
                successor.Replaced = true;
                _deleteQueue.Enqueue(successor); // ours is redundant; the peer deletes the old SA
                return;
            }
        }

        if (_children.Contains(old))
        {
            _deleteQueue.Enqueue(old); // (if it expired or the peer deleted it meanwhile, nothing is left to delete)
        }
    }

    private static byte[] Lowest(byte[] a, byte[] b) => a.AsSpan().SequenceCompareTo(b) <= 0 ? a : b;

    /// <summary>A rekey the peer refused: try again later (TEMPORARY_FAILURE, errors) or start over (CHILD_SA_NOT_FOUND).</summary>
    private void RekeyFailed(DateTimeOffset now, ChildSa old, NotifyType? error, bool peerMayNotHaveIt)
    {
        if (!_children.Contains(old))
        {
            if (error != NotifyType.ChildSaNotFound)
            {
                // The CHILD SA moved to the successor of a rekeyed IKE SA meanwhile: it still needs its rekey there.
                old.Replaced = false;
                old.RekeyAt = now + TimeSpan.FromSeconds(5 + (5 * RandomFraction()));
            }

            return;
        }

        if (error == NotifyType.ChildSaNotFound && old.UnconfirmedSinceRequest is null && !peerMayNotHaveIt)
        {
            // §2.25: the peer has no such SA; ours is useless. Replace it with a fresh one. (Not for an SA we created
            // answering the peer and that the peer may not have installed yet: our answer may still be on its way,
            // and dropping our half now would orphan the peer's once it arrives. That one is retried below.)
            _endpoint.EmitAlert(now, Id, $"CHILD SA '{old.Config.Name}' unknown to the peer: creating a new one");
            RemoveChild(now, old);
            _childQueue.Enqueue(old.Config);
            return;
        }

        // §2.25: TEMPORARY_FAILURE (a collision, or an exchange in progress) means "retry in a few seconds".
        old.Replaced = false;
        var soon = error is NotifyType.TemporaryFailure or NotifyType.ChildSaNotFound;
        var retry = soon ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30);
        old.RekeyAt = now + retry + TimeSpan.FromSeconds(5 * RandomFraction());
        if (!soon)
        {
            _endpoint.EmitAlert(now, Id, $"rekeying CHILD SA '{old.Config.Name}' failed ({error?.ToString() ?? "incomplete response"}): retrying");
        }
    }

    /// <summary>A uniform fraction in [0, 1] from the injected entropy (jitter for rekey and retry times).</summary>
    private double RandomFraction()
    {
        Span<byte> r = stackalloc byte[4];
        _endpoint.Entropy.Fill(r);
        return BinaryPrimitives.ReadUInt32BigEndian(r) / (double)uint.MaxValue;
    }

    /// <summary>RFC 7296 §1.3 / §1.2: INVALID_KE_PAYLOAD naming the group we selected.</summary>
    private static NotifyPayload InvalidKe(KeId group)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)group);
        return new NotifyPayload(NotifyType.InvalidKePayload, data);
    }

    /// <summary>The group an INVALID_KE_PAYLOAD in a response asks for, if it is one we offered (else null: a failure).</summary>
    private static KeId? RequestedGroup(List<IkePayload> payloads, IEnumerable<AlgorithmProposal> offered)
    {
        if (payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.InvalidKePayload) is not { Data.Length: 2 } invalidKe)
        {
            return null;
        }

        var wanted = (KeId)BinaryPrimitives.ReadUInt16BigEndian(invalidKe.Data.Span);
        return offered.Any(p => p.OfType(TransformType.KeyExchange).Any(t => t.Id == (ushort)wanted)) ? wanted : null;
    }

    private List<IkePayload> RespondCreateChild(DateTimeOffset now, List<IkePayload> request)
    {
        if (request.OfType<SecurityAssociationPayload>().FirstOrDefault() is { } ikeSa && ikeSa.Proposals.Any(p => p.Protocol == ProtocolId.Ike))
        {
            return RespondIkeRekey(now, request, ikeSa);
        }

        var nonce = request.OfType<NoncePayload>().FirstOrDefault();
        if (nonce is null)
        {
            throw IkeProtocolException.InvalidSyntax("CREATE_CHILD_SA request without a nonce");
        }

        if (_ikeRekey is not null || _rekeyedAway is not null)
        {
            // RFC 7296 §2.25.2: a request to create or rekey a CHILD SA while we rekey the IKE SA (or after it was
            // rekeyed away) gets TEMPORARY_FAILURE; the SA would otherwise be made on keys about to go.
            return [new NotifyPayload(NotifyType.TemporaryFailure)];
        }

        ChildSa? old = null;
        if (request.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == NotifyType.RekeySa) is { } rekey)
        {
            if (rekey.Protocol is not (ProtocolId.Esp or ProtocolId.Ah) || rekey.Spi.Length != 4)
            {
                throw IkeProtocolException.InvalidSyntax("REKEY_SA without an ESP/AH SPI");
            }

            // The SPI is the one the peer receives on: our outbound SPI of that SA.
            var spi = BinaryPrimitives.ReadUInt32BigEndian(rekey.Spi.Span);
            old = _children.FirstOrDefault(c => c.OutboundSpi == spi);
            if (old is null)
            {
                return [new NotifyPayload(rekey.Protocol, rekey.Spi, NotifyType.ChildSaNotFound, default)];
            }

            if (old.Replaced && _childExchange?.Rekey != old)
            {
                // We already replaced it (our delete is on its way) or are deleting it: §2.25, try later.
                return [new NotifyPayload(NotifyType.TemporaryFailure)];
            }
        }

        var nonceI = nonce.Nonce.ToArray();
        var nonceR = _endpoint.NewNonce();
        var ke = request.OfType<KeyExchangePayload>().FirstOrDefault();
        var before = _children.Count;
        var response = RespondChild(now, request, nonceI, nonceR, ke, createChild: true);
        if (old is not null && _children.Count > before)
        {
            var successor = _children[^1];
            if (old.Replaced)
            {
                old.PeerRekey = (nonceI, nonceR, successor); // we are rekeying it too: resolved when our response comes
            }
            else
            {
                old.Replaced = true; // the peer deletes it once it has the new one
            }
        }

        return response;
    }

        // ------------------------------------------------------------------------------------------------
    // Delete and liveness
    // ------------------------------------------------------------------------------------------------

    /// <summary>Starts an INFORMATIONAL exchange deleting this IKE SA (and with it every CHILD SA).</summary>
    public void Terminate(DateTimeOffset now)
    {
        if (State == IkeSaState.Established && _pending is not null && _rekeyedAway is null)
        {
            // Window size 1 (RFC 7296 §2.3): the delete goes out when the pending exchange ends. Destroying the SA
            // here would leave the peer holding it until its own DPD gave up on us.
            _deleteQueued = true;
            return;
        }

        if (State != IkeSaState.Established || _pending is not null)
        {
            Destroy(now, "terminated");
            return;
        }

        State = IkeSaState.Deleting;
        SendInformational(now, [DeletePayload.ForIke()]);
    }

    /// <summary>Sends an empty INFORMATIONAL request (a liveness check, RFC 7296 §1.4).</summary>
    public bool SendLivenessCheck(DateTimeOffset now)
    {
        if (State != IkeSaState.Established || _pending is not null)
        {
            return false;
        }

        SendInformational(now, []);
        return true;
    }

    private void SendInformational(DateTimeOffset now, List<IkePayload> payloads)
    {
        SendProtectedRequest(now, ExchangeType.Informational, payloads);
        _pending!.DeletesIkeSa = payloads.OfType<DeletePayload>().Any(d => d.Protocol == ProtocolId.Ike);
    }

    /// <summary>Sends a request of an established SA with the next message ID of ours (RFC 7296 §2.3).</summary>
    private void SendProtectedRequest(DateTimeOffset now, ExchangeType exchange, List<IkePayload> payloads)
    {
        var id = _nextRequestId;
        var header = new IkeMessage
        {
            InitiatorSpi = SpiI,
            ResponderSpi = SpiR,
            ExchangeType = exchange,
            Flags = IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None,
            MessageId = id,
        };
        SendRequest(now, exchange, _keys!.Protect(header, payloads, IsOriginalInitiator, _endpoint.Entropy));
        _nextRequestId = id + 1;
    }

    private List<IkePayload> RespondInformational(DateTimeOffset now, List<IkePayload> request, out bool destroy)
    {
        destroy = false;
        var response = new List<IkePayload>();
        foreach (var d in request.OfType<DeletePayload>())
        {
            if (d.Protocol == ProtocolId.Ike)
            {
                // RFC 7296 §1.4.1: answer with an empty INFORMATIONAL, then the IKE SA and its children are gone.
                destroy = true;
                return [];
            }

            if (d.Protocol is ProtocolId.Esp or ProtocolId.Ah)
            {
                var ours = new List<uint>();
                foreach (var spi in d.GetSpis32())
                {
                    var child = _children.FirstOrDefault(c => c.OutboundSpi == spi);
                    if (child is not null)
                    {
                        ours.Add(child.InboundSpi);
                        RemoveChild(now, child);
                    }
                }

                if (ours.Count > 0)
                {
                    response.Add(DeletePayload.ForChildSas(d.Protocol, ours));
                }
            }
        }

        return response;
    }

    private void RemoveChild(DateTimeOffset now, ChildSa child)
    {
        _children.Remove(child);
        _endpoint.Emit(new ChildSaRemove(now, Id, child.Config.Name, child.InboundSpi, child.OutboundSpi));
    }

    // ------------------------------------------------------------------------------------------------
    // Message handling, retransmission
    // ------------------------------------------------------------------------------------------------

    private void SendRequest(DateTimeOffset now, ExchangeType exchange, byte[] datagram)
    {
        _pending = new PendingRequest { MessageId = _nextRequestId, Datagram = datagram, Exchange = exchange, Deadline = now + _endpoint.Settings.RetransmitTimeout };
        _endpoint.Send(Local, Remote, datagram);
    }

    internal void HandleMessage(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote)
    {
        if (m.IsResponse)
        {
            HandleResponse(now, m, datagram, local, remote);
        }
        else
        {
            HandleRequest(now, m, datagram, local, remote);
        }
    }

    private void HandleResponse(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote)
    {
        if (_pending is null || m.MessageId != _pending.MessageId || m.ExchangeType != _pending.Exchange)
        {
            throw IkeProtocolException.Drop($"unexpected {m.ExchangeType} response with message ID {m.MessageId}");
        }

        switch (_pending.Exchange)
        {
            case ExchangeType.IkeSaInit:
                ProcessInitResponse(now, m, datagram);
                break;
            case ExchangeType.IkeAuth:
            {
                var inner = _keys!.Unprotect(datagram, m, !IsOriginalInitiator);
                FollowPeer(local, remote);
                _peerKnowsSa = true;
                NoteInboundTraffic(now);
                ProcessAuthResponse(now, inner);
                break;
            }

            case ExchangeType.CreateChildSa:
            {
                var inner = _keys!.Unprotect(datagram, m, !IsOriginalInitiator);
                FollowPeer(local, remote);
                _peerKnowsSa = true;
                NoteInboundTraffic(now);
                if (_ikeRekey is not null)
                {
                    ProcessIkeRekeyResponse(now, inner);
                }
                else
                {
                    ProcessCreateChildResponse(now, inner);
                }

                break;
            }

            case ExchangeType.Informational when _pending.DeletesIkeSa && _peerKnowsSa && m.Find<EncryptedPayload>() is null
                && m.Notifies(NotifyType.InvalidIkeSpi).Any():
                // Our delete was processed but its response lost: the peer, which did hold the SA, no longer knows it
                // and answers a retransmission with an unprotected INVALID_IKE_SPI (§2.21.4). Unauthenticated, but it
                // can only hasten a deletion we started anyway; otherwise the SA would linger for the whole
                // retransmission schedule.
                _pending = null;
                Destroy(now, "deleted (the peer had already removed it)");
                break;
            case ExchangeType.Informational:
                _keys!.Unprotect(datagram, m, !IsOriginalInitiator);
                FollowPeer(local, remote);
                _peerKnowsSa = true;
                NoteInboundTraffic(now);
                var ikeDeleted = _pending.DeletesIkeSa;
                _pending = null;
                if (ikeDeleted)
                {
                    Destroy(now, "deleted");
                }
                else if (_deletingChild is { } deleted)
                {
                    _deletingChild = null;
                    if (_children.Contains(deleted))
                    {
                        RemoveChild(now, deleted);
                    }
                }

                break;
            default:
                throw IkeProtocolException.Drop($"response to unsupported exchange {_pending.Exchange}");
        }

        // Window size 1 (RFC 7296 §2.3): CHILD SA work queued behind this exchange starts now.
        if (_pending is null)
        {
            StartNextChild(now);
        }
    }

    private void HandleRequest(DateTimeOffset now, IkeMessage m, byte[] datagram, IPEndPoint local, IPEndPoint remote)
    {
        // RFC 7296 §2.1/§2.3: a retransmitted request gets the cached response, without reprocessing.
        if (_lastResponse is { } last && m.MessageId == last.MessageId)
        {
            _endpoint.Send(local, remote, last.Datagram);
            return;
        }

        if (m.MessageId != _expectedPeerRequestId || _keys is null)
        {
            throw IkeProtocolException.Drop($"request with message ID {m.MessageId}, expected {_expectedPeerRequestId}");
        }

        var request = _keys.Unprotect(datagram, m, !IsOriginalInitiator);
        FollowPeer(local, remote);
        _peerKnowsSa = true;
        NoteInboundTraffic(now);
        foreach (var c in _children)
        {
            if (c.UnconfirmedSinceRequest is { } id && m.MessageId > id)
            {
                c.UnconfirmedSinceRequest = null; // the peer moved past the request that created it: it has our answer
            }
        }

        bool destroy;
        List<IkePayload> response;
        switch (m.ExchangeType)
        {
            case ExchangeType.IkeAuth when State == IkeSaState.Connecting && !IsOriginalInitiator:
                response = RespondAuth(now, request, out destroy);
                break;
            case ExchangeType.Informational when State is IkeSaState.Established or IkeSaState.Deleting:
                response = RespondInformational(now, request, out destroy);
                break;
            case ExchangeType.CreateChildSa when State == IkeSaState.Established:
                response = RespondCreateChild(now, request);
                destroy = false;
                break;
            default:
                throw IkeProtocolException.Drop($"{m.ExchangeType} request not valid in state {State}");
        }

        var header = new IkeMessage
        {
            InitiatorSpi = SpiI,
            ResponderSpi = SpiR,
            ExchangeType = m.ExchangeType,
            Flags = IkeHeaderFlags.Response | (IsOriginalInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None),
            MessageId = m.MessageId,
        };
        var bytes = _keys.Protect(header, response, IsOriginalInitiator, _endpoint.Entropy);
        _lastResponse = (m.MessageId, bytes);
        _expectedPeerRequestId = m.MessageId + 1;
        _endpoint.Send(Local, Remote, bytes);
        if (destroy)
        {
            // A delete crossing our own (both ends shutting down) is a delete too, not a failed authentication.
            Destroy(now, State is IkeSaState.Established or IkeSaState.Deleting ? "deleted by peer" : "authentication failed", closedByPeer: State == IkeSaState.Established);
        }
    }

    internal void HandleTimeout(DateTimeOffset now)
    {
        if (_rekeyedAway is { } since && State == IkeSaState.Deleting && _pending is null && now >= since + TimeSpan.FromMinutes(1))
        {
            Destroy(now, "rekeyed");
            return;
        }

        if (now >= _halfOpenDeadline && State == IkeSaState.Connecting)
        {
            Destroy(now, "half-open SA timed out");
            return;
        }

        if (_pending is { } p && now >= p.Deadline)
        {
            var settings = _endpoint.Settings;
            if (p.Retransmits >= settings.RetransmitTries)
            {
                Destroy(now, $"giving up after {p.Retransmits} retransmissions of {p.Exchange}", peerDead: State == IkeSaState.Established);
                return;
            }

            p.Retransmits++;
            // strongSwan's schedule: timeout * base^n.
            p.Deadline = now + (settings.RetransmitTimeout * Math.Pow(settings.RetransmitBase, p.Retransmits));
            _endpoint.Send(Local, Remote, p.Datagram);
        }

        if (State == IkeSaState.Established)
        {
            CheckChildLifetimes(now);
            if (_pending is null && now >= DpdDue)
            {
                // RFC 7296 §2.4: an empty INFORMATIONAL; if its retransmissions run out, the peer is dead.
                SendInformational(now, []);
            }
            else if (_pending is null && IkeRekeyDue(now))
            {
                StartIkeRekey(now);
            }
        }
    }

    /// <summary>
    /// CHILD SA lifetimes (swanctl rekey_time, life_time, rand_time): a soft expiry queues a rekey; a hard expiry
    /// removes the SA at once (its keys must not be used any longer) and tells the peer.
    /// </summary>
    private void CheckChildLifetimes(DateTimeOffset now)
    {
        foreach (var child in _children.ToList())
        {
            if (now >= child.ExpireAt)
            {
                _endpoint.EmitAlert(now, Id, $"CHILD SA '{child.Config.Name}' {child.InboundSpi:x8}_i reached its hard lifetime");
                RemoveChild(now, child);
                if (_deletingChild != child && !_deleteQueue.Contains(child))
                {
                    _deleteQueue.Enqueue(child);
                }
            }
            else if (now >= child.RekeyAt && !child.Replaced && !_rekeyQueue.Contains(child))
            {
                _rekeyQueue.Enqueue(child);
            }
        }

        StartNextChild(now);
    }

    private void Fail(DateTimeOffset now, string reason)
    {
        _endpoint.EmitAlert(now, Id, reason);
        Destroy(now, reason);
    }

    internal void Destroy(DateTimeOffset now, string reason, bool peerDead = false, bool closedByPeer = false)
    {
        if (State == IkeSaState.Destroyed)
        {
            return;
        }

        var wasUp = EstablishedAt is not null;
        foreach (var child in _children.ToList())
        {
            RemoveChild(now, child);
        }

        State = IkeSaState.Destroyed;
        _pending = null;
        if ((wasUp || IsOriginalInitiator) && _rekeyedAway is null)
        {
            _endpoint.Emit(new IkeSaDown(now, Id, Config.Name, reason, peerDead, closedByPeer, wasUp));
        }

        _endpoint.Remove(this);
        Dispose();
    }

    public void Dispose()
    {
        _ke?.Dispose();
        _keys?.Dispose();
        _ke = null;
    }
}
