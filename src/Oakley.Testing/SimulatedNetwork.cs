using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol;
using Oakley.Protocol.Ikev2;

namespace Oakley.Testing;

/// <summary>
/// A seeded, deterministic network between two endpoints, driven by a discrete-event loop over simulated time.
/// Every datagram an endpoint emits is given a fate by <see cref="Profile"/> (drop, duplicate, delay, reorder, MTU)
/// drawn from one PRNG seeded with the run's seed; the endpoints' own entropy comes from the same seed (see
/// <see cref="EntropyFor"/>). Ties in time are broken by a sequence number, so the same seed gives the same run,
/// byte for byte (<see cref="TraceHash"/>).
/// </summary>
public sealed class SimulatedNetwork
{
    private readonly PriorityQueue<InFlight, (long Ticks, long Seq)> _queue = new();
    private readonly Random _random;
    private readonly List<(long Ticks, byte Kind, bool FromA, int Copies, byte[] Datagram)> _trace = [];
    private long _seq;

    public SimulatedNetwork(Endpoint a, Endpoint b, IPEndPoint addressA, IPEndPoint addressB, DateTimeOffset start, int seed)
    {
        A = a;
        B = b;
        AddressA = addressA;
        AddressB = addressB;
        Now = start;
        Start = start;
        Seed = seed;
        _random = new Random(MixSeed(seed, 0));
    }

    public Endpoint A { get; }

    public Endpoint B { get; }

    public IPEndPoint AddressA { get; }

    public IPEndPoint AddressB { get; }

    public int Seed { get; }

    public DateTimeOffset Now { get; private set; }

    public DateTimeOffset Start { get; }

    /// <summary>The profile applied to datagrams sent from now on (datagrams already in flight keep their fate).</summary>
    public NetworkProfile Profile { get; set; } = NetworkProfile.Clean;

    /// <summary>A silent (frozen) side neither sends, receives nor runs its timers: a crashed or cut-off peer.</summary>
    public bool SilentA { get; set; }

    public bool SilentB { get; set; }

    /// <summary>Called with every datagram an endpoint emits, before its fate (tests check what was built).</summary>
    public Action<bool, byte[]>? Inspect { get; set; }

    public List<EngineEvent> EventsA { get; } = [];

    public List<EngineEvent> EventsB { get; } = [];

    /// <summary>Every datagram as sent (before its fate), in order.</summary>
    public List<WireRecord> Wire { get; } = [];

    /// <summary>The message script of the run (time since start, direction, message, fate), for failure messages.</summary>
    public IEnumerable<string> Script() => Wire.Select(w =>
        $"{(w.Time - Start).TotalSeconds,9:F3} {(w.FromA ? "A->B" : "B->A")} {EnginePair.Describe(w.Datagram)}{(w.Fate is null ? string.Empty : $" ({w.Fate})")}");

    public int Delivered { get; private set; }

    public int Lost { get; private set; }

    public int Duplicated { get; private set; }

    public int OverMtu { get; private set; }

    /// <summary>Bounds the number of loop iterations per <see cref="RunUntil"/> (an engine whose deadline never moves would spin).</summary>
    public int MaxStepsPerRun { get; set; } = 100_000;

    /// <summary>The seed of an endpoint's entropy (side 1 or 2), derived from the run's seed.</summary>
    public static int EntropyFor(int seed, int side) => MixSeed(seed, side);

    private static int MixSeed(int seed, int stream)
    {
        // SplitMix-style mixing so that the streams of one seed are unrelated to each other and to nearby seeds.
        var z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)stream * 0xBF58476D1CE4E5B9UL + 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    /// <summary>A SHA-256 over every send, loss, duplication and delivery with its time: equal for equal runs.</summary>
    public string TraceHash()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> head = stackalloc byte[8 + 3];
        foreach (var (ticks, kind, fromA, copies, datagram) in _trace)
        {
            BinaryPrimitives.WriteInt64BigEndian(head, ticks);
            head[8] = kind;
            head[9] = fromA ? (byte)1 : (byte)0;
            head[10] = (byte)copies;
            hash.AppendData(head);
            hash.AppendData(datagram);
        }

