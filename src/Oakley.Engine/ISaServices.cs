using System.Net;
using Oakley.Crypto;
using Oakley.Crypto.KeyDerivation;

namespace Oakley.Engine;

/// <summary>
/// What an SA may ask of the endpoint that owns it: entropy, settings, secrets, fresh SPIs and nonces, transmission,
/// events, and the endpoint's policy decisions (which connection an identity belongs to, swanctl <c>unique</c>,
/// starting a reauthentication). Changes to the endpoint's SA tables go back as <see cref="SaTableChange"/>s that the
/// endpoint applies. An SA holds this narrow interface, never the endpoint itself, and never another SA's state.
/// </summary>
internal interface ISaServices
{
    EngineSettings Settings { get; }

    IEntropySource Entropy { get; }

    ISecretStore Secrets { get; }

    /// <summary>The RADIUS relay for <c>eap-radius</c> rounds, if the host configured one.</summary>
    Eap.IEapAaa? EapAaa { get; }

    /// <summary>The virtual IP pools and their leases.</summary>
    Pools.PoolSet Pools { get; }

    /// <summary>The SA holds a request for an EAP server (<see cref="IkeSa.HeldRequest"/>) until <see cref="Endpoint.Resume"/>.</summary>
    void NoteHeld(IkeSa sa);

    EndpointStats Stats { get; }

    /// <summary>The host's message, exchange and rekey counters (<see cref="IIkeCounterSink"/>).</summary>
    IIkeCounterSink Counters { get; }

    /// <summary>The Wireshark keylog hook (only when the user asked for a keylog file).</summary>
    Action<IkeSa, Ikev2KeyMaterial>? Keylog { get; }

    byte[] NewNonce();

    ulong NewIkeSpi();

    uint NewChildSpi();

    void Send(IPEndPoint local, IPEndPoint remote, byte[] datagram);

    void SendKeepalive(IPEndPoint local, IPEndPoint remote);

    void Emit(EngineEvent e);

    /// <summary>An alert; <paramref name="refusedConnection"/>: a responder refused the peer's authentication for that connection.</summary>
    void EmitAlert(DateTimeOffset now, long id, string message, string? refusedConnection = null);

    /// <summary>The connection an authenticated peer identity belongs to (the current one if it fits), or null.</summary>
    IkeConfig? FindConfigForIdentity(IkeConfig current, Identity remoteId, IPEndPoint remote);

    /// <summary>swanctl <c>unique</c> and INITIAL_CONTACT for an SA that just authenticated; false: refuse it.</summary>
    bool EnforceUniqueness(DateTimeOffset now, IkeSa fresh, bool initialContact);

    /// <summary>Starts the make-before-break replacement of <paramref name="old"/> (reauth_time).</summary>
    void Reauthenticate(DateTimeOffset now, IkeSa old);

    /// <summary>Applies a change of the SA tables, the half-open counts or the timer queue.</summary>
    void Apply(in SaTableChange change);
}

internal enum SaTableChangeKind
{
    /// <summary>The SA's deadline may have moved (timer queue).</summary>
    Touched,

    /// <summary>A new SA (a rekey's successor) is to be routed to.</summary>
    Registered,

    /// <summary>The SA is gone.</summary>
    Removed,

    /// <summary>The SA now holds the CHILD SA with <see cref="SaTableChange.ChildSpi"/> as inbound SPI.</summary>
    ChildAdded,

    /// <summary>The CHILD SA with <see cref="SaTableChange.ChildSpi"/> as inbound SPI is gone.</summary>
    ChildRemoved,

    /// <summary>The SA's authenticated peer identity changed from <see cref="SaTableChange.OldIdentity"/>.</summary>
    RemoteIdentityChanged,

    /// <summary>A responder SA from <see cref="SaTableChange.Source"/> became half-open.</summary>
    HalfOpenBegun,

    /// <summary>A responder SA from <see cref="SaTableChange.Source"/> is no longer half-open.</summary>
    HalfOpenEnded,
}

/// <summary>One change an SA reports to the endpoint's tables (a value: reporting one allocates nothing).</summary>
internal readonly record struct SaTableChange(SaTableChangeKind Kind, IkeSa Sa, uint ChildSpi = 0, Identity? OldIdentity = null, IPAddress? Source = null);
