using System.Buffers.Binary;
using System.Net;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Engine.Rules;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// The sans-IO IKEv2 endpoint: routes datagrams to IKE SAs by SPI and answers statelessly where RFC 7296
/// allows (COOKIE under load, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, INVALID_MAJOR_VERSION, INVALID_IKE_SPI),
/// so that a half-open SA costs memory only once a request has passed those checks.
/// Inputs: <see cref="HandleDatagram"/>, <see cref="HandleTimeout"/>, <see cref="Initiate"/>, <see cref="Terminate"/>.
/// Outputs, polled after every input: <see cref="TryPollTransmit"/>, <see cref="PollTimeout"/>, <see cref="TryPollEvent"/>.
/// Not thread-safe: one endpoint per shard, driven by one thread.
/// </summary>
public sealed partial class Endpoint
{
    private readonly SaTable _table = new();
    private readonly TimerQueue _timers = new();
    private readonly CookieJar _cookies;

    private readonly Dictionary<(IPEndPoint, ulong), IkeSa> _halfOpenByInitiator = [];
    private readonly HalfOpenCounts _halfOpenCounts;
    private readonly Queue<Transmit> _transmits = new();

    private readonly Queue<EngineEvent> _events = new();
    private long _nextId = 1;
    private List<IkeConfig> _configs;

    public Endpoint(IEnumerable<IkeConfig> configs, ISecretStore secrets, IEntropySource entropy, EngineSettings? settings = null)
    {
        _configs = [.. configs];
        Secrets = secrets;
        Entropy = entropy;
        Settings = settings ?? new EngineSettings();
        _cookies = new CookieJar(Settings, entropy, Stats);
        _halfOpenCounts = new HalfOpenCounts(Stats);
    }

    public ISecretStore Secrets { get; private set; }

    public IEntropySource Entropy { get; }

    public EngineSettings Settings { get; }

    public EndpointStats Stats { get; } = new();

    /// <summary>Where messages, exchange outcomes, retransmissions and rekeys are counted (the host's metrics; none by default).</summary>
    public IIkeCounterSink Counters { get; set; } = NoIkeCounters.Instance;

    /// <summary>Called with the IKE SA keys when they are derived, for an explicitly requested Wireshark keylog.</summary>
    public Action<IkeSa, Ikev2KeyMaterial>? Keylog { get; set; }

    public IReadOnlyCollection<IkeSa> IkeSas => _table.All;

    /// <summary>How many CHILD SAs the IKE SAs hold (O(1): <c>oakley stats</c> at 100,000 SAs does not walk them).</summary>
    public int ChildSaCount => _table.ChildCount;

    public IReadOnlyList<IkeConfig> Configs => _configs;

    /// <summary>Responder IKE SAs that answered IKE_SA_INIT and wait for IKE_AUTH (a maintained count, not a scan).</summary>
    public int HalfOpenCount => _halfOpenCounts.Total;

    /// <summary>Responder half-open IKE SAs whose IKE_SA_INIT came from <paramref name="address"/>.</summary>
    public int HalfOpenCountOf(IPAddress address) => _halfOpenCounts.Of(address);

    /// <summary>Source IPs with at least one half-open IKE SA.</summary>
    public int HalfOpenSources => _halfOpenCounts.Sources;

    /// <summary>
    /// Replaces the configuration (load-all, SIGHUP, VICI load-conn/unload-conn). An IKE SA whose connection is gone,
    /// or whose negotiation changed (<see cref="IkeConfig.NegotiationFingerprint"/>: addresses, proposals, identities,
    /// authentication...), is deleted with its peer. Every other SA keeps running and takes the new configuration over
    /// in place (<see cref="IkeSa.Adopt"/>): new lifetimes and DPD apply at once, and only the CHILD SAs whose child
    /// went or changed are replaced. The credentials are the reloaded ones from the next authentication on.
    /// </summary>
    public ReloadReport Reconfigure(DateTimeOffset now, IEnumerable<IkeConfig> configs, ISecretStore secrets)
    {
        _configs = [.. configs];
        Secrets = secrets;
        var byName = _configs.ToDictionary(c => c.Name);
        int deleted = 0, updated = 0, unchanged = 0;
        foreach (var sa in _table.All.ToList())
        {
            if (!byName.TryGetValue(sa.Config.Name, out var next)
                || (!ReferenceEquals(next, sa.Config) && next.NegotiationFingerprint() != sa.Config.NegotiationFingerprint()))
            {
                sa.Terminate(now);
                deleted++;
            }
            else if (sa.Adopt(now, next))
            {
                updated++;
            }
            else
            {
                unchanged++;
            }
        }

        return new ReloadReport(deleted, updated, unchanged);
    }

