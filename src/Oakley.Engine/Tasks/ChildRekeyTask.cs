using System.Buffers.Binary;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using static Oakley.Engine.Tasks.ExchangeHelpers;

namespace Oakley.Engine.Tasks;

/// <summary>
/// Rekeying a CHILD SA (RFC 7296 §1.3.3, §2.8): a CREATE_CHILD_SA with REKEY_SA naming the old SA. The initiator installs
/// the new SA and deletes the old one; the responder marks the old one replaced and waits for that delete. Collisions
/// live here: a simultaneous rekey of one SA is decided by the lowest of the four nonces (§2.8.1), a rekey of a replaced
/// SA is answered TEMPORARY_FAILURE, of an unknown one CHILD_SA_NOT_FOUND, and refused rekeys are retried (§2.25).
/// </summary>
internal sealed class ChildRekeyTask : ChildCreateTask
{
    private readonly ChildSa? _old;

    /// <summary>When the rekey was sent, the peer had not yet shown it holds the SA (see <see cref="ChildSa.UnconfirmedSinceRequest"/>).</summary>
    private readonly bool _oldUnconfirmed;

    /// <summary>The initiator's rekey of <paramref name="old"/>, or the responder's task (null).</summary>
    public ChildRekeyTask(IkeSa sa, ChildSa? old)
        : base(sa, old?.Config)
    {
        _old = old;
        _oldUnconfirmed = old?.UnconfirmedSinceRequest is not null;
    }

    public override ChildSa? Rekeys => _old;

    protected override void AddRekeyNotify(List<IkePayload> request) =>
        // §1.3.3: the notify names the SA being rekeyed by the SPI the peer sends to us.
        request.Add(new NotifyPayload(ProtocolId.Esp, SpiBytes(_old!.InboundSpi), NotifyType.RekeySa, default));

    /// <summary>
    /// Our rekey of the old SA produced <paramref name="successor"/>. Without a collision the old SA is deleted now (its
    /// inbound half stays installed until the peer confirms). If the peer rekeyed the same SA at the same time (§2.8.1),
    /// the new SA created with the lowest of the four nonces is redundant and its creator deletes it; the creator of the
    /// surviving one deletes the old SA.
    /// </summary>
    protected override void Installed(DateTimeOffset now, ChildSa successor, byte[] nonceR)
    {
        var old = _old!;
        var services = Sa.Services;
        if (old.PeerRekey is { } theirs && Loses(Nonce, nonceR, theirs.NonceI, theirs.NonceR))
        {
            // Ours is redundant, even if the peer (the winner) has already deleted the old SA or its own new one.
            services.EmitAlert(now, Sa.Id, $"CHILD SA '{old.Config.Name}' rekey collision lost: deleting our redundant {successor.InboundSpi:x8}_i");
            successor.Replaced = true;
            Sa.Tasks.QueueDelete(successor);
            return;
        }

        if (old.PeerRekey is not null)
        {
            services.EmitAlert(now, Sa.Id, $"CHILD SA '{old.Config.Name}' rekey collision won: deleting the old {old.InboundSpi:x8}_i");
        }

        services.Counters.Count(IkeCounter.ChildRekey, Sa.Config.Name);

        if (Sa.Holds(old))
        {
            Sa.Tasks.QueueDelete(old); // else it expired or the peer deleted it meanwhile: nothing left to delete
        }
    }

    /// <summary>A rekey the peer refused: try again later (TEMPORARY_FAILURE, errors) or start over (CHILD_SA_NOT_FOUND).</summary>
    protected override void Refused(DateTimeOffset now, NotifyType? error, string reason, bool badAnswer)
    {
        var old = _old!;
        if (badAnswer)
        {
            Sa.Services.EmitAlert(now, Sa.Id, reason);
        }

        if (!Sa.Holds(old))
        {
            if (error != NotifyType.ChildSaNotFound)
            {
                // The CHILD SA moved to the successor of a rekeyed IKE SA meanwhile: it still needs its rekey there.
                old.Replaced = false;
                old.RekeyAt = now + TimeSpan.FromSeconds(5 + (5 * Sa.RandomFraction()));
            }

            return;
        }

        if (error == NotifyType.ChildSaNotFound && old.UnconfirmedSinceRequest is null && !_oldUnconfirmed)
        {
            // §2.25: the peer has no such SA; ours is useless. Replace it with a fresh one. (Not for an SA we created
            // answering the peer and that the peer may not have installed yet: our answer may still be on its way,
            // and dropping our half now would orphan the peer's once it arrives. That one is retried below.)
            Sa.Services.EmitAlert(now, Sa.Id, $"CHILD SA '{old.Config.Name}' unknown to the peer: creating a new one");
            Sa.RemoveChild(now, old);
            Sa.Tasks.QueueChild(old.Config);
            return;
        }

        if (old.PeerRekey is not null)
        {
            return; // the peer's rekey of it succeeded: its new SA replaces it and the peer deletes this one
        }

        // §2.25: TEMPORARY_FAILURE (a collision, or an exchange in progress) means "retry in a few seconds".
        old.Replaced = false;
        var soon = error is NotifyType.TemporaryFailure or NotifyType.ChildSaNotFound;
        var retry = soon ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30);
        old.RekeyAt = now + retry + TimeSpan.FromSeconds(5 * Sa.RandomFraction());
        if (!soon)
        {
            Sa.Services.EmitAlert(now, Sa.Id, $"rekeying CHILD SA '{old.Config.Name}' failed ({error?.ToString() ?? "incomplete response"}): retrying");
        }
    }

    public override TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        var payloads = request.Payloads;
        if (CheckCreateChild(Sa, payloads, ikeRekey: false, out var refusal) is not { } nonce)
        {
            Refuse(refusal!);
            return TaskOutcome.Done;
        }

        var rekey = payloads.OfType<NotifyPayload>().First(n => n.NotifyType == NotifyType.RekeySa);
        if (rekey.Protocol is not (ProtocolId.Esp or ProtocolId.Ah) || rekey.Spi.Length != 4)
        {
            throw IkeProtocolException.InvalidSyntax("REKEY_SA without an ESP/AH SPI");
        }

        // The SPI is the one the peer receives on: our outbound SPI of that SA.
        if (Sa.ChildByOutboundSpi(BinaryPrimitives.ReadUInt32BigEndian(rekey.Spi.Span)) is not { } old)
        {
            Refuse(new NotifyPayload(rekey.Protocol, rekey.Spi, NotifyType.ChildSaNotFound, default));
            return TaskOutcome.Done;
        }

        if (old.Replaced && Sa.Tasks.ChildExchange?.Rekeys != old)
        {
            // We already replaced it (our delete is on its way) or are deleting it: §2.25, try later.
            Refuse(new NotifyPayload(NotifyType.TemporaryFailure));
            return TaskOutcome.Done;
        }

        CreateAnswering(now, request, nonce, out var created, rekeys: old);
        if (created.Installed is { } successor)
        {
            if (old.Replaced)
            {
                old.PeerRekey = (created.NonceI, created.NonceR, successor); // we are rekeying it too: resolved when our response comes
                Sa.Services.Counters.RekeyCollision(Sa.Config.Name, ikeSa: false);
                Sa.Services.EmitAlert(now, Sa.Id, $"CHILD SA '{old.Config.Name}' rekey collision: the peer rekeys it too; the nonces decide (RFC 7296 §2.8.1)");
            }
            else
            {
                old.Replaced = true; // the peer deletes it once it has the new one
                Sa.Services.Counters.Count(IkeCounter.ChildRekey, Sa.Config.Name);
            }
        }

        return TaskOutcome.Done;
    }
}
