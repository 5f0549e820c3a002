using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Testing;

namespace Oakley.Engine.Tests;

/// <summary>One datagram held on the wire, with its protected payloads decrypted with the sender's keys.</summary>
internal sealed record WireMessage(bool FromA, byte[] Datagram, IkeMessage Header, IReadOnlyList<IkePayload> Inner)
{
    public ExchangeType Exchange => Header.ExchangeType;

    public bool IsResponse => Header.IsResponse;

    public IEnumerable<NotifyType> Notifies => Inner.OfType<NotifyPayload>().Select(n => n.NotifyType);

    public bool Has<T>() where T : IkePayload => Inner.OfType<T>().Any();

    /// <summary>True for a CREATE_CHILD_SA request that rekeys the IKE SA (an IKE proposal, no REKEY_SA).</summary>
    public bool IsIkeRekey => Exchange == ExchangeType.CreateChildSa && Inner.OfType<SecurityAssociationPayload>().Any(s => s.Proposals.Any(p => p.Protocol == ProtocolId.Ike));

    public override string ToString() =>
        $"{(FromA ? "A->B" : "B->A")} {Exchange} {(IsResponse ? "response" : "request")} #{Header.MessageId} [{string.Join(",", Inner.Select(p => p is NotifyPayload n ? $"N({n.NotifyType})" : p.Type.ToString()))}]";
}

/// <summary>
/// Message scripts in the style of strongSwan's exchange tests: every datagram an endpoint sends is held until the
/// script takes it and delivers it (or drops it, or delivers it later), so that a test can set up any crossing of
/// exchanges. Time moves only when the script says so.
/// </summary>
internal sealed class Wire
{
    private readonly Queue<WireMessage> _fromA = new();
    private readonly Queue<WireMessage> _fromB = new();

    // Decrypts with copies of every IKE SA's keys (an SA may be gone by the time its last message is read) and
    // checks each message against the payload rules.
    private readonly PayloadRuleWatch _watch;

    public Wire(EnginePair pair)
    {
        Pair = pair;
        Now = pair.Now;
        _watch = new PayloadRuleWatch(pair.A, pair.B);
        Pump();
    }

    public EnginePair Pair { get; }

    public Endpoint A => Pair.A;

    public Endpoint B => Pair.B;

    public DateTimeOffset Now { get; private set; }

    public List<string> Log { get; } = [];

    public Endpoint Side(bool a) => a ? A : B;

    public IkeSa Ike(bool a) => Assert.Single(Side(a).IkeSas, s => s.State != IkeSaState.Deleting);

    public List<EngineEvent> Events(bool a) => a ? Pair.EventsA : Pair.EventsB;

    /// <summary>Datagrams waiting on the wire from A (or B).</summary>
    public int Waiting(bool fromA)
    {
        Pump();
        return (fromA ? _fromA : _fromB).Count;
    }

    /// <summary>Takes the next datagram that A (or B) sent off the wire without delivering it.</summary>
    public WireMessage Take(bool fromA)
    {
        Pump();
        var queue = fromA ? _fromA : _fromB;
        Assert.True(queue.Count > 0, $"{(fromA ? "A" : "B")} sent nothing; script so far:\n{string.Join("\n", Log)}");
        return queue.Dequeue();
    }

    /// <summary>Takes the next datagram of A (or B) and checks it is a request or response of the exchange.</summary>
    public WireMessage Expect(bool fromA, ExchangeType exchange, bool response)
    {
        var m = Take(fromA);
        Assert.True(m.Exchange == exchange && m.IsResponse == response, $"expected {exchange} {(response ? "response" : "request")}, got {m}\n{string.Join("\n", Log)}");
        return m;
    }

    public void Deliver(WireMessage m)
    {
        Log.Add(m.ToString());
        var (target, local, remote) = m.FromA ? (B, Pair.AddressB, Pair.AddressA) : (A, Pair.AddressA, Pair.AddressB);
        target.HandleDatagram(Now, local, remote, m.Datagram);
        Pump();
    }

    public void Drop(WireMessage m) => Log.Add(m + " (dropped)");

    /// <summary>Takes the next datagram of A (or B) and delivers it.</summary>
    public WireMessage Pass(bool fromA)
    {
        var m = Take(fromA);
        Deliver(m);
        return m;
    }

    /// <summary>Delivers everything in both directions, in order, until both sides are quiet.</summary>
    public void Flush(int maxRounds = 100)
    {
        for (var i = 0; i < maxRounds; i++)
        {
            if (Waiting(true) == 0 && Waiting(false) == 0)
            {
                return;
            }

            while (Waiting(true) > 0)
            {
                Pass(true);
            }

            while (Waiting(false) > 0)
            {
                Pass(false);
            }
        }

        Assert.Fail("the endpoints did not settle");
    }