    // ---------------------------------------------------------------------------------- commands

    /// <summary>Starts an IKE SA for <paramref name="configName"/> (with the CHILD SA <paramref name="childName"/>, if given).</summary>
    public long Initiate(DateTimeOffset now, string configName, string? childName = null, bool reuseIkeSa = true)
    {
        var config = _configs.FirstOrDefault(c => c.Name == configName)
            ?? throw new ArgumentException($"no connection named '{configName}'", nameof(configName));
        if (config.RemoteAddresses.Count == 0)
        {
            throw new InvalidOperationException($"connection '{configName}' has no remote address to initiate to");
        }

        var child = childName is null ? config.Children.FirstOrDefault() : config.Children.FirstOrDefault(c => c.Name == childName)
            ?? throw new ArgumentException($"connection '{configName}' has no child '{childName}'", nameof(childName));
        // strongSwan reuses an established IKE SA of the connection for another CHILD SA (CREATE_CHILD_SA).
        if (reuseIkeSa && child is not null && _table.All.FirstOrDefault(s => s.Config.Name == configName && s.State == IkeSaState.Established) is { } existing)
        {
            existing.CreateChild(now, child);
            return existing.Id;
        }

        var remote = new IPEndPoint(config.RemoteAddresses[0], config.RemotePort);
        var local = new IPEndPoint(config.LocalAddresses.Count > 0 ? config.LocalAddresses[0] : (remote.Address.GetAddressBytes().Length == 4 ? IPAddress.Any : IPAddress.IPv6Any), Settings.IkePort);
        var sa = new IkeSa(this, _nextId++, config, true, NewIkeSpi(), 0, local, remote, now);
        Register(sa);
        sa.StartInitiator(now, child);
        return sa.Id;
    }

    /// <summary>
    /// The data plane's byte and packet counts of the CHILD SA with this inbound SPI (the larger direction of
    /// each): volume lifetimes (swanctl rekey_bytes, life_bytes, rekey_packets, life_packets) act on them.
    /// </summary>
    public void NoteChildCounters(DateTimeOffset now, uint inboundSpi, ulong bytes, ulong packets)
    {
        if (_table.TryGetChildOwner(inboundSpi, out var sa) && sa.Children.FirstOrDefault(c => c.InboundSpi == inboundSpi) is { } child)
        {
            sa.NoteChildCounters(now, child, bytes, packets);
        }
    }

    /// <summary>
    /// The host saw ESP arrive on the CHILD SA with this inbound SPI (its packet counter moved): the IKE SA's peer is
    /// alive, so dead peer detection need not ask (swanctl dpd_delay counts from the last sign of life).
    /// </summary>
    public void NoteInboundTraffic(DateTimeOffset now, uint inboundSpi) => _table.ChildOwner(inboundSpi)?.NoteInboundTraffic(now);

    /// <summary>
    /// swanctl --rekey: rekeys the IKE SAs of a connection, or (with <paramref name="childName"/>) their CHILD SAs of
    /// that name, or (with <paramref name="reauth"/>) reauthenticates the IKE SAs. Returns how many SAs were started.
    /// </summary>
    public int Rekey(DateTimeOffset now, string? configName, string? childName = null, bool reauth = false)
    {
        var n = 0;
        foreach (var sa in _table.All.Where(s => s.State == IkeSaState.Established && !s.IsRekeyedAway && (configName is null || s.Config.Name == configName)).ToList())
        {
            if (reauth)
            {
                Reauthenticate(now, sa);
                n++;
            }
            else if (childName is null)
            {
                n += sa.Rekey(now) ? 1 : 0;
            }
            else
            {
                foreach (var child in sa.Children.Where(c => c.Config.Name == childName).ToList())
                {
                    n += sa.RekeyChild(now, child.InboundSpi) ? 1 : 0;
                }
            }
        }

        return n;
    }

