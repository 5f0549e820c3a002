using Oakley.Crypto.Registry;

namespace Oakley.Engine;

/// <summary>
/// A reload (load-all, SIGHUP, a VICI load-conn) that keeps this SA: the new configuration object is taken over in
/// place, lifetimes and DPD follow the new values at once, and CHILD SAs whose child went or changed its selectors
/// are replaced on their own (one responsibility of <see cref="IkeSa"/>).
/// </summary>
public sealed partial class IkeSa
{
    /// <summary>When the current IKE keys were made (establishment or the last rekey): rekey_time counts from here.</summary>
    private DateTimeOffset _keysFrom;

    /// <summary>When the peer last authenticated (establishment or the last reauthentication): reauth_time counts from here.</summary>
    private DateTimeOffset _authenticatedFrom;

    /// <summary>
    /// Takes over <paramref name="next"/>, a configuration of this SA's connection whose negotiation (addresses,
    /// proposals, identities, authentication, virtual IPs) is the same as the running one's
    /// (<see cref="IkeConfig.NegotiationFingerprint"/>). What changed applies without a new IKE SA:
    /// <list type="bullet">
    /// <item>rekey_time, reauth_time, over_time, rand_time: the schedule is computed again from when the current keys
    /// (authentication) began, so a shorter time that has already passed rekeys (reauthenticates) now;</item>
    /// <item>dpd_delay: the next liveness check follows it from the last packet received;</item>
    /// <item>unique, send_cert, send_certreq, fragmentation and the like: from their next use;</item>
    /// <item>a child whose lifetimes or volume limits changed: its CHILD SAs keep their keys and are rescheduled the
    /// same way (from their installation);</item>
    /// <item>a child whose proposals changed: its CHILD SAs are rekeyed now, so the new proposals are negotiated;</item>
    /// <item>a child that is gone, or whose selectors or mode changed: its CHILD SAs are deleted, and created again
    /// on the new selectors when this side initiated the IKE SA (a responder leaves that to its initiator's policy).</item>
    /// </list>
    /// Returns whether anything but the configuration object changed.
    /// </summary>
    internal bool Adopt(DateTimeOffset now, IkeConfig next)
    {
        Touch();
        var previous = Config;
        Config = next;
        var changed = !ReferenceEquals(previous, next) && previous.Fingerprint() != next.Fingerprint(); // the same object: a connection the loader did not build again
        if (State == IkeSaState.Established && !IsRekeyedAway && HasNewIkeTimes(previous, next))
        {
            RescheduleIke(now);
        }

        foreach (var child in _children.ToList())
        {
            AdoptChild(now, child, next);
        }

        return changed;
    }

    private static bool HasNewIkeTimes(IkeConfig a, IkeConfig b) =>
        a.RekeyTime != b.RekeyTime || a.ReauthTime != b.ReauthTime || a.OverTime != b.OverTime || a.RandTime != b.RandTime;

    /// <summary>The IKE SA's rekey and reauthentication times under the new configuration, from when each began (never before now).</summary>
    private void RescheduleIke(DateTimeOffset now)
    {
        var range = Config.RandTime ?? Config.EffectiveOverTime;
        DateTimeOffset Due(DateTimeOffset from, TimeSpan interval)
        {
            if (interval <= TimeSpan.Zero)
            {
                return DateTimeOffset.MaxValue;
            }

            var jitter = range * RandomFraction();
            var due = from + interval - (jitter < interval ? jitter : TimeSpan.Zero);
            return due < now ? now : due;
        }

        IkeRekeyAt = Due(_keysFrom, Config.RekeyTime);
        ReauthAt = _reauthStarted ? ReauthAt : Due(_authenticatedFrom, Config.ReauthTime);
        // The hard lifetime keeps over_time after each renewal, so a renewal started now has its margin.
        var rekeyExpiry = IkeRekeyAt == DateTimeOffset.MaxValue ? DateTimeOffset.MaxValue : Later(_keysFrom + Config.RekeyTime, IkeRekeyAt) + Config.EffectiveOverTime;
        _reauthExpireAt = ReauthAt == DateTimeOffset.MaxValue ? DateTimeOffset.MaxValue : Later(_authenticatedFrom + Config.ReauthTime, ReauthAt) + Config.EffectiveOverTime;
        ExpireAt = rekeyExpiry < _reauthExpireAt ? rekeyExpiry : _reauthExpireAt;
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>One CHILD SA under the reloaded configuration (see <see cref="Adopt"/>).</summary>
    private void AdoptChild(DateTimeOffset now, ChildSa child, IkeConfig next)
    {
        if (child.Replaced)
        {
            return; // already on its way out (rekeyed or being deleted): its successor gets the new configuration
        }

        var config = next.Children.FirstOrDefault(c => c.Name == child.Config.Name);
        if (config is null || config.SelectorFingerprint() != child.Config.SelectorFingerprint())
        {
            // Make before break: the new CHILD SA is negotiated before the old one is deleted.
            if (config is not null && IsOriginalInitiator && State == IkeSaState.Established)
            {
                CreateChild(now, config);
            }

            DeleteChild(now, child.InboundSpi);

            return;
        }

        var previous = child.Config;
        child.Reconfigure(config);
        if (ProposalString.FormatList(previous.EspProposals) != ProposalString.FormatList(config.EspProposals))
        {
            RekeyChild(now, child.InboundSpi);
        }
        else if (previous.LifetimeFingerprint() != config.LifetimeFingerprint())
        {
            RescheduleChild(now, child, config);
        }
    }

    /// <summary>A CHILD SA's rekey and expiry under new lifetimes, from its installation; a rekey already due happens now.</summary>
    private void RescheduleChild(DateTimeOffset now, ChildSa child, ChildConfig config)
    {
        var rekeyAt = config.RekeyTime > TimeSpan.Zero ? child.Installed + config.RekeyTime - Jitter(config) : DateTimeOffset.MaxValue;
        child.RekeyAt = rekeyAt < now ? now : rekeyAt;
        if (config.LifeTime <= TimeSpan.Zero)
        {
            child.ExpireAt = DateTimeOffset.MaxValue;
            return;
        }

        // A rekey started by the reload keeps the margin between rekey and life time before the hard expiry.
        var expireAt = child.Installed + config.LifeTime;
        var margin = config.RekeyTime > TimeSpan.Zero ? config.LifeTime - config.RekeyTime : TimeSpan.Zero;
        child.ExpireAt = child.RekeyAt != DateTimeOffset.MaxValue && expireAt < child.RekeyAt + margin ? child.RekeyAt + margin : expireAt;
    }
}
