using Oakley.Esp;

namespace Oakley.Host;

/// <summary>
/// The packets that matched a trap policy (start_action = trap) while its CHILD SA is negotiated: held per trap
/// (bounded, the rest dropped and counted), and whether to ask the engine for the SA (once per retry period).
/// Written by the TUN workers, drained on the engine thread when the SA is installed, hence the lock.
/// </summary>
internal sealed class AcquireQueue(TimeProvider time)
{
    /// <summary>Packets held per trap while its CHILD SA is negotiated (beyond that they are dropped and counted).</summary>
    public const int Limit = 32;
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(30);
    private readonly Dictionary<Policy, (DateTimeOffset Since, Queue<byte[]> Packets)> _pending = [];
    private long _drops;

    /// <summary>Packets dropped because a trap's queue was full.</summary>
    public long Drops => Volatile.Read(ref _drops);

    /// <summary>Holds a copy of <paramref name="packet"/>; true when the engine should be asked to initiate now.</summary>
    public bool Hold(Policy trap, ReadOnlySpan<byte> packet)
    {
        var now = time.GetUtcNow();
        lock (_pending)
        {
            var initiate = false;
            if (!_pending.TryGetValue(trap, out var pending) || now - pending.Since > Retry)
            {
                pending = (now, pending.Packets ?? new Queue<byte[]>());
                _pending[trap] = pending;
                initiate = true;
            }

            if (pending.Packets.Count < Limit)
            {
                pending.Packets.Enqueue(packet.ToArray());
            }
            else
            {
                Interlocked.Increment(ref _drops);
            }

            return initiate;
        }
    }

    /// <summary>Takes what the traps of <paramref name="connection"/>'s child <paramref name="child"/> held (the SA is up).</summary>
    public List<byte[]> Release(string connection, string child)
    {
        List<byte[]> held = [];
        lock (_pending)
        {
            foreach (var trap in _pending.Keys.Where(t => t.Connection == connection && t.Name == child).ToList())
            {
                held.AddRange(_pending[trap].Packets);
                _pending.Remove(trap);
            }
        }

        return held;
    }
}