    /// <summary>
    /// The host sent ESP on the CHILD SA with this inbound SPI (its outbound counter moved): that refreshes a NAT
    /// mapping, so no keepalive is due for that long (as strongSwan counts outbound ESP).
    /// </summary>
    public void NoteOutboundTraffic(DateTimeOffset now, uint inboundSpi) => _table.ChildOwner(inboundSpi)?.NoteOutboundTraffic(now);

    /// <summary>
    /// The host's local addresses now (all of them), and optionally for some peer addresses the source address the
    /// routing table picks towards them. MOBIKE initiators whose address disappeared or whose route now leaves
    /// from another address send UPDATE_SA_ADDRESSES (RFC 4555 §3.5); other SAs only learn their source address.
    /// </summary>
    public void LocalAddressesChanged(DateTimeOffset now, IReadOnlyCollection<IPAddress> addresses, IReadOnlyDictionary<IPAddress, IPAddress>? routeSources = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var normalised = addresses.Select(Unmap).ToHashSet();
        foreach (var sa in _table.All.ToList())
        {
            IPAddress? source = null;
            if (routeSources is not null && routeSources.TryGetValue(Unmap(sa.Remote.Address), out var s))
            {
                source = Unmap(s);
            }

            sa.LocalAddressesChanged(now, normalised, source);
        }
    }

