using System.Buffers.Binary;
using Oakley.Engine.Tasks;

namespace Oakley.Engine;

/// <summary>The SA's own clock: lifetimes, timeouts and retransmission, establishment and destruction (one responsibility of <see cref="IkeSa"/>).</summary>
public sealed partial class IkeSa
{
    /// <summary>When this side rekeys the IKE SA (swanctl rekey_time minus up to 10% at random); MaxValue: never.</summary>
    public DateTimeOffset IkeRekeyAt
    {
        get => _ikeRekeyAt;
        internal set
        {
            _ikeRekeyAt = value;
            Touch();
        }
    }

    private DateTimeOffset _ikeRekeyAt = DateTimeOffset.MaxValue;

    /// <summary>When this side reauthenticates (reauth_time minus up to rand_time); MaxValue: never.</summary>
    public DateTimeOffset ReauthAt { get; private set; } = DateTimeOffset.MaxValue;

    /// <summary>The hard lifetime (rekey/reauth time + over_time): the IKE SA is deleted then if it was not renewed.</summary>
    public DateTimeOffset ExpireAt { get; private set; } = DateTimeOffset.MaxValue;

    private DateTimeOffset _reauthExpireAt = DateTimeOffset.MaxValue;

    /// <summary>
    /// IKE SA lifetimes as swanctl sets them: rekey at rekey_time and reauthenticate at reauth_time, each minus a random
    /// part of rand_time (default over_time); the SA expires over_time after the earlier of the two. A rekey renews
    /// the keys (a new rekey schedule) but not the authentication, so the reauthentication time carries over.
    /// </summary>
    private void ScheduleIkeRekey(DateTimeOffset now, (DateTimeOffset At, DateTimeOffset ExpireAt, DateTimeOffset From)? carriedReauth = null)
    {
        var range = Config.RandTime ?? Config.EffectiveOverTime;
        DateTimeOffset Due(TimeSpan interval)
        {
            var jitter = range * RandomFraction();
            return now + interval - (jitter < interval ? jitter : TimeSpan.Zero);
        }

        _keysFrom = now;

        IkeRekeyAt = Config.RekeyTime > TimeSpan.Zero ? Due(Config.RekeyTime) : DateTimeOffset.MaxValue;
        var rekeyExpiry = Config.RekeyTime > TimeSpan.Zero ? now + Config.RekeyTime + Config.EffectiveOverTime : DateTimeOffset.MaxValue;
        if (carriedReauth is { } reauth)
        {
            ReauthAt = reauth.At;
            _reauthExpireAt = reauth.ExpireAt;
            _authenticatedFrom = reauth.From;
        }
        else
        {
            _authenticatedFrom = now;
            ReauthAt = Config.ReauthTime > TimeSpan.Zero ? Due(Config.ReauthTime) : DateTimeOffset.MaxValue;
            _reauthExpireAt = Config.ReauthTime > TimeSpan.Zero ? now + Config.ReauthTime + Config.EffectiveOverTime : DateTimeOffset.MaxValue;
        }

        ExpireAt = rekeyExpiry < _reauthExpireAt ? rekeyExpiry : _reauthExpireAt;
    }

    /// <summary>The reauthentication schedule a rekey's successor carries over.</summary>
    private (DateTimeOffset At, DateTimeOffset ExpireAt, DateTimeOffset From) ReauthSchedule => (ReauthAt, _reauthExpireAt, _authenticatedFrom);

    internal bool IkeRekeyDue(DateTimeOffset now) => State == IkeSaState.Established && !IsRekeyedAway && now >= IkeRekeyAt;

    /// <summary>A uniform fraction in [0, 1] from the injected entropy (jitter for rekey and retry times).</summary>
    internal double RandomFraction()
    {
        Span<byte> r = stackalloc byte[4];
        _services.Entropy.Fill(r);
        return BinaryPrimitives.ReadUInt32BigEndian(r) / (double)uint.MaxValue;
    }

    /// <summary>IKE_AUTH succeeded (either role): the SA is up and its lifetimes start.</summary>
    internal void Establish(DateTimeOffset now)
    {
        State = IkeSaState.Established;
        EstablishedAt = now;
        _lastInbound = now;
        _halfOpenDeadline = DateTimeOffset.MaxValue;
        ScheduleIkeRekey(now);
        _services.Emit(new IkeSaUp(now, Id, Config.Name, SpiI, SpiR, IsOriginalInitiator, Local, Remote,
            Crypto.Registry.ProposalString.Format(IkeSelected!), Config.LocalId.ToString(), RemoteIdentity?.ToString() ?? string.Empty,
            IsOriginalInitiator ? null : EapIdentity?.ToString(), now - Created));
    }

