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

/// <summary>Counters an operator reads with <c>oakley stats</c>.</summary>
public sealed class EndpointStats
{
    public long DatagramsReceived { get; internal set; }

    public long DatagramsSent { get; internal set; }

    public long IkeSasEstablished { get; internal set; }

    public long CookiesSent { get; internal set; }

    public long InvalidKeSent { get; internal set; }

    public long NoProposalChosenSent { get; internal set; }

    /// <summary>Dropped or rejected datagrams by reason (the first words of the protocol error).</summary>
    public Dictionary<string, long> Dropped { get; } = [];

    internal void Drop(string reason)
    {
        Dropped.TryGetValue(reason, out var n);
        Dropped[reason] = n + 1;
    }
}

/// <summary>
/// The sans-IO IKEv2 endpoint: routes datagrams to IKE SAs by SPI and answers statelessly where RFC 7296
/// allows (COOKIE under load, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, INVALID_MAJOR_VERSION, INVALID_IKE_SPI),
/// so that a half-open SA costs memory only once a request has passed those checks.
/// Inputs: <see cref="HandleDatagram"/>, <see cref="HandleTimeout"/>, <see cref="Initiate"/>, <see cref="Terminate"/>.
/// Outputs, polled after every input: <see cref="TryPollTransmit"/>, <see cref="PollTimeout"/>, <see cref="TryPollEvent"/>.
/// Not thread-safe: one endpoint per shard, driven by one thread.
/// </summary>
public sealed class Endpoint
{
    private readonly Dictionary<ulong, IkeSa> _sas = [];
    private readonly Dictionary<(IPEndPoint, ulong), IkeSa> _halfOpenByInitiator = [];
    private readonly Queue<Transmit> _transmits = new();
    private readonly Queue<EngineEvent> _events = new();
    private readonly byte[] _cookieSecret = new byte[32];
    private long _nextId = 1;
    private List<IkeConfig> _configs;

    public Endpoint(IEnumerable<IkeConfig> configs, ISecretStore secrets, IEntropySource entropy, EngineSettings? settings = null)
    {
        _configs = [.. configs];
        Secrets = secrets;
        Entropy = entropy;
        Settings = settings ?? new EngineSettings();
        entropy.Fill(_cookieSecret);
    }

    public ISecretStore Secrets { get; private set; }

    public IEntropySource Entropy { get; }

    public EngineSettings Settings { get; }

    public EndpointStats Stats { get; } = new();

    /// <summary>Called with the IKE SA keys when they are derived, for an explicitly requested Wireshark keylog.</summary>
    public Action<IkeSa, Ikev2KeyMaterial>? Keylog { get; set; }

    public IReadOnlyCollection<IkeSa> IkeSas => _sas.Values;

    public IReadOnlyList<IkeConfig> Configs => _configs;

    public int HalfOpenCount => _sas.Values.Count(s => s.State == IkeSaState.Connecting && !s.IsOriginalInitiator);

    /// <summary>
    /// Replaces the configuration (load-all). IKE SAs whose connection is unchanged keep running; those whose
    /// connection was removed or changed are deleted with their peers. Returns how many were deleted.
    /// </summary>
    public int Reconfigure(DateTimeOffset now, IEnumerable<IkeConfig> configs, ISecretStore secrets)
    {
        _configs = [.. configs];
        Secrets = secrets;
        var current = _configs.ToDictionary(c => c.Name, c => c.Fingerprint());
        var stale = _sas.Values.Where(sa => !current.TryGetValue(sa.Config.Name, out var f) || f != sa.Config.Fingerprint()).ToList();
        foreach (var sa in stale)
        {
            sa.Terminate(now);
        }

        return stale.Count;
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
        if (reuseIkeSa && child is not null && _sas.Values.FirstOrDefault(s => s.Config.Name == configName && s.State == IkeSaState.Established) is { } existing)
        {
            existing.CreateChild(now, child);
            return existing.Id;
        }

        var remote = new IPEndPoint(config.RemoteAddresses[0], config.RemotePort);
        var local = new IPEndPoint(config.LocalAddresses.Count > 0 ? config.LocalAddresses[0] : (remote.Address.GetAddressBytes().Length == 4 ? IPAddress.Any : IPAddress.IPv6Any), Settings.IkePort);
        var sa = new IkeSa(this, _nextId++, config, true, NewIkeSpi(), 0, local, remote, now);
        _sas[sa.SpiI] = sa;
        sa.StartInitiator(now, child);
        return sa.Id;
    }

    /// <summary>Deletes every IKE SA of a connection (or the one with that unique ID). Returns how many were found.</summary>
    /// <summary>
    /// The data plane's byte and packet counts of the CHILD SA with this inbound SPI (the larger direction of
    /// each): volume lifetimes (swanctl rekey_bytes, life_bytes, rekey_packets, life_packets) act on them.
    /// </summary>
    public void NoteChildCounters(DateTimeOffset now, uint inboundSpi, ulong bytes, ulong packets)
    {
        foreach (var sa in _sas.Values)
        {
            if (sa.Children.FirstOrDefault(c => c.InboundSpi == inboundSpi) is { } child)
            {
                sa.NoteChildCounters(now, child, bytes, packets);
                return;
            }
        }
    }