        return Convert.ToHexString(hash.GetCurrentHash());
    }

    /// <summary>
    /// Runs the event loop until <paramref name="until"/> (then sets the clock there), or until <paramref name="goal"/>
    /// holds after a step (it is also checked before the first). Returns the time the goal was first seen, or null.
    /// </summary>
    public DateTimeOffset? RunUntil(DateTimeOffset until, Func<bool>? goal = null)
    {
        for (var steps = 0; ; steps++)
        {
            Collect();
            if (goal is not null && goal())
            {
                return Now;
            }

            if (steps >= MaxStepsPerRun)
            {
                throw new InvalidOperationException($"simulation made no progress: {steps} steps without reaching {until:O} (now {Now:O})");
            }

            var next = DateTimeOffset.MaxValue;
            var haveDatagram = _queue.TryPeek(out _, out var head);
            if (haveDatagram)
            {
                next = new DateTimeOffset(head.Ticks, TimeSpan.Zero);
            }

            var timeoutA = SilentA ? null : A.PollTimeout();
            var timeoutB = SilentB ? null : B.PollTimeout();
            next = Min(next, timeoutA, timeoutB);
            if (next > until)
            {
                Now = until > Now ? until : Now;
                Collect();
                return goal is not null && goal() ? Now : null;
            }

            if (next > Now)
            {
                Now = next;
            }

            if (haveDatagram && head.Ticks <= Now.UtcTicks)
            {
                Deliver(_queue.Dequeue());
            }
            else if (timeoutA is { } ta && ta <= Now)
            {
                A.HandleTimeout(Now);
            }
            else
            {
                B.HandleTimeout(Now);
            }
        }
    }

    /// <summary>Runs for <paramref name="duration"/> of simulated time.</summary>
    public void RunFor(TimeSpan duration) => RunUntil(Now + duration);

    /// <summary>Performs a command on an endpoint at the current time and collects what it emits.</summary>
    public void Do(Action<DateTimeOffset> command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command(Now);
        Collect();
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset? b, DateTimeOffset? c)
    {
        if (b is { } x && x < a)
        {
            a = x;
        }

        if (c is { } y && y < a)
        {
            a = y;
        }

        return a;
    }

    private void Collect()
    {
        while (A.TryPollTransmit(out var t))
        {
            Send(true, t);
        }

        while (B.TryPollTransmit(out var t))
        {
            Send(false, t);
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

    private void Send(bool fromA, Transmit t)
    {
        Inspect?.Invoke(fromA, t.Datagram);
        if (fromA ? SilentA : SilentB)
        {
            return;
        }

        var p = Profile;
        // Always draw the same number of values per datagram, so that one datagram's fate does not shift the next's.
        var lossDraw = _random.NextDouble();
        var dupDraw = _random.NextDouble();
        var overMtu = t.Datagram.Length > p.Mtu;
        var copies = overMtu ? 0 : lossDraw < p.Loss ? 0 : dupDraw < p.Duplication ? 2 : 1;
        Record(fromA, 1, t.Datagram, copies);
        Wire.Add(new WireRecord(Now, fromA, t.Datagram, overMtu ? $"over MTU {p.Mtu}" : copies == 0 ? "lost" : copies > 1 ? "x2" : null));
        OverMtu += overMtu ? 1 : 0;
        Lost += copies == 0 && !overMtu ? 1 : 0;
        Duplicated += copies > 1 ? 1 : 0;
        for (var i = 0; i < 2; i++)
        {
            var jitterDraw = _random.NextDouble();
            var reorderDraw = _random.NextDouble();
            var extraDraw = _random.NextDouble();
            if (i >= copies)
            {
                continue;
            }

            var delay = p.Latency + p.Jitter * jitterDraw + (reorderDraw < p.Reordering ? p.ReorderDelay * extraDraw : TimeSpan.Zero);
            var at = Now + delay;
            _queue.Enqueue(new InFlight(fromA, t.Datagram), (at.UtcTicks, _seq++));
        }
    }

    private void Deliver(InFlight d)
    {
        var target = d.FromA ? B : A;
        if (d.FromA ? SilentB : SilentA)
        {
            Record(d.FromA, 3, d.Datagram, 0);
            return;
        }

        Delivered++;
        Record(d.FromA, 2, d.Datagram, 1);
        target.HandleDatagram(Now, d.FromA ? AddressB : AddressA, d.FromA ? AddressA : AddressB, d.Datagram);
    }

    private void Record(bool fromA, byte kind, byte[] datagram, int copies) => _trace.Add((Now.UtcTicks, kind, fromA, copies, datagram));

    private readonly record struct InFlight(bool FromA, byte[] Datagram);
}

/// <summary>One datagram as an endpoint sent it, and what the network did with it (null: delivered once).</summary>
public sealed record WireRecord(DateTimeOffset Time, bool FromA, byte[] Datagram, string? Fate)
{
    /// <summary>
    /// The identity of a protected message (SK or SKF): sender, SPIs, message ID and request/response. Under one
    /// IKE SA's keys two datagrams with the same identity must be byte-identical (a retransmission); anything else
    /// is a message ID reused for a different message (RFC 7296 §2.1, §2.2). Null for unprotected messages.
    /// </summary>
    public (bool FromA, ulong SpiI, ulong SpiR, uint MessageId, bool Response)? ProtectedIdentity
    {
        get
        {
            try
            {
                var h = IkeHeader.Read(Datagram);
                if (h.NextPayload is not (PayloadType.EncryptedAndAuthenticated or PayloadType.EncryptedAndAuthenticatedFragment))
                {
                    return null;
                }

                return (FromA, h.InitiatorSpi, h.ResponderSpi, h.MessageId, h.IsResponse);
            }
            catch (IkeProtocolException)
            {
                return null;
            }
        }
    }
}