    internal void HandleTimeout(DateTimeOffset now)
    {
        Touch();
        if (Window.ExpireFragments(now))
        {
            _services.Stats.Drop("fragment reassembly timed out");
        }

        if (SuccessionEnded(now))
        {
            return;
        }

        if (now >= _halfOpenDeadline && State == IkeSaState.Connecting)
        {
            Destroy(now, "half-open SA timed out");
            return;
        }

        if (Window.Pending is { } p && now >= p.Deadline && !Retransmit(now, p))
        {
            return;
        }

        if (State == IkeSaState.Established && now >= ExpireAt && !IsRekeyedAway)
        {
            _services.EmitAlert(now, Id, "IKE SA reached its hard lifetime (over_time) without being renewed: deleting it");
            if (!Window.IsFree)
            {
                Destroy(now, "hard lifetime reached"); // its keys must not be used any longer; a delete would wait for the window
            }
            else
            {
                Terminate(now);
            }

            return;
        }

        if (State == IkeSaState.Established && !IsRekeyedAway && !_reauthStarted && now >= ReauthAt)
        {
            _reauthStarted = true;
            _services.Reauthenticate(now, this);
        }

        if (now >= KeepAliveDue)
        {
            // RFC 3948 §2.3 / RFC 7296 §2.23: behind a NAT, keep its mapping alive when nothing else went out.
            _lastSent = now;
            _services.SendKeepalive(Local, Remote);
        }

        if (State == IkeSaState.Established)
        {
            CheckChildLifetimes(now);
            if (Window.IsFree && now >= DpdDue)
            {
                // RFC 7296 §2.4: an empty INFORMATIONAL; if its retransmissions run out, the peer is dead.
                Tasks.Initiate(now, new LivenessTask(this));
            }
            else if (Window.IsFree && IkeRekeyDue(now))
            {
                Tasks.Initiate(now, new IkeRekeyTask(this));
            }
        }
    }

    /// <summary>
    /// The pending request's deadline passed: resend it on strongSwan's schedule (timeout × base^n), or give up after
    /// retransmit_tries (the SA is destroyed; returns false).
    /// </summary>
    private bool Retransmit(DateTimeOffset now, PendingRequest p)
    {
        var settings = _services.Settings;
        if (p.Retransmits >= settings.RetransmitTries)
        {
            _services.Counters.ExchangeTimedOut(Config.Name, p.Exchange);
            Destroy(now, $"giving up after {p.Retransmits} retransmissions of {p.Exchange}", peerDead: State == IkeSaState.Established);
            return false;
        }

        p.Retransmits++;
        _services.Counters.Retransmitted(Config.Name, p.Exchange, byPeer: false);
        p.Deadline = now + (settings.RetransmitTimeout * Math.Pow(settings.RetransmitBase, p.Retransmits));
        SendAll(now, Local, Remote, p.Datagrams);
        return true;
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
                _services.EmitAlert(now, Id, $"CHILD SA '{child.Config.Name}' {child.InboundSpi:x8}_i reached its hard lifetime");
                RemoveChild(now, child);
                Tasks.QueueDelete(child);
            }
            else if (now >= child.RekeyAt && !child.Replaced)
            {
                Tasks.QueueRekey(child);
            }
        }

        Tasks.StartNext(now);
    }

    /// <summary>Fails the SA: the operator learns why, the SA goes.</summary>
    internal void Fail(DateTimeOffset now, string reason)
    {
        _services.EmitAlert(now, Id, reason);
        Destroy(now, reason);
    }

    internal void Destroy(DateTimeOffset now, string reason, bool peerDead = false, bool closedByPeer = false)
    {
        Touch();
        if (State == IkeSaState.Destroyed)
        {
            return;
        }

        var wasUp = EstablishedAt is not null;
        SettleSuccessionOnDestroy(now);
        foreach (var child in _children.ToList())
        {
            RemoveChild(now, child);
        }

        State = IkeSaState.Destroyed;
        ReleaseLeases();
        Tasks.Clear();
        Window.Clear();
        if ((wasUp || IsOriginalInitiator) && !IsRekeyedAway && !_redundant)
        {
            _services.Emit(new IkeSaDown(now, Id, Config.Name, reason, peerDead, closedByPeer, wasUp));
        }

        _services.Apply(new SaTableChange(SaTableChangeKind.Removed, this));
        Dispose();
    }

    public void Dispose()
    {
        Tasks.Clear();
        _keys?.Dispose();
    }
}