    /// <summary>
    /// The host saw ESP arrive on the CHILD SA with this inbound SPI (its packet counter moved): the IKE SA's peer is
    /// alive, so dead peer detection need not ask (swanctl dpd_delay counts from the last sign of life).
    /// </summary>
    public void NoteInboundTraffic(DateTimeOffset now, uint inboundSpi)
    {
        foreach (var sa in _sas.Values)
        {
            if (sa.Children.Any(c => c.InboundSpi == inboundSpi))
            {
                sa.NoteInboundTraffic(now);
                return;
            }
        }
    }

    public int Terminate(DateTimeOffset now, string? configName = null, long? ikeSaId = null)
    {
        var targets = _sas.Values.Where(s => (configName is null || s.Config.Name == configName) && (ikeSaId is null || s.Id == ikeSaId)).ToList();
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
        IkeMessage m;
        try
        {
            m = IkeMessage.Decode(datagram);
        }
        catch (IkeProtocolException e)
        {
            Stats.Drop(e.Action == ProtocolErrorAction.NotifyV2 ? e.Notify.ToString() : "malformed");
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
        if (!_sas.TryGetValue(ourSpi, out var sa) || (m.ExchangeType != ExchangeType.IkeSaInit && sa.SpiR != m.ResponderSpi))
        {
            if (!m.IsResponse)
            {
                // RFC 7296 §2.21.4: an unprotected INVALID_IKE_SPI may be sent (rate-limited by the host).
                AnswerUnprotected(local, remote, HeaderOf(m), NotifyType.InvalidIkeSpi, default);
            }

            throw IkeProtocolException.Drop("unknown IKE SPI");
        }

        sa.HandleMessage(now, m, datagram, local, remote);
    }

    private void RespondToInit(DateTimeOffset now, IPEndPoint local, IPEndPoint remote, IkeMessage m, byte[] datagram)
    {
        var sa = m.Find<SecurityAssociationPayload>();
        var ke = m.Find<KeyExchangePayload>();
        var nonce = m.Find<NoncePayload>();
        if (sa is null || ke is null || nonce is null)
        {
            throw IkeProtocolException.InvalidSyntax("IKE_SA_INIT request lacks SA, KE or Nonce");
        }

        // RFC 7296 §2.6: above the half-open threshold, demand a cookie before keeping any state.
        if (HalfOpenCount >= Settings.CookieThreshold)
        {
            var expected = Cookie(nonce.Nonce.Span, remote, m.InitiatorSpi);
            var offered = m.Notifies(NotifyType.Cookie).FirstOrDefault();
            if (offered is null || !CryptographicOperations.FixedTimeEquals(offered.Data.Span, expected))
            {
                Stats.CookiesSent++;
                AnswerUnprotected(local, remote, HeaderOf(m), NotifyType.Cookie, expected);
                return;
            }
        }

        var config = _configs.FirstOrDefault(c => AddressMatches(c.LocalAddresses, local.Address) && AddressMatches(c.RemoteAddresses, remote.Address))
            ?? throw IkeProtocolException.WithNotify(NotifyType.NoProposalChosen, $"no connection for {remote.Address}");
        var selection = ProposalNegotiation.Select(config.Proposals, sa.Proposals, ProtocolId.Ike);
        if (selection is not { } s)
        {
            Stats.NoProposalChosenSent++;
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
            var response = ikeSa.RespondInit(now, datagram, m, s.Selected, s.PeerProposal.Number, ke, nonce);
            _sas[ikeSa.SpiR] = ikeSa;
            _halfOpenByInitiator[(remote, m.InitiatorSpi)] = ikeSa;
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

    /// <summary>RFC 7296 §2.6: Cookie = VersionIDofSecret | Hash(Ni | IPi | SPIi | secret).</summary>
    private byte[] Cookie(ReadOnlySpan<byte> nonce, IPEndPoint remote, ulong spiI)
    {
        var addr = remote.Address.GetAddressBytes();
        var data = new byte[nonce.Length + addr.Length + 8 + _cookieSecret.Length];
        nonce.CopyTo(data);
        addr.CopyTo(data, nonce.Length);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(nonce.Length + addr.Length), spiI);
        _cookieSecret.CopyTo(data, nonce.Length + addr.Length + 8);
        return [1, .. SHA256.HashData(data)];
    }

    private void AnswerUnprotected(IPEndPoint local, IPEndPoint remote, IkeHeader request, NotifyType notify, ReadOnlyMemory<byte> data)
    {
        var response = new IkeMessage
        {
            InitiatorSpi = request.InitiatorSpi,
            ResponderSpi = request.ExchangeType == ExchangeType.IkeSaInit ? 0 : request.ResponderSpi,
            ExchangeType = request.ExchangeType == ExchangeType.IkeSaInit ? ExchangeType.IkeSaInit : ExchangeType.Informational,
            // RFC 7296 §3.1: the I flag marks the original initiator's messages. Outside IKE_SA_INIT we answer a
            // request of the peer's SA, so we stand in for the other role: without it, an answer to the original
            // responder would carry its own SPI in the wrong place and never reach its SA.
            Flags = IkeHeaderFlags.Response | (request.ExchangeType != ExchangeType.IkeSaInit && !request.IsInitiator ? IkeHeaderFlags.Initiator : IkeHeaderFlags.None),
            MessageId = request.MessageId,
        };
        response.Payloads.Add(new NotifyPayload(notify, data));
        Send(local, remote, response.Encode());
    }

    public void HandleTimeout(DateTimeOffset now)
    {
        foreach (var sa in _sas.Values.Where(s => s.NextDeadline <= now).ToList())
        {
            sa.HandleTimeout(now);
        }
    }

    // ---------------------------------------------------------------------------------- outputs

    public bool TryPollTransmit(out Transmit transmit) => _transmits.TryDequeue(out transmit!);

    public bool TryPollEvent(out EngineEvent engineEvent) => _events.TryDequeue(out engineEvent!);

    /// <summary>The earliest deadline at which <see cref="HandleTimeout"/> must be called, or null for none.</summary>
    public DateTimeOffset? PollTimeout()
    {
        var min = DateTimeOffset.MaxValue;
        foreach (var sa in _sas.Values)
        {
            var d = sa.NextDeadline;
            if (d < min)
            {
                min = d;
            }
        }

        return min == DateTimeOffset.MaxValue ? null : min;
    }

    // ---------------------------------------------------------------------------------- services for IkeSa

    internal void Send(IPEndPoint local, IPEndPoint remote, byte[] datagram)
    {
        Stats.DatagramsSent++;
        _transmits.Enqueue(new Transmit(local, remote, datagram));
    }

    internal void Emit(EngineEvent e)
    {
        if (e is IkeSaUp)
        {
            Stats.IkeSasEstablished++;
        }

        _events.Enqueue(e);
    }

    internal void EmitAlert(DateTimeOffset now, long id, string message) => _events.Enqueue(new Alert(now, id, message));

    internal byte[] NewNonce()
    {
        var n = new byte[Math.Max(16, Settings.NonceSize)];
        Entropy.Fill(n);
        return n;
    }

    internal ulong NewIkeSpi()
    {
        Span<byte> b = stackalloc byte[8];
        ulong spi;
        do
        {
            Entropy.Fill(b);
            spi = BinaryPrimitives.ReadUInt64BigEndian(b);
        }
        while (spi == 0 || _sas.ContainsKey(spi));

        return spi;
    }

    internal uint NewChildSpi()
    {
        Span<byte> b = stackalloc byte[4];
        uint spi;
        do
        {
            Entropy.Fill(b);
            spi = BinaryPrimitives.ReadUInt32BigEndian(b);
        }
        while (spi < 256 || _sas.Values.Any(s => s.Children.Any(c => c.InboundSpi == spi))); // SPIs 1..255 are reserved (RFC 4303 §2.1)

        return spi;
    }

    internal IkeConfig? FindConfigForIdentity(IkeConfig current, Identity remoteId, IPEndPoint remote)
    {
        bool Fits(IkeConfig c) => AddressMatches(c.RemoteAddresses, remote.Address) && (c.RemoteId is null || c.RemoteId.Matches(remoteId));
        return Fits(current) ? current : _configs.FirstOrDefault(Fits);
    }

    /// <summary>RFC 7296 §2.4: INITIAL_CONTACT means the peer lost its state: drop our other SAs with it, silently.</summary>
    internal void HandleInitialContact(DateTimeOffset now, IkeSa fresh)
    {
        foreach (var old in _sas.Values.Where(s => s != fresh && s.Config.Name == fresh.Config.Name && s.RemoteIdentity is { } id
                     && fresh.RemoteIdentity is { } fid && id.Matches(fid)).ToList())
        {
            old.Destroy(now, "replaced: peer sent INITIAL_CONTACT");
        }
    }

    /// <summary>Adds an IKE SA made by a rekey (its SPIs are new; it shares the unique ID of the SA it replaces).</summary>
    internal void Register(IkeSa sa) => _sas[sa.LocalSpi] = sa;

    internal void Remove(IkeSa sa)
    {
        _sas.Remove(sa.LocalSpi);
        foreach (var key in _halfOpenByInitiator.Where(kv => kv.Value == sa).Select(kv => kv.Key).ToList())
        {
            _halfOpenByInitiator.Remove(key);
        }
    }
}
