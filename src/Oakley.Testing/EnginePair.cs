using System.Net;
using Oakley.Engine;
using Oakley.Iana;

namespace Oakley.Testing;

/// <summary>
/// Two endpoints wired back to back in memory with a simulated clock, in the style of quinn-proto's test Pair.
/// Each datagram passes through <see cref="Filter"/>, which may drop, duplicate or keep it; every delivery is
/// recorded in <see cref="Log"/> so that a test can read as a message script.
/// </summary>
public sealed class EnginePair
{
    private readonly List<(bool FromA, Transmit Transmit)> _inFlight = [];

    public EnginePair(Endpoint a, Endpoint b, IPEndPoint addressA, IPEndPoint addressB, DateTimeOffset start)
    {
        A = a;
        B = b;
        AddressA = addressA;
        AddressB = addressB;
        Now = start;
    }

    public Endpoint A { get; }

    public Endpoint B { get; }

    public IPEndPoint AddressA { get; }

    public IPEndPoint AddressB { get; }

    public DateTimeOffset Now { get; private set; }

    /// <summary>Called for every datagram: return how many copies to deliver (0 drops it, 2 duplicates it).</summary>
    public Func<bool, Transmit, int> Filter { get; set; } = (_, _) => 1;

    public List<string> Log { get; } = [];

    /// <summary>Called with every datagram an endpoint sends, before <see cref="Filter"/> (tests check what was built).</summary>
    public Action<bool, byte[]>? Inspect { get; set; }

    /// <summary>
    /// Where a datagram appears at the receiver, as (source, destination). By default it arrives from the address
    /// and port it was sent from (a wildcard local address becomes the sender's address) at the address and port
    /// it was sent to. A test rewrites it to put a NAT in the path or to move a host; returning null loses it.
    /// </summary>
    public Func<bool, Transmit, (IPEndPoint Source, IPEndPoint Destination)?>? Route { get; set; }

    /// <summary>NAT keepalives sent by each side (the host drops them on receipt, so they are counted, not delivered).</summary>
    public List<(bool FromA, DateTimeOffset Time, Transmit Transmit)> Keepalives { get; } = [];

    public List<EngineEvent> EventsA { get; } = [];

    public List<EngineEvent> EventsB { get; } = [];

    /// <summary>Delivers everything in flight (and what it provokes) until both sides are quiet; does not advance time.</summary>
    public void Deliver(int maxRounds = 100)
    {
        for (var round = 0; round < maxRounds; round++)
        {
            Collect();
            if (_inFlight.Count == 0)
            {
                return;
            }

            var batch = _inFlight.ToList();
            _inFlight.Clear();
            foreach (var (fromA, t) in batch)
            {
                if (t.NatKeepalive)
                {
                    Keepalives.Add((fromA, Now, t));
                    Log.Add($"{(fromA ? "A->B" : "B->A")} NAT keepalive {t.Local} -> {t.Remote}");
                    continue;
                }

                Inspect?.Invoke(fromA, t.Datagram);
                var route = Route is null ? DefaultRoute(fromA, t) : Route(fromA, t);
                var copies = route is null ? 0 : Filter(fromA, t);
                Log.Add($"{(fromA ? "A->B" : "B->A")} {Describe(t.Datagram)}{(copies == 0 ? " (lost)" : copies > 1 ? $" (x{copies})" : string.Empty)}");
                for (var i = 0; i < copies; i++)
                {
                    var target = fromA ? B : A;
                    target.HandleDatagram(Now, route!.Value.Destination, route.Value.Source, t.Datagram);
                }
            }
        }

        throw new InvalidOperationException("the endpoints did not settle");
    }

    private (IPEndPoint Source, IPEndPoint Destination)? DefaultRoute(bool fromA, Transmit t)
    {
        var sender = fromA ? AddressA : AddressB;
        var source = t.Local.Address.Equals(IPAddress.Any) || t.Local.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(sender.Address, t.Local.Port) : t.Local;
        return (source, t.Remote);
    }

    /// <summary>Advances simulated time to the next deadline of either side (at most <paramref name="limit"/>) and delivers.</summary>
    public bool Step(TimeSpan limit)
    {
        Deliver();
        var next = new[] { A.PollTimeout(), B.PollTimeout() }.Where(t => t is not null).Select(t => t!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        if (next == DateTimeOffset.MaxValue || next > Now + limit)
        {
            return false;
        }

        Now = next > Now ? next : Now;
        A.HandleTimeout(Now);
        B.HandleTimeout(Now);
        Deliver();
        return true;
    }

    /// <summary>Runs until no deadline falls within <paramref name="horizon"/> of the current time.</summary>
    public void RunUntilIdle(TimeSpan horizon, int maxSteps = 1000)
    {
        for (var i = 0; i < maxSteps && Step(horizon); i++)
        {
        }
    }

    public void AdvanceBy(TimeSpan delta)
    {
        Now += delta;
        A.HandleTimeout(Now);
        B.HandleTimeout(Now);
        Deliver();
    }

    private void Collect()
    {
        while (A.TryPollTransmit(out var t))
        {
            _inFlight.Add((true, t));
        }

        while (B.TryPollTransmit(out var t))
        {
            _inFlight.Add((false, t));
        }

        while (A.TryPollEvent(out var e))
        {
            EventsA.Add(e);
        }

        while (B.TryPollEvent(out var e))
        {
            EventsB.Add(e);
        }
    }

    /// <summary>A one-line description: exchange, request/response, message ID and the payload types in the clear.</summary>
    public static string Describe(byte[] datagram)
    {
        try
        {
            var m = Protocol.Ikev2.IkeMessage.Decode(datagram);
            var payloads = string.Join(",", m.Payloads.Select(p => p switch
            {
                Protocol.Ikev2.Payloads.NotifyPayload n => $"N({n.NotifyType})",
                Protocol.Ikev2.Payloads.EncryptedFragmentPayload f => $"SKF({f.FragmentNumber}/{f.TotalFragments})",
                _ => p.Type.ToString(),
            }));
            var exchange = m.ExchangeType switch
            {
                Protocol.Ikev2.ExchangeType.IkeSaInit => "IKE_SA_INIT",
                Protocol.Ikev2.ExchangeType.IkeAuth => "IKE_AUTH",
                Protocol.Ikev2.ExchangeType.CreateChildSa => "CREATE_CHILD_SA",
                Protocol.Ikev2.ExchangeType.Informational => "INFORMATIONAL",
                var other => other.ToString(),
            };
            return $"{exchange} {(m.IsResponse ? "response" : "request")} #{m.MessageId} [{payloads}]";
        }
        catch (IkeProtocolException e)
        {
            return $"undecodable ({e.Message})";
        }
    }
}