    /// <summary>Advances time, fires the deadlines that fall due (holding what they send), and returns nothing.</summary>
    public void Advance(TimeSpan by)
    {
        Now += by;
        A.HandleTimeout(Now);
        B.HandleTimeout(Now);
        Pump();
    }

    /// <summary>Advances time step by step through every deadline up to <paramref name="span"/>, delivering everything.</summary>
    public void Run(TimeSpan span)
    {
        var end = Now + span;
        for (var i = 0; i < 10_000; i++)
        {
            Flush();
            var next = new[] { A.PollTimeout(), B.PollTimeout() }.Where(t => t is not null).Select(t => t!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
            if (next > end)
            {
                break;
            }

            Advance(next > Now ? next - Now : TimeSpan.Zero);
        }

        Now = end;
        Flush();
    }

    private void Pump()
    {
        Collect(A, _fromA, true);
        Collect(B, _fromB, false);
        while (A.TryPollEvent(out var e))
        {
            Pair.EventsA.Add(e);
        }

        while (B.TryPollEvent(out var e))
        {
            Pair.EventsB.Add(e);
        }
    }

    private void Collect(Endpoint sender, Queue<WireMessage> queue, bool fromA)
    {
        while (sender.TryPollTransmit(out var t))
        {
            // A fragment shows its outer payload (SKF); the last one of a message is checked with the whole message.
            var checkedPayloads = _watch.Check(t.Datagram, out var header);
            var inner = header.Payloads is [.., EncryptedFragmentPayload] ? header.Payloads : checkedPayloads!;
            queue.Enqueue(new WireMessage(fromA, t.Datagram, header, inner));
        }
    }

    // ------------------------------------------------------------------------------------------------ assertions

    /// <summary>The CHILD SAs a side has installed and not removed (from its events), by inbound SPI.</summary>
    public static Dictionary<uint, ChildSaInstall> Live(List<EngineEvent> events)
    {
        var live = new Dictionary<uint, ChildSaInstall>();
        foreach (var e in events)
        {
            switch (e)
            {
                case ChildSaInstall c:
                    Assert.True(live.TryAdd(c.InboundSpi, c), $"installed {c.InboundSpi:x8} twice");
                    break;
                case ChildSaRemove r:
                    Assert.True(live.Remove(r.InboundSpi), $"removed {r.InboundSpi:x8} that was not installed");
                    break;
            }
        }

        return live;
    }

    /// <summary>
    /// Both sides hold one IKE SA with the same SPIs and keys, and the same CHILD SAs (crosswise SPIs, equal keys),
    /// which are exactly the ones their events say are installed. Returns the CHILD SAs of A.
    /// </summary>
    public List<ChildSaInstall> AssertAgree(int children)
    {
        var a = Assert.Single(A.IkeSas);
        var b = Assert.Single(B.IkeSas);
        Assert.Equal(IkeSaState.Established, a.State);
        Assert.Equal(IkeSaState.Established, b.State);
        Assert.Equal((a.SpiI, a.SpiR), (b.SpiI, b.SpiR));
        Assert.Equal(a.Keys!.Keys.SK_ei, b.Keys!.Keys.SK_ei);
        Assert.Equal(a.Keys.Keys.SK_er, b.Keys.Keys.SK_er);
        var liveA = Live(Pair.EventsA);
        var liveB = Live(Pair.EventsB);
        Assert.Equal(children, liveA.Count);
        Assert.Equal(children, liveB.Count);
        Assert.True(A.IndexesConsistent && B.IndexesConsistent, "the endpoints' SPI or identity index differs from their IKE SAs");
        Assert.Equal(liveA.Keys.Order(), a.Children.Select(c => c.InboundSpi).Order());
        Assert.Equal(liveB.Keys.Order(), b.Children.Select(c => c.InboundSpi).Order());
        foreach (var c in liveA.Values)
        {
            Assert.True(liveB.TryGetValue(c.OutboundSpi, out var peer), $"B has no CHILD SA {c.OutboundSpi:x8}");
            Assert.Equal(c.InboundSpi, peer.OutboundSpi);
            Assert.Equal(c.OutboundEncryptionKey, peer.InboundEncryptionKey);
            Assert.Equal(c.InboundEncryptionKey, peer.OutboundEncryptionKey);
        }

        return [.. liveA.Values];
    }

    /// <summary>Neither side went down unexpectedly.</summary>
    public void AssertNoIkeSaDown()
    {
        Assert.Empty(Pair.EventsA.OfType<IkeSaDown>());
        Assert.Empty(Pair.EventsB.OfType<IkeSaDown>());
    }
}