    private static IPAddress Unmap(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    public int Terminate(DateTimeOffset now, string? configName = null, long? ikeSaId = null)
    {
        var targets = _table.All.Where(s => (configName is null || s.Config.Name == configName) && (ikeSaId is null || s.Id == ikeSaId)).ToList();
        foreach (var sa in targets)
        {
            sa.Terminate(now);
        }

        return targets.Count;
    }

    // ---------------------------------------------------------------------------------- inputs

    public void HandleDatagram(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, byte[] datagram)
    {
        ArgumentNullException.ThrowIfNull(datagram);
        Stats.DatagramsReceived++;
        if (IsIsakmp(datagram))
        {
            // The header's major version picks the message layer. IKEv1 (ISAKMP, RFC 2408) gets its own layer and task
            // set here, beside IKEv2's, on the same SA core; until it is built, a version-1 message is answered as
            // RFC 7296 §1.5 asks for any version we do not speak.
            Stats.Drop(nameof(NotifyType.InvalidMajorVersion));
            AnswerUnprotected(local, remote, IkeHeader.ReadUnchecked(datagram), NotifyType.InvalidMajorVersion, default);
            return;
        }

        HandleIkev2(now, local, remote, datagram);
    }

    /// <summary>An ISAKMP header (major version 1).</summary>
    private static bool IsIsakmp(byte[] datagram) => datagram.Length >= IkeHeader.Size && datagram[17] >> 4 == 1;

    private void HandleIkev2(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, byte[] datagram)
    {
        IkeMessage m;
        try
        {
            m = IkeMessage.Decode(datagram);
        }
        catch (IkeProtocolException e)
        {
            Stats.Drop(e.Action == ProtocolErrorAction.NotifyV2 ? e.Notify.ToString() : "malformed");
            Counters.Count(IkeCounter.Invalid, null);
            if (e.Action == ProtocolErrorAction.NotifyV2 && e.Notify == NotifyType.InvalidMajorVersion && datagram.Length >= IkeHeader.Size)
            {
                AnswerUnprotected(local, remote, IkeHeader.ReadUnchecked(datagram), NotifyType.InvalidMajorVersion, default);
            }

            return;
        }

        try
        {
            Dispatch(now, local, remote, m, datagram);
        }
        catch (IkeProtocolException e)
        {
            Stats.Drop(e.IsDrop ? e.Message.Split(':')[0] : e.Notify.ToString());
            if (!e.IsDrop && m.ExchangeType == ExchangeType.IkeSaInit && !m.IsResponse)
            {
                AnswerUnprotected(local, remote, HeaderOf(m), e.Notify, e.NotifyData);
            }
        }
    }

    private static IkeHeader HeaderOf(IkeMessage m) =>
        new(m.InitiatorSpi, m.ResponderSpi, PayloadType.None, 2, 0, m.ExchangeType, m.Flags, m.MessageId, 0);

    private void Dispatch(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, IkeMessage m, byte[] datagram)
    {
        if (m.ExchangeType == ExchangeType.IkeSaInit && !m.IsResponse)
        {
            if (m.ResponderSpi != 0 || m.MessageId != 0)
            {
                throw IkeProtocolException.Drop("IKE_SA_INIT request with a responder SPI or message ID");
            }

            if (_halfOpenByInitiator.TryGetValue((remote, m.InitiatorSpi), out var existing))
            {
                existing.HandleMessage(now, m, datagram, local, remote); // retransmission: cached response
                return;
            }

            RespondToInit(now, local, remote, m, datagram);
            return;
        }

        // Our SPI is the responder's if the sender is the original initiator, else the initiator's.
        var ourSpi = m.IsInitiator ? m.ResponderSpi : m.InitiatorSpi;
        if (!_table.TryGet(ourSpi, out var sa) || (m.ExchangeType != ExchangeType.IkeSaInit && sa.SpiR != m.ResponderSpi))
        {
            if (!m.IsResponse)
            {
                // RFC 7296 §2.21.4: an unprotected INVALID_IKE_SPI may be sent (rate-limited by the host).
                AnswerUnprotected(local, remote, HeaderOf(m), NotifyType.InvalidIkeSpi, default);
            }

            Counters.Count(IkeCounter.InvalidSpi, null);
            throw IkeProtocolException.Drop("unknown IKE SPI");
        }

        sa.HandleMessage(now, m, datagram, local, remote);
    }

    private void RespondToInit(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, IkeMessage m, byte[] datagram)
    {
        PayloadRuleCheck.Enforce(this, now, 0, m); // answered with an unprotected INVALID_SYNTAX (HandleDatagram)
        var sa = m.Find<SecurityAssociationPayload>()!;
        var ke = m.Find<KeyExchangePayload>()!;
        var nonce = m.Find<NoncePayload>()!;
        if (!AdmitInit(now, local, remote, m, nonce))
        {
            return;
        }

        var config = _configs.FirstOrDefault(c => AddressMatches(c.LocalAddresses, local.Address) && AddressMatches(c.RemoteAddresses, remote.Address));
        if (config is null)
        {
            EmitAlert(now, 0, $"no IKE config found for {local.Address}...{remote.Address}, sending NO_PROPOSAL_CHOSEN");
            throw IkeProtocolException.WithNotify(NotifyType.NoProposalChosen, $"no connection for {remote.Address}");
        }

        var selection = ProposalNegotiation.Select(config.Proposals, sa.Proposals, ProtocolId.Ike);
        if (selection is not { } s)
        {
            Stats.NoProposalChosenSent++;
            EmitAlert(now, 0, $"no acceptable IKE proposal from {remote.Address} for '{config.Name}', sending NO_PROPOSAL_CHOSEN: received "
                + $"{ProposalNegotiation.Describe(sa.Proposals, ProtocolId.Ike)}; configured {ProposalString.FormatList(config.Proposals)}", config.Name);
            throw IkeProtocolException.WithNotify(NotifyType.NoProposalChosen, "no acceptable IKE proposal");
        }

        var group = (KeId)s.Selected.OfType(TransformType.KeyExchange).Single().Id;
        if (ke.Group != group)
        {
            // RFC 7296 §1.2: tell the initiator which group we want, statelessly.
            var accepted = s.PeerProposal.Transforms.Any(t => t.Type == TransformType.KeyExchange && t.Id == (ushort)ke.Group)
                && config.Proposals.Any(p => p.OfType(TransformType.KeyExchange).Any(t => t.Id == (ushort)ke.Group));
            if (!accepted)
            {
                Stats.InvalidKeSent++;
                var data = new byte[2];
                BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)group);
                throw IkeProtocolException.WithNotify(NotifyType.InvalidKePayload, $"KE group {ke.Group}, we want {group}", data);
            }

            // The initiator's group is acceptable too: use it rather than costing a round trip.
            var transforms = s.Selected.Transforms.Where(t => t.Type != TransformType.KeyExchange).Append(TransformSpec.Ke(ke.Group));
            s = (new AlgorithmProposal(ProtocolId.Ike, transforms), s.PeerProposal);
        }

