using System.Buffers.Binary;
using System.Net;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.KeyExchange;
using Oakley.Crypto.Registry;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine;

/// <summary>
/// The endpoint's side of <see cref="ISaServices"/>: what its SAs may ask of it, and the table changes they report
/// (applied here, to the SPI, CHILD SPI and identity indexes, the half-open counts and the timer queue).
/// </summary>
public sealed partial class Endpoint : ISaServices
{

    internal void Send(IPEndPoint local, IPEndPoint remote, byte[] datagram)
    {
        Stats.DatagramsSent++;
        _transmits.Enqueue(new Transmit(local, remote, datagram));
    }

    /// <summary>One NAT keepalive byte (RFC 3948 §2.3); the host sends it without the non-ESP marker.</summary>
    internal void SendKeepalive(IPEndPoint local, IPEndPoint remote)
    {
        Stats.KeepalivesSent++;
        _transmits.Enqueue(new Transmit(local, remote, [0xFF]) { NatKeepalive = true });
    }

    internal void Emit(EngineEvent e)
    {
        if (e is IkeSaUp)
        {
            Stats.IkeSasEstablished++;
        }

        _events.Enqueue(e);
    }

    internal void EmitAlert(DateTimeOffset now, long id, string message, string? refusedConnection = null) => _events.Enqueue(new Alert(now, id, message, refusedConnection));

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
        while (spi == 0 || _table.TryGet(spi, out _));

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
        while (spi < 256 || _table.ChildOwner(spi) is not null); // SPIs 1..255 are reserved (RFC 4303 §2.1)

