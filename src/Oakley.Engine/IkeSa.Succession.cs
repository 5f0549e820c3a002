using System.Security.Cryptography;
using Oakley.Crypto.KeyDerivation;
using Oakley.Crypto.Registry;

namespace Oakley.Engine;

/// <summary>
/// How one IKE SA hands over to another: the successor of an IKE rekey (RFC 7296 §2.18), the undecided states of a
/// rekey collision (§2.8.2), and make-before-break reauthentication. Two SAs talk only through the internal methods
/// here, never through each other's fields (one responsibility of <see cref="IkeSa"/>).
/// </summary>
public sealed partial class IkeSa
{
    /// <summary>This SA was replaced by a rekey: its CHILD SAs live in the successor; it only waits to be deleted.</summary>
    private DateTimeOffset? _rekeyedAway;

    /// <summary>The peer's rekey of this SA that crossed ours (§2.8.2), until the nonces decide.</summary>
    private IkeSa? _peerIkeRekey;

    /// <summary>The SA this one replaced, while a rekey collision is undecided (this SA holds no CHILD SAs yet).</summary>
    private IkeSa? _predecessor;

    /// <summary>The SA that replaced this one (CHILD SA deletes that cross the rekey are applied there).</summary>
    private IkeSa? _successor;

    /// <summary>A rekey collision made this SA redundant (§2.8.2): it goes away without an IkeSaDown.</summary>
    private bool _redundant;

    private DateTimeOffset? _redundantSince;

    /// <summary>The IKE SA this one reauthenticates (make-before-break): deleted once this one carries its CHILD SAs.</summary>
    private IkeSa? _reauthOf;

    /// <summary>A reauthentication of this SA is under way (its replacement is negotiating).</summary>
    private bool _reauthStarted;

    internal bool IsRekeyedAway => _rekeyedAway is not null;

    internal IkeSa? ReauthOf => _reauthOf;

    internal IkeSa? Successor => _successor;

    /// <summary>The peer's rekey of this SA that is still undecided against ours (§2.8.2).</summary>
    internal IkeSa? PeerIkeRekey => _peerIkeRekey;

    /// <summary>This SA, or one it is tied to, is in the middle of an IKE rekey: no CHILD SA is created or rekeyed on it (§2.25.2).</summary>
    internal bool InIkeRekey => IsRekeyedAway || _peerIkeRekey is not null || _predecessor is not null;

    /// <summary>A redundant or rekeyed-away SA lingers at most a minute for the peer's delete.</summary>
    private DateTimeOffset SuccessionDeadline
    {
        get
        {
            var d = _rekeyedAway is { } since ? since + TimeSpan.FromMinutes(1) : DateTimeOffset.MaxValue;
            return _redundantSince is { } r && r + TimeSpan.FromMinutes(1) < d ? r + TimeSpan.FromMinutes(1) : d;
        }
    }

    private bool SuccessionEnded(DateTimeOffset now)
    {
        if (_rekeyedAway is { } since && State == IkeSaState.Deleting && Window.IsFree && now >= since + TimeSpan.FromMinutes(1))
        {
            Destroy(now, "rekeyed");
            return true;
        }

        if (_redundantSince is { } r && Window.IsFree && now >= r + TimeSpan.FromMinutes(1))
        {
            Destroy(now, "redundant after a rekey collision, not deleted by the peer");
            return true;
        }

        return false;
    }

    /// <summary>What an SA that goes settles with the SAs it is tied to (reauthentication, an undecided rekey collision).</summary>
    private void SettleSuccessionOnDestroy(DateTimeOffset now)
    {
        if (_reauthOf is { } reauthenticated && reauthenticated.State == IkeSaState.Established)
        {
            _reauthOf = null;
            reauthenticated.ReauthFailed(now);
        }

        if (_predecessor is { } predecessor)
        {
            // The peer deleted its side of a rekey collision before we decided: the collision is void (§2.8.2).
            _redundant = true;
            predecessor.PeerRekeyWithdrawn(this);
        }

        if (_peerIkeRekey is { } undecided)
        {
            // Our rekey lost or never finished, but the peer's rekey of this SA did: its SA carries on.
            _peerIkeRekey = null;
            HandOver(now, undecided);
        }
    }

    private void PeerRekeyWithdrawn(IkeSa theirs)
    {
        if (_peerIkeRekey == theirs)
        {
            _peerIkeRekey = null;
            Touch();
        }
    }

    /// <summary>Records the peer's successor while our own rekey is in flight: the nonces decide when our response comes.</summary>
    internal void PeerRekeyCrossed(IkeSa theirs) => _peerIkeRekey = theirs;

    /// <summary>Takes the undecided peer successor (null if none) for the caller to decide on.</summary>
    internal IkeSa? TakePeerIkeRekey()
    {
        var theirs = _peerIkeRekey;
        _peerIkeRekey = null;
        return theirs;
    }

    /// <summary>The replacement from a reauthentication failed before it was up: try again in a while (until the hard lifetime).</summary>
    internal void ReauthFailed(DateTimeOffset now)
    {
        Touch();
        _reauthStarted = false;
        ReauthAt = now + TimeSpan.FromSeconds(30 + (30 * RandomFraction()));
        _services.EmitAlert(now, Id, "reauthentication failed: retrying");
    }