        var ikeSa = new IkeSa(this, _nextId++, config, false, m.InitiatorSpi, NewIkeSpi(), local, remote, now);
        try
        {
            var response = ikeSa.RespondInit(now, datagram, m, s.Selected, s.PeerProposal.Number);
            Register(ikeSa);
            _halfOpenByInitiator[(remote, m.InitiatorSpi)] = ikeSa;
            ikeSa.InitRequestKey = (remote, m.InitiatorSpi);
            ikeSa.BeginHalfOpen(now);
            Send(local, remote, response);
        }
        catch
        {
            ikeSa.Dispose();
            throw;
        }
    }

    private static bool AddressMatches(IReadOnlyList<IPAddress> configured, IPAddress actual) =>
        configured.Count == 0 || configured.Any(a => a.Equals(actual) || a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any));

    /// <summary>
    /// RFC 7296 §2.6 DoS protection, in strongSwan's order (charon's receiver): a COOKIE is demanded when the global
    /// half-open count reached cookie_threshold or the source's reached cookie_threshold_ip (and for cookie_calmdown
    /// after that); then a source with block_threshold half-open SAs is ignored; then, above init_limit_half_open,
    /// everyone is. Returns false when the request was answered with a COOKIE or dropped; no state is kept either way.
    /// </summary>
    private bool AdmitInit(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, IkeMessage m, NoncePayload nonce)
    {
        var fromSource = HalfOpenCountOf(remote.Address);
        if (Settings.DosProtection && _cookies.Required(now, HalfOpenCount, fromSource))
        {
            _cookies.RotateIfDue(now);
            var offered = m.Notifies(NotifyType.Cookie).FirstOrDefault();
            if (offered is null || !_cookies.Valid(offered.Data.Span, nonce.Nonce.Span, remote.Address, m.InitiatorSpi))
            {
                if (offered is not null)
                {
                    Stats.CookiesRejected++;
                }

                Stats.CookiesSent++;
                AnswerUnprotected(local, remote, HeaderOf(m), NotifyType.Cookie, _cookies.Issue(nonce.Nonce.Span, remote.Address, m.InitiatorSpi));
                return false;
            }

            Stats.CookiesAccepted++;
        }

        if (Settings.DosProtection && Settings.BlockThreshold > 0 && fromSource >= Settings.BlockThreshold)
        {
            Stats.InitBlockedPerIp++;
            Stats.Drop("IKE_SA_INIT blocked (block_threshold)");
            return false;
        }

        if (Settings.InitLimitHalfOpen > 0 && HalfOpenCount >= Settings.InitLimitHalfOpen)
        {
            Stats.InitDroppedHalfOpenLimit++;
            Stats.Drop("IKE_SA_INIT dropped (init_limit_half_open)");
            return false;
        }

        return true;
    }

    private void AnswerUnprotected(IPEndPoint local, IPEndPoint remote, IkeHeader request, NotifyType notify, ReadOnlyMemory<byte> data)
    {
        if (notify.IsError())
        {
            Counters.ErrorNotify(null, notify, sent: true);
        }

        Send(local, remote, UnprotectedAnswer.Encode(request, notify, data));
    }

    public void HandleTimeout(DateTimeOffset now)
    {
        var due = _timers.TakeDue(now);
        if (due.Count == 0)
        {
            return;
        }

        // Handling one SA may add or remove others (or the list, reused by the queue): work on a copy.
        foreach (var sa in due.ToArray())
        {
            try
            {
                sa.HandleTimeout(now);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A bug in one SA's timer work must not stop every other SA's timers (the host's engine loop would
                // end): that SA is destroyed, its state freed, and the reason reaches the log through IkeSaDown.
                Stats.TimerFailures++;
                sa.Destroy(now, $"internal error in its timer: {e.GetType().Name}: {e.Message}");
            }

            _timers.Touch(sa);
        }
    }

    // ---------------------------------------------------------------------------------- outputs

    public bool TryPollTransmit(out Transmit transmit) => _transmits.TryDequeue(out transmit!);

    public bool TryPollEvent(out EngineEvent engineEvent) => _events.TryDequeue(out engineEvent!);

    /// <summary>The earliest deadline at which <see cref="HandleTimeout"/> must be called, or null for none.</summary>
    public DateTimeOffset? PollTimeout() => _timers.Next(VerifyTimers ? _table.All : null);

    /// <summary>Tests: check every <see cref="PollTimeout"/> against a scan of all SAs (a missed <see cref="Touch"/> throws).</summary>
    internal bool VerifyTimers { get; set; }
}
