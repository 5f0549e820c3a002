using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Engine.Authentication;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;
/// <summary>The initiator's IKE_SA_INIT (proposals, KE, cookies and INVALID_KE retries, NAT detection) and IKE_AUTH (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    // ------------------------------------------------------------------------------------------------
    // Initiator: IKE_SA_INIT
    // ------------------------------------------------------------------------------------------------

    internal void StartInitiator(DateTimeOffset now, ChildConfig? child)
    {
        Touch();
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
        if (Config.Fragmentation != Fragmentation.No)
        {
            m.Payloads.Add(new NotifyPayload(NotifyType.Ikev2FragmentationSupported)); // RFC 7383 §2.3
        }

        m.Payloads.Add(new NotifyPayload(NotifyType.SignatureHashAlgorithms, new byte[] { 0, 2, 0, 3, 0, 4 })); // SHA2-256/384/512 (RFC 7427)
        _initRequest = m.Encode();
        _nextRequestId = 0;
        SendRequest(now, ExchangeType.IkeSaInit, [_initRequest]);
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
        if ((NatDetected || Config.Mobike) && Remote.Port != _endpoint.Settings.NattPort)
        {
            // RFC 7296 §2.23: with a NAT in the path the initiator moves to port 4500 for IKE_AUTH onwards;
            // RFC 4555 §3.3: so does an initiator that offers MOBIKE, NAT or not (a later move may meet one).
            Local = new IPEndPoint(Local.Address, _endpoint.Settings.NattPort);
            Remote = new IPEndPoint(Remote.Address, _endpoint.Settings.NattPort);
        }

        _nonceR = nonce.Nonce.ToArray();
        _fragmentation = Config.Fragmentation != Fragmentation.No && m.Notifies(NotifyType.Ikev2FragmentationSupported).Any();
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

        var (peerBehindNat, weBehindNat) = CompareNatHashes(source, destination, spiI, spiR, Local, Remote, _pathSource);
        LocalBehindNat = weBehindNat;
        RemoteBehindNat = peerBehindNat;
        if (peerBehindNat || weBehindNat)
        {
            NatDetected = true;
            _endpoint.EmitAlert(now, Id, weBehindNat ? "local host is behind NAT, sending keep alives" : "remote host is behind NAT");
        }
    }

    /// <summary>
    /// RFC 7296 §2.23: the peer is behind a NAT if no NAT_DETECTION_SOURCE_IP matches the address it came from, we
    /// are if its NAT_DETECTION_DESTINATION_IP does not match ours. A wildcard local address (no source known) is
    /// never called NATed.
    /// </summary>
    private static (bool PeerBehindNat, bool WeBehindNat) CompareNatHashes(List<NotifyPayload> source, NotifyPayload destination,
        ulong spiI, ulong spiR, IPEndPoint local, IPEndPoint remote, IPAddress? knownSource)
    {
        var peerSeen = NatHash(spiI, spiR, remote);
        var peerBehindNat = !source.Any(n => n.Data.Span.SequenceEqual(peerSeen));
        var ourAddress = IsWildcard(local.Address) ? knownSource : local.Address;
        var weBehindNat = ourAddress is not null
            && !destination.Data.Span.SequenceEqual(NatHash(spiI, spiR, new IPEndPoint(ourAddress, local.Port)));
        return (peerBehindNat, weBehindNat);
    }

    private static bool IsWildcard(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    /// <summary>
    /// RFC 7296 §2.23: the latest authenticated message's addresses are the ones to use. Before the SA is
    /// established that is the float to the NAT-T port. Afterwards a changed peer address or port (a NAT that
    /// remapped) is followed only by a side that is not itself behind a NAT (a host behind one "SHOULD NOT": one
    /// forged packet would redirect it), and never with MOBIKE, whose UPDATE_SA_ADDRESSES replaces implicit
    /// updates (RFC 4555 §3.5). The caller only passes new messages (retransmitted requests are answered from the
    /// cache before this), so an old replayed message cannot move the SA back.
    /// </summary>
    private void FollowPeer(DateTimeOffset now, IPEndPoint local, IPEndPoint remote)
    {
        if (State != IkeSaState.Established)
        {
            Local = local;
            Remote = remote;
            return;
        }

        if (remote.Equals(Remote) || MobikeNegotiated || LocalBehindNat)
        {
            return;
        }

        var old = Remote;
        Local = local;
        Remote = remote;
        RemoteBehindNat = true;
        NatDetected |= Remote.Port == _endpoint.Settings.NattPort;
        _endpoint.Emit(new IkeSaAddressesChanged(now, Id, Config.Name, Local, Remote, UdpEncapsulation, $"remote address changed from {old} to {remote}"));
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

        // No IKE_AUTH without our credential: a missing or empty key fails the SA here, before anything is sent.
        var found = Authenticator(Config.RemoteId ?? RemoteIdentity);
        if (found.Authenticator is not { } authenticator)
        {
            Fail(now, found.Error!);
            return;
        }

        payloads.Add(authenticator.Build(AuthInputOf(true, _initRequest, _nonceR, idi)));
        if (Config.SendInitialContact && _reauthOf is null)
        {
            payloads.Add(new NotifyPayload(NotifyType.InitialContact));
        }

        if (Config.Mobike)
        {
            payloads.Add(new NotifyPayload(NotifyType.MobikeSupported));
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

        // The message ID comes from the window (1 after IKE_SA_INIT; an IKE_INTERMEDIATE would move it on).
        SendProtectedRequest(now, ExchangeType.IkeAuth, payloads);
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

    /// <summary>RFC 7296 §2.15: what one side's AUTH covers, RealMessage | peer's nonce | prf(SK_p, ID body).</summary>
    private AuthInput AuthInputOf(bool initiatorSide, byte[] realMessage, byte[] peerNonce, IdentificationPayload id)
    {
        var keys = _keys!;
        var prf = keys.Suite.Prf!;
        return new AuthInput(prf, Ikev2Auth.SignedOctets(prf, realMessage, peerNonce, initiatorSide ? keys.Keys.SK_pi : keys.Keys.SK_pr, id.GetBodyBytes()));
    }

    private string AuthMismatch(IIkeAuthenticator ours, AuthenticationPayload theirs) => theirs.Method == ours.Method
        ? $"AUTH of '{RemoteIdentity}' did not verify (wrong pre-shared key?)"
        : $"'{RemoteIdentity}' authenticates with AUTH method {theirs.Method}; this connection expects {ours.Method}";

    /// <summary>The authenticator for our identity and <paramref name="remote"/> (null: %any), or why there is none.</summary>
    private AuthenticatorResult Authenticator(Identity? remote) => PskAuthenticator.Create(_endpoint.Secrets, Config.LocalId, remote);

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

        var verifier = Authenticator(RemoteIdentity);
        if (verifier.Authenticator is null)
        {
            Fail(now, verifier.Error!);
            return;
        }

        if (!verifier.Authenticator.Verify(AuthInputOf(false, _initResponse, _nonceI, idr), auth))
        {
            // RFC 7296 §2.21.2: the initiator deletes the IKE SA (an INFORMATIONAL with AUTHENTICATION_FAILED is optional).
            Fail(now, "AUTH payload of the responder did not verify");
            return;
        }

        if (!_endpoint.EnforceUniqueness(now, this, initialContact: false))
        {
            Fail(now, $"an IKE SA with '{RemoteIdentity}' exists (unique = keep): not keeping this one");
            return;
        }

        MobikeNegotiated = Config.Mobike && payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.MobikeSupported);
        StoreAdditionalAddresses(payloads);
        Establish(now);
        if (_pendingChild is { } child)
        {
            var error = payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType.IsError());
            var sa = payloads.OfType<SecurityAssociationPayload>().FirstOrDefault();
            var tsi = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => t.IsInitiator);
            var tsr = payloads.OfType<TrafficSelectorPayload>().FirstOrDefault(t => !t.IsInitiator);
            if (error is not null || sa is null || tsi is null || tsr is null)
            {
                ChildFailed(now, child, $"CHILD SA '{child.Name}' was not created: {error?.NotifyType.ToString() ?? "incomplete response"}");
                return;
            }

            var selected = ProposalNegotiation.ValidateResponse(child.EspProposals.Select(StripKe).ToList(), sa, ProtocolId.Esp);
            if (selected is null || sa.Proposals[0].Spi.Length != 4)
            {
                ChildFailed(now, child, $"CHILD SA '{child.Name}': responder chose a proposal we did not offer");
                return;
            }

            var transport = payloads.OfType<NotifyPayload>().Any(n => n.NotifyType == NotifyType.UseTransportMode);
            if (child.TransportMode != transport)
            {
                ChildFailed(now, child, $"CHILD SA '{child.Name}': mode mismatch (we asked {(child.TransportMode ? "transport" : "tunnel")})");
                return;
            }

            var localTs = tsi.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
            var remoteTs = tsr.Selectors.Where(s => s.IsIp).Select(TrafficSelectorRange.FromPayload).ToList();
            InstallChild(now, child, _pendingChildSpi, BinaryPrimitives.ReadUInt32BigEndian(sa.Proposals[0].Spi.Span), selected, localTs, remoteTs, transport);
        }
    }

    /// <summary>A CHILD SA we asked for was refused or answered wrongly: the operator and the host (initiate waits) learn why.</summary>
    private void ChildFailed(DateTimeOffset now, ChildConfig child, string reason)
    {
        _endpoint.EmitAlert(now, Id, reason);
        _endpoint.Emit(new ChildSaFailed(now, Id, Config.Name, child.Name, reason));
    }
}