    /// <summary>Makes this (new) IKE SA the replacement of <paramref name="old"/>: no INITIAL_CONTACT; the old SA goes once the CHILD SAs are here.</summary>
    internal void ReauthenticateFor(IkeSa old)
    {
        Touch();
        _reauthOf = old;
    }

    /// <summary>This SA's queue ran empty: if it reauthenticated another, that one goes now (make-before-break).</summary>
    internal void FinishReauthentication(DateTimeOffset now)
    {
        if (_reauthOf is { } replaced)
        {
            _reauthOf = null;
            _services.EmitAlert(now, Id, $"reauthenticated IKE SA #{replaced.Id}: deleting it");
            replaced.Terminate(now);
        }
    }

    /// <summary>
    /// Builds a rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), SK_* = prf+(SKEYSEED, Ni | Nr |
    /// SPIi | SPIr) with the new SPIs (§2.18); message IDs restart at 0. It takes a copy of this SA's path whole. It is
    /// registered (messages reach it) but holds no CHILD SAs until <see cref="HandOver"/> makes it the successor. It
    /// keeps this SA's unique ID, so that the host sees one IKE SA whose SPIs changed.
    /// </summary>
    internal IkeSa NewSuccessor(DateTimeOffset now, bool initiator, ulong spiI, ulong spiR, AlgorithmProposal selected, byte[] nonceI, byte[] nonceR, byte[] shared)
    {
        var suite = ProposalNegotiation.Resolve(selected);
        var skeyseed = Ikev2KeySchedule.DeriveRekeySkeyseed(_keys!.Suite.Prf!, _keys.Keys.SK_d, shared, nonceI, nonceR);
        var keys = Ikev2KeySchedule.DeriveKeys(suite.Prf!, skeyseed, nonceI, nonceR, spiI, spiR, suite.Encryption.KeyMaterialSize, suite.Integrity?.KeySize ?? 0);
        CryptographicOperations.ZeroMemory(skeyseed);
        CryptographicOperations.ZeroMemory(shared);
        var next = new IkeSa(_services, Id, Config, initiator, spiI, spiR, _path.Clone(), now)
        {
            State = IkeSaState.Established,
            EstablishedAt = now,
            NonceI = nonceI,
            NonceR = nonceR,
            _lastInbound = now,
            _lastSent = now,
            _predecessor = this,

            // The rekey's initiator has the peer's response: the peer holds the new SA. Its responder waits for proof.
            PeerKnowsSa = initiator,
        };
        next.SetKeys(suite.Proposal, new IkeSaKeys(suite, keys));
        next.RemoteIdentity = RemoteIdentity;
        next.InheritRemoteAccess(this);
        _services.Apply(new SaTableChange(SaTableChangeKind.Registered, next));
        _services.Keylog?.Invoke(next, keys);
        return next;
    }

    /// <summary>A rekey collision made this SA redundant (§2.8.2): its creator, the peer, deletes it.</summary>
    internal void MarkRedundant(DateTimeOffset now)
    {
        _redundant = true;
        _redundantSince = now;
        Touch();
    }

    /// <summary>Our redundant successor of a lost collision: it goes without an IkeSaDown, with a delete to the peer.</summary>
    internal void TerminateRedundant(DateTimeOffset now)
    {
        _redundant = true;
        Terminate(now);
    }

    /// <summary>Makes <paramref name="next"/> the successor: the CHILD SAs and queued work move over; this SA waits to be deleted.</summary>
    internal void HandOver(DateTimeOffset now, IkeSa next)
    {
        next.TakeOver(now, _children, Tasks, ReauthSchedule, _reauthStarted);
        _children.Clear();
        _successor = next;
        _rekeyedAway = now;
        State = IkeSaState.Deleting;
        _services.Emit(new IkeSaRekeyed(now, Id, Config.Name, SpiI, SpiR, next.SpiI, next.SpiR));
        // §2.18: whoever sent the rekey's CREATE_CHILD_SA is the new SA's original initiator.
        _services.Counters.Count(next.IsOriginalInitiator ? IkeCounter.IkeRekeyInit : IkeCounter.IkeRekeyResp, Config.Name);
    }

    /// <summary>The successor's half of <see cref="HandOver"/>.</summary>
    private void TakeOver(DateTimeOffset now, List<ChildSa> children, TaskManager work, (DateTimeOffset, DateTimeOffset, DateTimeOffset) reauth, bool reauthStarted)
    {
        Touch();
        _predecessor = null;
        foreach (var c in children)
        {
            AdoptChild(c);

            // Message IDs restart with the new SA. The rekey could only complete with no CHILD exchange of the peer's
            // pending (it would have answered TEMPORARY_FAILURE), so the peer has every answer we sent.
            c.UnconfirmedSinceRequest = null;
        }

        // A terminate that waited for the rekey applies to the SA that lives on. It goes out from the successor's
        // next timeout, after the rekey's response (a rekey responder's delete must not overtake it).
        Tasks.TakeQueuedWork(work);
        ScheduleIkeRekey(now, reauth);
        _reauthStarted = reauthStarted;
    }
}