        return spi;
    }

    internal IkeConfig? FindConfigForIdentity(IkeConfig current, Identity remoteId, IPEndPoint remote)
    {
        bool Fits(IkeConfig c) => AddressMatches(c.RemoteAddresses, remote.Address) && (c.RemoteId is null || c.RemoteId.Matches(remoteId));
        return Fits(current) ? current : _configs.FirstOrDefault(Fits);
    }

    /// <summary>
    /// swanctl <c>unique</c> and INITIAL_CONTACT (RFC 7296 §2.4), applied when an IKE SA authenticates: its older
    /// duplicates (same connection, same peer identity) are dropped silently if the peer says it lost its state
    /// (INITIAL_CONTACT, unless unique = never), deleted with unique = replace; with unique = keep the new SA is
    /// refused (returns false). A reauthentication's own predecessor is not a duplicate.
    /// </summary>
    internal bool EnforceUniqueness(DateTimeOffset now, IkeSa fresh, bool initialContact)
    {
        var policy = fresh.Config.Unique;
        // Without INITIAL_CONTACT only replace and keep look for duplicates: no walk over the peer's SAs otherwise.
        if (policy == UniquePolicy.Never || fresh.RemoteIdentity is not { } fid
            || (!initialContact && policy is not (UniquePolicy.Replace or UniquePolicy.Keep)))
        {
            return true;
        }

        // With EAP the user is the EAP identity (strongSwan's other_eap_id): clients that all send their address as IKE
        // identity, as Windows does, are duplicates only when the same user authenticated.
        var duplicates = _table.WithRemoteId(fid).Where(s => s != fresh && s != fresh.ReauthOf && s.State == IkeSaState.Established && !s.IsRekeyedAway
            && s.Config.Name == fresh.Config.Name && Equals(s.EapIdentity, fresh.EapIdentity)).ToList();
        if (initialContact)
        {
            foreach (var old in duplicates)
            {
                old.Destroy(now, "replaced: peer sent INITIAL_CONTACT");
            }

            return true;
        }

        switch (policy)
        {
            case UniquePolicy.Replace:
                foreach (var old in duplicates)
                {
                    EmitAlert(now, old.Id, $"deleting duplicate IKE SA with '{fid}' (unique = replace)");
                    old.Terminate(now);
                }

                return true;
            case UniquePolicy.Keep:
                return duplicates.Count == 0;
            default:
                return true;
        }
    }

    /// <summary>
    /// Reauthentication (swanctl reauth_time), make-before-break: a new IKE SA to the same peer, without
    /// INITIAL_CONTACT, that re-creates the old SA's CHILD SAs; the old one is deleted when they are up.
    /// </summary>
    internal void Reauthenticate(DateTimeOffset now, IkeSa old)
    {
        var config = old.Config;
        if (config.RemoteAddresses.Count == 0 && old.Remote.Address.Equals(IPAddress.Any))
        {
            EmitAlert(now, old.Id, "cannot reauthenticate: no peer address");
            return;
        }

        var remote = new IPEndPoint(old.Remote.Address, config.RemotePort);
        var local = new IPEndPoint(old.Local.Address, Settings.IkePort);
        var children = old.Children.Select(c => c.Config).Distinct().ToList();
        var sa = new IkeSa(this, _nextId++, config, true, NewIkeSpi(), 0, local, remote, now);
        sa.ReauthenticateFor(old);
        Register(sa);
        EmitAlert(now, old.Id, $"reauthenticating: new IKE SA #{sa.Id}");
        sa.StartInitiator(now, children.FirstOrDefault());
        foreach (var child in children.Skip(1))
        {
            sa.CreateChild(now, child);
        }
    }

    /// <summary>Whether the SA tables' indexes agree with the SAs (tests check it after every script).</summary>
    internal bool IndexesConsistent => _table.IndexesConsistent;

    /// <summary>Adds an IKE SA (initiated, answering IKE_SA_INIT, or made by a rekey or a reauthentication).</summary>
    internal void Register(IkeSa sa)
    {
        _table.Add(sa);
        _timers.Add(sa);
    }

    void ISaServices.Apply(in SaTableChange change)
    {
        var sa = change.Sa;
        switch (change.Kind)
        {
            case SaTableChangeKind.Touched:
                _timers.Touch(sa);
                break;
            case SaTableChangeKind.Registered:
                Register(sa);
                break;
            case SaTableChangeKind.Removed:
                Remove(sa);
                break;
            case SaTableChangeKind.ChildAdded:
                _table.SetChildOwner(change.ChildSpi, sa);
                break;
            case SaTableChangeKind.ChildRemoved:
                _table.SetChildOwner(change.ChildSpi, null);
                break;
            case SaTableChangeKind.RemoteIdentityChanged:
                _table.RemoteIdentityChanged(sa, change.OldIdentity, sa.RemoteIdentity);
                break;
            case SaTableChangeKind.HalfOpenBegun:
                _halfOpenCounts.Begun(change.Source!);
                break;
            case SaTableChangeKind.HalfOpenEnded:
                _halfOpenCounts.Ended(change.Source!);
                break;
        }
    }

    internal void Remove(IkeSa sa)
    {
        _table.Remove(sa);
        ForgetHeld(sa);
        _timers.Remove(sa);
        if (sa.InitRequestKey is { } key && _halfOpenByInitiator.TryGetValue(key, out var owner) && owner == sa)
        {
            _halfOpenByInitiator.Remove(key);
        }
    }

    // The services an SA may use (see ISaServices); the endpoint uses the same members itself.
    Action<IkeSa, Ikev2KeyMaterial>? ISaServices.Keylog => Keylog;

    IIkeCounterSink ISaServices.Counters => Counters;

    void ISaServices.Send(IPEndPoint local, IPEndPoint remote, byte[] datagram) => Send(local, remote, datagram);

    void ISaServices.SendKeepalive(IPEndPoint local, IPEndPoint remote) => SendKeepalive(local, remote);

    void ISaServices.Emit(EngineEvent e) => Emit(e);

    void ISaServices.EmitAlert(DateTimeOffset now, long id, string message, string? refusedConnection) => EmitAlert(now, id, message, refusedConnection);

    byte[] ISaServices.NewNonce() => NewNonce();

    ulong ISaServices.NewIkeSpi() => NewIkeSpi();

    uint ISaServices.NewChildSpi() => NewChildSpi();

    IkeConfig? ISaServices.FindConfigForIdentity(IkeConfig current, Identity remoteId, IPEndPoint remote) => FindConfigForIdentity(current, remoteId, remote);

    bool ISaServices.EnforceUniqueness(DateTimeOffset now, IkeSa fresh, bool initialContact) => EnforceUniqueness(now, fresh, initialContact);

    void ISaServices.Reauthenticate(DateTimeOffset now, IkeSa old) => Reauthenticate(now, old);
}
